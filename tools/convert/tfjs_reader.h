// Reader for TensorFlow.js weights: a weights manifest (JSON: groups of shard paths and
// weight specs) plus its binary shards. Quantised weights (uint8/uint16 with scale and min)
// are dequantised to float32: value = q * scale + min.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tools/convert/convert.h"

namespace fg::convert {

struct TfjsTensor {
  std::string name;           // the manifest's name, e.g. "conv32_1/conv1/conv/filters"
  std::vector<int64_t> shape;
  std::vector<float> values;  // dequantised
  std::string stored_as;      // "float32", "uint8", "uint16"
};

struct TfjsWeights {
  std::vector<TfjsTensor> tensors;  // manifest order
  std::vector<std::string> shards;  // shard paths, as resolved next to the manifest
};

// Reads `manifest_path` and its shards (paths relative to the manifest's folder). Throws
// ConvertError naming the file and what was wrong: malformed JSON, a missing shard, an
// unsupported dtype or quantisation, or shards shorter or longer than the specs say.
TfjsWeights read_tfjs(const std::string& manifest_path);

}  // namespace fg::convert
