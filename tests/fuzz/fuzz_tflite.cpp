// The TFLite flatbuffer reader on file bytes (a memfd), then the float32 view of every tensor it
// returns, so offsets, vectors, strings and buffer indices are all walked.
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/mem_file.h"
#include "tools/convert/tflite_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = fg::fuzz::mem_file(data, size);
  try {
    const auto tensors = fg::convert::read_tflite(path);
    volatile float sink = 0;
    for (const auto& t : tensors) {
      try {
        for (float v : fg::convert::tflite_floats(t, path)) sink = sink + v;
      } catch (const fg::convert::ConvertError&) {
      }
    }
  } catch (const fg::convert::ConvertError&) {
  }
  return 0;
}
