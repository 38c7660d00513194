#include "apps/media/plugin_loader.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <system_error>
#include <vector>

namespace fg::apps::media {
namespace {

constexpr const char* kFileName = "libfacegate_media.so";

// The plugin beside the running executable (a build tree) and where `cmake --install` puts it
// relative to the executable (PREFIX/bin/facegate, PREFIX/lib/facegate/); empty if unknown.
std::vector<std::string> near_executable() {
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return {"", ""};
  const std::filesystem::path dir = exe.parent_path();
  return {(dir / kFileName).string(), (dir.parent_path() / "lib" / "facegate" / kFileName).string()};
}

Media* load(const std::string& path, const std::string& purpose) {
  // RTLD_LOCAL: the plugin's OpenCV IO symbols stay out of the global namespace.
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* err = ::dlerror();
    throw PluginError("the media plugin " + path + " (needed to " + purpose + ") did not load: " +
                      (err ? err : "unknown dlopen error") +
                      " (build it with the fg_media_plugin target, or set FACEGATE_MEDIA_PLUGIN to its path)");
  }
  auto entry = reinterpret_cast<EntryPoint>(::dlsym(handle, kEntryPoint));
  if (!entry) {
    ::dlclose(handle);
    throw PluginError("the media plugin " + path + " (needed to " + purpose + ") has no " + kEntryPoint +
                      ": a plugin from another facegate version?");
  }
  return entry();  // the handle stays open: the Media it returns lives in the plugin
}

}  // namespace

std::string plugin_path() {
  if (const char* env = std::getenv("FACEGATE_MEDIA_PLUGIN"); env && *env) return env;
  std::vector<std::string> candidates = near_executable();
#ifdef FG_MEDIA_PLUGIN_BUILD_PATH
  candidates.push_back(FG_MEDIA_PLUGIN_BUILD_PATH);
#endif
  std::error_code ec;
  for (const std::string& c : candidates) {
    if (!c.empty() && std::filesystem::exists(c, ec)) return c;
  }
  return candidates.front().empty() ? kFileName : candidates.front();
}

Media& plugin(const std::string& purpose) {
  static std::mutex mu;
  static Media* loaded = nullptr;
  std::lock_guard lock(mu);
  if (!loaded) loaded = load(plugin_path(), purpose);
  return *loaded;
}

}  // namespace fg::apps::media
