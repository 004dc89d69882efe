#include "common/module_loader.h"

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <vector>

namespace dapr {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> SearchDirs() {
  std::vector<fs::path> dirs;
  if (const char* env = std::getenv("DAPR_MODULES_DIR"); env && *env) dirs.emplace_back(env);
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) dirs.push_back(exe.parent_path().parent_path() / "lib" / "dapr-cpp");
  return dirs;
}

Result<void*> OpenModule(const std::string& name) {
  std::string errors;
  for (const auto& dir : SearchDirs()) {
    fs::path file = dir / ("lib" + name + ".so");
    std::error_code ec;
    if (!fs::exists(file, ec)) {
      errors += " " + file.string() + ": not found;";
      continue;
    }
    void* handle = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle) return handle;
    const char* why = dlerror();
    errors += " " + file.string() + ": " + (why ? why : "unknown error") + ";";
  }
  return Unavailable("cannot load module " + name + ":" + errors);
}

}  // namespace

Result<void*> ModuleSymbol(const std::string& name, const std::string& symbol) {
  static std::mutex mutex;
  static std::map<std::string, void*> handles;  // never closed: components outlive callers
  std::lock_guard lock(mutex);
  auto it = handles.find(name);
  if (it == handles.end()) {
    auto handle = OpenModule(name);
    if (!handle.ok()) return handle.error();
    it = handles.emplace(name, *handle).first;
  }
  void* address = dlsym(it->second, symbol.c_str());
  if (!address) return Unavailable("module " + name + " has no symbol " + symbol);
  return address;
}

}  // namespace dapr
