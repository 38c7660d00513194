// A ResNet-50 weights file of small random values, for tests that need a whole network.
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "nn/resnet50.h"
#include "tests/nn/random_data.h"

namespace fg::nn::test {

inline void write_random_resnet50(const std::string& path, int input_size, int dim) {
  std::mt19937 rng(5);
  weights::WeightsWriter w;
  w.set_meta("arch", std::string(kResNet50Arch));
  w.set_meta("input_size", int64_t{input_size});
  w.set_meta("embedding_dim", int64_t{dim});
  for (const auto& [name, shape] : ResNet50::tensor_shapes(dim)) {
    auto v = random_floats(weights::numel(shape), rng, -0.05f, 0.05f);
    w.add_tensor(name, shape, v.data());
  }
  w.write(path);
}

}  // namespace fg::nn::test
