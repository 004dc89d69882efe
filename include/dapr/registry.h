// Registry<Interface>: maps a component type name (state.redis, with version and aliases)
// to a factory. One registry per building block is built in main and handed down; nothing
// registers itself statically, so the list in components/builtin.cc is the whole truth.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dapr/status.h"

namespace dapr {

std::string ToLower(std::string_view text);

template <class Interface>
class Registry {
 public:
  // A factory may fail (a component in a module that cannot be loaded).
  using Factory = std::function<Result<std::unique_ptr<Interface>>()>;

  // type is the full Dapr type ("state.redis"); version "v1" unless the component has more.
  void Register(std::string_view type, std::string_view version, Factory factory) {
    factories_[Key(type, version)] = std::move(factory);
  }

  // An empty version means v1, as in Dapr.
  Result<std::unique_ptr<Interface>> Create(std::string_view type, std::string_view version) const {
    auto it = factories_.find(Key(type, version.empty() ? "v1" : version));
    if (it == factories_.end()) {
      return Status(StatusCode::kNotFound, "couldn't find component " + std::string(type) + "/" +
                                               std::string(version.empty() ? "v1" : version));
    }
    return it->second();
  }

  bool Has(std::string_view type) const {
    std::string prefix = ToLower(type) + "/";
    for (const auto& [key, factory] : factories_) {
      if (key.rfind(prefix, 0) == 0) return true;
    }
    return false;
  }

  std::vector<std::string> Types() const {
    std::vector<std::string> out;
    for (const auto& [key, factory] : factories_) out.push_back(key);
    return out;
  }

 private:
  static std::string Key(std::string_view type, std::string_view version) {
    return ToLower(type) + "/" + ToLower(version);
  }
  std::map<std::string, Factory> factories_;
};

}  // namespace dapr
