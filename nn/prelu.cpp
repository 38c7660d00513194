#include <cstddef>
#include <stdexcept>
#include <string>

#include "nn/mtcnn_kernels.h"
#include "nn/simd.h"

namespace fg::nn {
namespace {

void check(int outer, int c, int inner, const float* slope, const char* who) {
  if (outer < 0 || c < 1 || inner < 1 || !slope)
    throw std::invalid_argument(std::string(who) + ": need outer >= 0, c >= 1, inner >= 1 and slopes, got outer=" +
                                std::to_string(outer) + " c=" + std::to_string(c) +
                                " inner=" + std::to_string(inner));
}

inline float prelu1(float x, float a) { return x > 0.0f ? x : a * x; }

}  // namespace

void prelu_ref(const float* in, int outer, int c, int inner, const float* slope, float* out) {
  check(outer, c, inner, slope, "prelu_ref");
  for (int o = 0; o < outer; ++o)
    for (int ch = 0; ch < c; ++ch)
      for (int i = 0; i < inner; ++i) {
        const size_t at = (static_cast<size_t>(o) * c + ch) * inner + i;
        out[at] = prelu1(in[at], slope[ch]);
      }
}

void prelu(const float* in, int outer, int c, int inner, const float* slope, float* out) {
  check(outer, c, inner, slope, "prelu");
  const vfloat zero(0.0f);
  if (inner == 1) {
    // Dense rows: vectorise across channels, whose slopes are contiguous.
    for (int o = 0; o < outer; ++o) {
      const float* x = in + static_cast<size_t>(o) * c;
      float* y = out + static_cast<size_t>(o) * c;
      int ch = 0;
      for (; ch + kVecWidth <= c; ch += kVecWidth) {
        const vfloat v = vfloat::load_unaligned(x + ch);
        const vfloat a = vfloat::load_unaligned(slope + ch);
        xsimd::select(v > zero, v, a * v).store_unaligned(y + ch);
      }
      for (; ch < c; ++ch) y[ch] = prelu1(x[ch], slope[ch]);
    }
    return;
  }
  for (size_t plane = 0; plane < static_cast<size_t>(outer) * c; ++plane) {
    const float s = slope[plane % c];
    const vfloat a(s);
    const float* x = in + plane * inner;
    float* y = out + plane * inner;
    int i = 0;
    for (; i + kVecWidth <= inner; i += kVecWidth) {
      const vfloat v = vfloat::load_unaligned(x + i);
      xsimd::select(v > zero, v, a * v).store_unaligned(y + i);
    }
    for (; i < inner; ++i) y[i] = prelu1(x[i], s);
  }
}

}  // namespace fg::nn
