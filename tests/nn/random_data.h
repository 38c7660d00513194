// Random inputs and the error measure shared by the kernel tests.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <random>
#include <vector>

namespace fg::nn::test {

inline std::vector<float> random_floats(size_t n, std::mt19937& rng, float lo = -1, float hi = 1) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// max|got - ref| / max(1, max|ref|): relative to the output's scale, absolute near zero.
inline double scaled_max_error(const float* got, const float* ref, size_t n) {
  double diff = 0, scale = 1;
  for (size_t i = 0; i < n; ++i) {
    diff = std::max(diff, std::abs(double(got[i]) - ref[i]));
    if (std::isnan(got[i])) diff = INFINITY;
    scale = std::max(scale, std::abs(double(ref[i])));
  }
  return diff / scale;
}

}  // namespace fg::nn::test
