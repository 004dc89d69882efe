// What a component is handed at init: its name and its metadata properties, looked up
// case-insensitively as Dapr does, with typed accessors that report a bad value by name.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "dapr/status.h"

namespace dapr {

struct CaseInsensitiveLess {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const;
};

class ComponentMetadata {
 public:
  using Properties = std::map<std::string, std::string, CaseInsensitiveLess>;

  ComponentMetadata() = default;
  ComponentMetadata(std::string name, std::string type, Properties properties)
      : name_(std::move(name)), type_(std::move(type)), properties_(std::move(properties)) {}

  const std::string& name() const { return name_; }
  const std::string& type() const { return type_; }
  const Properties& properties() const { return properties_; }

  std::optional<std::string> Get(std::string_view key) const;
  std::string GetOr(std::string_view key, std::string_view fallback) const;
  Result<bool> GetBool(std::string_view key, bool fallback) const;
  Result<long long> GetInt(std::string_view key, long long fallback) const;
  // The same, refused (naming the key and the range) outside [low, high].
  Result<long long> GetIntInRange(std::string_view key, long long fallback, long long low, long long high) const;
  // The same into value, whose current content is the fallback: the form option parsers use.
  Status ReadIntInRange(std::string_view key, long long low, long long high, long long& value) const;
  // Go-style duration ("5s", "1m30s", "250ms") or a bare number of seconds.
  Result<std::chrono::milliseconds> GetDuration(std::string_view key,
                                                std::chrono::milliseconds fallback) const;

 private:
  std::string name_;
  std::string type_;
  Properties properties_;
};

// Parses a Go duration string such as "1h2m3.5s" or "300ms"; a bare number means seconds.
Result<std::chrono::milliseconds> ParseGoDuration(std::string_view text);

// Dapr accepts "true", "1", "yes", "on" (any case) as true.
std::optional<bool> ParseBool(std::string_view text);

}  // namespace dapr
