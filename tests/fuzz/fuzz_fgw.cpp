// The .fgw weights loader on file bytes, through its real open/mmap path; every tensor the
// loader accepts is read in full, so a view past the mapping is an ASan report.
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/mem_file.h"
#include "weights/fgw.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto f = fg::weights::WeightsFile::open(fg::fuzz::mem_file(data, size));
    volatile float sink = 0;
    for (const auto& t : f.tensors()) {
      for (int64_t i = 0; i < t.numel(); ++i) sink = sink + t.data[i];
      f.tensor(t.name, t.shape);
    }
    for (const auto& [key, value] : f.meta()) {
      if (value.index() == 0) f.meta_string(key);
    }
  } catch (const fg::weights::WeightsError&) {
  }
  return 0;
}
