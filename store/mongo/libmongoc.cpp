#include "store/mongo/libmongoc.h"

#include <dlfcn.h>

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace fg::store::mongo {
namespace {

Libmongoc load() {
  ::setenv("MONGOC_DISABLE_SHM", "1", 0);
  // Never closed: libmongoc cleans up at exit through its own destructor.
  void* handle = ::dlopen(FG_MONGOC_SONAME, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    throw std::runtime_error(std::string("the MongoDB adapter needs " FG_MONGOC_SONAME
                                         " (Debian package libmongoc-1.0-0): ") + ::dlerror());
  }
  Libmongoc lib{};
  const auto resolve = [&](auto& fn, const char* symbol) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(::dlsym(handle, symbol));
    if (!fn) throw std::runtime_error(std::string(FG_MONGOC_SONAME " has no ") + symbol + ": too old a libmongoc");
  };
#define FG_MONGOC_RESOLVE(name) resolve(lib.name, "mongoc_" #name);
  FG_MONGOC_FUNCTIONS(FG_MONGOC_RESOLVE)
#undef FG_MONGOC_RESOLVE
  // Automatic init has already run inside dlopen; calling it again is a no-op there and keeps
  // this right for a libmongoc built without it.
  lib.init();
  return lib;
}

}  // namespace

const Libmongoc& libmongoc() {
  static const Libmongoc lib = load();  // a failed load throws, and the next call tries again
  return lib;
}

}  // namespace fg::store::mongo
