// The TensorFlow.js weights-manifest reader. The input is the manifest JSON, a 0 byte, then the
// bytes of one shard; both are written to a private folder (manifest.json, shard.bin) that the
// manifest's relative shard paths resolve into. Inputs without the 0 byte get an empty shard.
#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "tools/convert/tfjs_reader.h"

namespace {

const std::string& folder() {
  static const std::string dir = [] {
    // Memory-backed when /dev/shm is there and writable (it is read-only on some machines).
    std::string tmpl;
    for (const char* base : {"/dev/shm", "/tmp"}) {
      tmpl = std::string(base) + "/fuzz-tfjs-XXXXXX";
      if (::mkdtemp(tmpl.data())) break;
      tmpl.clear();
    }
    if (tmpl.empty()) std::abort();  // the harness, not the code under test
    static std::string removed = tmpl;
    std::atexit([] { std::error_code ec; std::filesystem::remove_all(removed, ec); });
    return tmpl;
  }();
  return dir;
}

void put(const std::string& path, const uint8_t* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), std::streamsize(size));
  if (!out) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto* zero = static_cast<const uint8_t*>(std::memchr(data, 0, size));
  const size_t manifest_size = zero ? size_t(zero - data) : size;
  const size_t shard_at = zero ? manifest_size + 1 : size;
  put(folder() + "/manifest.json", data, manifest_size);
  put(folder() + "/shard.bin", data + shard_at, size - shard_at);
  try {
    const auto w = fg::convert::read_tfjs(folder() + "/manifest.json");
    volatile float sink = 0;
    for (const auto& t : w.tensors) {
      for (float v : t.values) sink = sink + v;
    }
  } catch (const fg::convert::ConvertError&) {
  }
  return 0;
}
