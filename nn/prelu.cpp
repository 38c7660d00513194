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

// n floats with one slope. When x and y do not overlap, a last partial vector is done as a
// whole one ending at n (short rows would otherwise spend most of their time in the tail).
void prelu_run(const float* x, int n, float s, float* y, bool disjoint) {
  const vfloat a(s), zero(0.0f);
  const auto vec = [&](int i) {
    const vfloat v = vfloat::load_unaligned(x + i);
    xsimd::select(v > zero, v, a * v).store_unaligned(y + i);
  };
  int i = 0;
  for (; i + kVecWidth <= n; i += kVecWidth) vec(i);
  if (i == n) return;
  if (disjoint && n >= kVecWidth) {
    vec(n - kVecWidth);
    return;
  }
  for (; i < n; ++i) y[i] = prelu1(x[i], s);
}

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
  for (size_t plane = 0; plane < static_cast<size_t>(outer) * c; ++plane)
    prelu_run(in + plane * inner, inner, slope[plane % c], out + plane * inner, in != out);
}

void prelu_rows(const float* in, int c, int rows, int in_w, int out_w, const float* slope, float* out) {
  check(1, c, rows * out_w, slope, "prelu_rows");
  if (in_w < out_w)
    throw std::invalid_argument("prelu_rows: rows of " + std::to_string(in_w) + " floats, fewer than the " +
                                std::to_string(out_w) + " kept");
  for (int ch = 0; ch < c; ++ch)
    for (int y = 0; y < rows; ++y) {
      const size_t row = static_cast<size_t>(ch) * rows + y;
      prelu_run(in + row * in_w, out_w, slope[ch], out + row * out_w, true);
    }
}

}  // namespace fg::nn
