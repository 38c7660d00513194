#include <algorithm>
#include <stdexcept>
#include <string>

#include "nn/kernels.h"
#include "nn/simd.h"

namespace fg::nn {
namespace {

constexpr int kW = kVecWidth;
// Weights are packed as panels of kPanel outputs, input-major, so a pass over the input
// reads each panel front to back and keeps two vector accumulators per batch row.
constexpr int kPanel = 2 * kW;
// Batch rows that share one pass over a panel: 4 rows x 2 vectors = 8 independent FMA chains.
constexpr int kRows = 4;

void store(const vfloat (&acc)[2], float* y, int cols) {
  if (cols == kPanel) {
    acc[0].store_unaligned(y);
    acc[1].store_unaligned(y + kW);
    return;
  }
  alignas(64) float tmp[kPanel];
  acc[0].store_aligned(tmp);
  acc[1].store_aligned(tmp + kW);
  std::copy(tmp, tmp + cols, y);
}

// Batch 1: the input is split four ways so that 8 FMA chains run at once.
void panel_one_row(const float* w, const float* x, int in, const float* bias, float* y,
                   int cols) {
  vfloat acc[4][2];
  for (auto& a : acc) a[0] = a[1] = vfloat(0.0f);
  int i = 0;
  for (; i + 4 <= in; i += 4)
#pragma GCC unroll 4
    for (int u = 0; u < 4; ++u) {
      const vfloat a(x[i + u]);
      const float* wp = w + (i + u) * kPanel;
      acc[u][0] = xsimd::fma(a, vfloat::load_unaligned(wp), acc[u][0]);
      acc[u][1] = xsimd::fma(a, vfloat::load_unaligned(wp + kW), acc[u][1]);
    }
  for (; i < in; ++i) {
    const vfloat a(x[i]);
    acc[0][0] = xsimd::fma(a, vfloat::load_unaligned(w + i * kPanel), acc[0][0]);
    acc[0][1] = xsimd::fma(a, vfloat::load_unaligned(w + i * kPanel + kW), acc[0][1]);
  }
  const vfloat sum[2] = {
      vfloat::load_unaligned(bias) + ((acc[0][0] + acc[1][0]) + (acc[2][0] + acc[3][0])),
      vfloat::load_unaligned(bias + kW) + ((acc[0][1] + acc[1][1]) + (acc[2][1] + acc[3][1]))};
  store(sum, y, cols);
}

template <int R>
void panel_rows(const float* w, const float* x, int in, const float* bias, float* y, int out,
                int cols) {
  vfloat acc[R][2];
  for (auto& a : acc) {
    a[0] = vfloat::load_unaligned(bias);
    a[1] = vfloat::load_unaligned(bias + kW);
  }
  for (int i = 0; i < in; ++i) {
    const vfloat b0 = vfloat::load_unaligned(w + i * kPanel);
    const vfloat b1 = vfloat::load_unaligned(w + i * kPanel + kW);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const vfloat a(x[r * in + i]);
      acc[r][0] = xsimd::fma(a, b0, acc[r][0]);
      acc[r][1] = xsimd::fma(a, b1, acc[r][1]);
    }
  }
  for (int r = 0; r < R; ++r) store(acc[r], y + r * out, cols);
}

using PanelFn = void (*)(const float*, const float*, int, const float*, float*, int, int);
constexpr PanelFn kPanelFns[kRows] = {panel_rows<1>, panel_rows<2>, panel_rows<3>,
                                      panel_rows<4>};

}  // namespace

void linear_ref(const float* x, int batch, int in, int out, const float* weight,
                const float* bias, float* y) {
  for (int b = 0; b < batch; ++b)
    for (int o = 0; o < out; ++o) {
      double sum = bias ? bias[o] : 0.0;
      for (int i = 0; i < in; ++i) sum += double(weight[o * in + i]) * x[b * in + i];
      y[b * out + o] = static_cast<float>(sum);
    }
}

Linear::Linear(int in, int out, const float* weight, const float* bias) : in_(in), out_(out) {
  if (in < 1 || out < 1 || !weight)
    throw std::invalid_argument("Linear: need in, out >= 1 and a weight, got in=" +
                                std::to_string(in) + " out=" + std::to_string(out) +
                                (weight ? "" : " weight=null"));
  const int panels = (out + kPanel - 1) / kPanel;
  packed_.assign(static_cast<size_t>(panels) * kPanel * in, 0.0f);
  bias_.assign(static_cast<size_t>(panels) * kPanel, 0.0f);
  for (int o = 0; o < out; ++o) {
    float* dst = packed_.data() + static_cast<size_t>(o / kPanel) * kPanel * in + o % kPanel;
    for (int i = 0; i < in; ++i) dst[i * kPanel] = weight[static_cast<size_t>(o) * in + i];
    if (bias) bias_[o] = bias[o];
  }
}

void Linear::forward(const float* x, int batch, float* y, ThreadPool& pool) const {
  if (packed_.empty())
    throw std::invalid_argument("Linear::forward on a default-constructed layer");
  if (batch < 0) throw std::invalid_argument("Linear::forward: batch " + std::to_string(batch));
  const int panels = (out_ + kPanel - 1) / kPanel;
  const int groups = (batch + kRows - 1) / kRows;
  // Panel-major so that one thread's consecutive row groups reuse the panel from L1/L2.
  pool.parallel_for(int64_t{panels} * groups, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int q = static_cast<int>(t / groups), g = static_cast<int>(t % groups);
      const float* w = packed_.data() + static_cast<size_t>(q) * kPanel * in_;
      const float* bias = bias_.data() + q * kPanel;
      const int cols = std::min(kPanel, out_ - q * kPanel);
      const int rows = std::min(kRows, batch - g * kRows);
      const float* xr = x + static_cast<ptrdiff_t>(g) * kRows * in_;
      float* yr = y + static_cast<ptrdiff_t>(g) * kRows * out_ + q * kPanel;
      if (rows == 1)
        panel_one_row(w, xr, in_, bias, yr, cols);
      else
        kPanelFns[rows - 1](w, xr, in_, bias, yr, out_, cols);
    }
  });
}

}  // namespace fg::nn
