// The whole checkpoint reader on raw file bytes: zip archives (torch >= 1.6) and legacy
// pickle streams. Any CheckpointError is a correct answer; anything else is a bug.
#include <cstddef>
#include <cstdint>

#include "tools/checkpoint/torch_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto root = fg::ckpt::load_torch_bytes(data, size, "fuzz.pt");
    if (root->kind == fg::ckpt::Value::Kind::dict) {
      volatile float sink = 0;
      for (const auto& [name, t] : fg::ckpt::tensors_of(*root)) {
        for (float v : t->values) sink = sink + v;
      }
    }
  } catch (const fg::ckpt::CheckpointError&) {
  }
  return 0;
}
