#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "nn/kernels.h"
#include "nn/simd.h"

namespace fg::nn {
namespace {

constexpr double kEps = 1e-12;  // torch.nn.functional.normalize's default

void check(int rows, int n, const char* who) {
  if (rows < 0 || n < 1)
    throw std::invalid_argument(std::string(who) + ": rows=" + std::to_string(rows) +
                                " n=" + std::to_string(n));
}

}  // namespace

void l2_normalize_ref(float* x, int rows, int n) {
  check(rows, n, "l2_normalize_ref");
  for (int r = 0; r < rows; ++r) {
    float* v = x + static_cast<ptrdiff_t>(r) * n;
    double sq = 0;
    for (int i = 0; i < n; ++i) sq += double(v[i]) * v[i];
    const double norm = std::max(std::sqrt(sq), kEps);
    for (int i = 0; i < n; ++i) v[i] = static_cast<float>(v[i] / norm);
  }
}

void l2_normalize(float* x, int rows, int n) {
  check(rows, n, "l2_normalize");
  constexpr int kW = kVecWidth;
  for (int r = 0; r < rows; ++r) {
    float* v = x + static_cast<ptrdiff_t>(r) * n;
    // Two accumulators: the sum is latency-bound otherwise.
    vfloat a0(0.0f), a1(0.0f);
    int i = 0;
    for (; i + 2 * kW <= n; i += 2 * kW) {
      const vfloat x0 = vfloat::load_unaligned(v + i), x1 = vfloat::load_unaligned(v + i + kW);
      a0 = xsimd::fma(x0, x0, a0);
      a1 = xsimd::fma(x1, x1, a1);
    }
    float sq = xsimd::hadd(a0 + a1);
    for (; i < n; ++i) sq += v[i] * v[i];
    const float scale = static_cast<float>(1.0 / std::max(std::sqrt(double(sq)), kEps));
    const vfloat s(scale);
    i = 0;
    for (; i + kW <= n; i += kW) (vfloat::load_unaligned(v + i) * s).store_unaligned(v + i);
    for (; i < n; ++i) v[i] *= scale;
  }
}

}  // namespace fg::nn
