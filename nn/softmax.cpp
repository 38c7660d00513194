#include <algorithm>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>

#include "nn/mtcnn_kernels.h"
#include "nn/simd.h"

namespace fg::nn {
namespace {

void check(int outer, int c, int inner, const char* who) {
  if (outer < 0 || c < 1 || inner < 1)
    throw std::invalid_argument(std::string(who) + ": need outer >= 0, c >= 1, inner >= 1, got outer=" +
                                std::to_string(outer) + " c=" + std::to_string(c) +
                                " inner=" + std::to_string(inner));
}

// One position: channel k at x[k * stride].
void softmax_one(const float* x, int c, size_t stride, float* y) {
  float m = x[0];
  for (int k = 1; k < c; ++k) m = std::max(m, x[k * stride]);
  float sum = 0.0f;
  for (int k = 0; k < c; ++k) {
    const float e = std::exp(x[k * stride] - m);
    y[k * stride] = e;
    sum += e;
  }
  for (int k = 0; k < c; ++k) y[k * stride] /= sum;
}

}  // namespace

void softmax_ref(const float* in, int outer, int c, int inner, float* out) {
  check(outer, c, inner, "softmax_ref");
  for (int o = 0; o < outer; ++o)
    for (int i = 0; i < inner; ++i) {
      const size_t at = static_cast<size_t>(o) * c * inner + i;
      softmax_one(in + at, c, inner, out + at);
    }
}

void softmax(const float* in, int outer, int c, int inner, float* out) {
  check(outer, c, inner, "softmax");
  for (int o = 0; o < outer; ++o) {
    const float* x = in + static_cast<size_t>(o) * c * inner;
    float* y = out + static_cast<size_t>(o) * c * inner;
    int i = 0;
    // Vectorised across positions: the channel loop is short (2 for MTCNN), the planes long.
    for (; i + kVecWidth <= inner; i += kVecWidth) {
      vfloat m = vfloat::load_unaligned(x + i);
      for (int k = 1; k < c; ++k) m = xsimd::max(m, vfloat::load_unaligned(x + static_cast<size_t>(k) * inner + i));
      vfloat sum(0.0f);
      for (int k = 0; k < c; ++k) {
        const vfloat e = xsimd::exp(vfloat::load_unaligned(x + static_cast<size_t>(k) * inner + i) - m);
        e.store_unaligned(y + static_cast<size_t>(k) * inner + i);
        sum += e;
      }
      for (int k = 0; k < c; ++k) {
        float* yk = y + static_cast<size_t>(k) * inner + i;
        (vfloat::load_unaligned(yk) / sum).store_unaligned(yk);
      }
    }
    for (; i < inner; ++i) softmax_one(x + i, c, inner, y + i);
  }
}

}  // namespace fg::nn
