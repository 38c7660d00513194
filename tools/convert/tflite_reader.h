// A minimal, bounds-checked reader for TensorFlow Lite flatbuffers (schema "TFL3"): the first
// subgraph's tensors with their names, shapes, types and constant data. Enough to take
// weights out of a .tflite file; it does not run or interpret operators.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tools/convert/convert.h"

namespace fg::convert {

// TFLite's TensorType values for the types we read.
enum class TfliteType : int8_t { float32 = 0, float16 = 1, int32 = 2, uint8 = 3, int64 = 4 };

struct TfliteTensor {
  std::string name;
  std::vector<int64_t> shape;
  int8_t type = 0;           // TfliteType value (other values are kept, not interpreted)
  std::vector<uint8_t> data; // constant bytes; empty for activations
};

// Reads every tensor of the first subgraph of `path`. Throws ConvertError naming the file
// and what was wrong: too short, not a TFLite file (no "TFL3" identifier), or any offset,
// vector or string that runs past the end of the file.
std::vector<TfliteTensor> read_tflite(const std::string& path);

// The float32 values of `t`; throws ConvertError naming the tensor when it is not a constant
// float32 tensor whose byte count matches its shape.
std::vector<float> tflite_floats(const TfliteTensor& t, const std::string& path);

}  // namespace fg::convert
