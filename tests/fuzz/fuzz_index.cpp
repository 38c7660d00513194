// The index-file loader (our header, hnswlib's graph as we validate it, the label map, the
// CRC) on file bytes, then a search over whatever it accepted. The dim comes from the input's
// own header so mutations get past the dim check.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "index/index.h"
#include "tests/fuzz/mem_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fg::index::Params params;
  params.dim = 4;
  if (size >= 16) std::memcpy(&params.dim, data + 12, 4);
  if (params.dim == 0 || params.dim > 4096) params.dim = 4;
  params.threads = 1;
  try {
    auto index = fg::index::Index::load(fg::fuzz::mem_file(data, size), params);
    std::vector<float> query(params.dim, 0.f);
    query[0] = 1.f;
    index.identify(query, 3, 0.5f);
  } catch (const fg::index::IndexError&) {
  }
  return 0;
}
