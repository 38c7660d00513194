#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

#include "nn/kernels.h"
#include "nn/simd.h"

namespace fg::nn {
namespace {

std::string describe(const PoolShape& p) {
  return "k=" + std::to_string(p.k) + " stride=" + std::to_string(p.stride) +
         " pad=" + std::to_string(p.pad) + " ceil_mode=" + (p.ceil_mode ? "true" : "false");
}

void check_nonempty(int c, int h, int w, const char* who) {
  if (c < 1 || h < 1 || w < 1)
    throw std::invalid_argument(std::string(who) + ": empty input " + std::to_string(c) + "x" +
                                std::to_string(h) + "x" + std::to_string(w));
}

void check_input(const PoolShape& p, int c, int h, int w, const char* who) {
  check_nonempty(c, h, w, who);
  p.out_dim(h);
  p.out_dim(w);
}

// The row buffer lives on the stack (forward() never allocates); it bounds the window.
constexpr int kMaxPoolWindow = 1024;

// Output row oy of channel plane `in`: first the max over the window's rows, vectorised
// along x into the row buffer, then the max along each window's columns. Windows are
// clamped to the input, which is what -inf padding amounts to.
void max_pool_row(const PoolShape& p, const float* in, int h, int w, int oy, int ow,
                  float* out) {
  const int y0 = std::max(oy * p.stride - p.pad, 0);
  const int y1 = std::min(oy * p.stride - p.pad + p.k, h);
  const int chunk = (kMaxPoolWindow - p.k) / p.stride + 1;  // outputs whose inputs fit
  alignas(64) float rows[kMaxPoolWindow];
  for (int oa = 0; oa < ow; oa += chunk) {
    const int ob = std::min(ow, oa + chunk);
    const int xa = std::max(oa * p.stride - p.pad, 0);
    const int xb = std::min((ob - 1) * p.stride - p.pad + p.k, w);
    const float* src = in + y0 * w + xa;
    const int len = xb - xa;
    int x = 0;
    for (; x + kVecWidth <= len; x += kVecWidth) {
      vfloat m = vfloat::load_unaligned(src + x);
      for (int y = 1; y < y1 - y0; ++y) m = xsimd::max(m, vfloat::load_unaligned(src + y * w + x));
      m.store_aligned(rows + x);
    }
    for (; x < len; ++x) {
      float m = src[x];
      for (int y = 1; y < y1 - y0; ++y) m = std::max(m, src[y * w + x]);
      rows[x] = m;
    }
    for (int ox = oa; ox < ob; ++ox) {
      const int x0 = std::max(ox * p.stride - p.pad, 0) - xa;
      const int x1 = std::min(ox * p.stride - p.pad + p.k, w) - xa;
      float m = rows[x0];
      for (int xx = x0 + 1; xx < x1; ++xx) m = std::max(m, rows[xx]);
      out[ox] = m;
    }
  }
}

}  // namespace

int PoolShape::out_dim(int n) const {
  if (k < 1 || stride < 1 || pad < 0 || 2 * pad > k)
    throw std::invalid_argument("PoolShape: invalid " + describe(*this) +
                                " (need k, stride >= 1 and 0 <= pad <= k/2)");
  const int span = n + 2 * pad - k;
  if (n < 1 || span < 0)
    throw std::invalid_argument("PoolShape: input size " + std::to_string(n) +
                                " is smaller than the window of " + describe(*this));
  int out = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
  // PyTorch drops a last window that would start in the right padding.
  if (ceil_mode && (out - 1) * stride >= n + pad) --out;
  return out;
}

void max_pool2d_ref(const PoolShape& p, const float* in, int c, int h, int w, float* out) {
  check_input(p, c, h, w, "max_pool2d_ref");
  const int oh = p.out_dim(h), ow = p.out_dim(w);
  for (int ch = 0; ch < c; ++ch)
    for (int oy = 0; oy < oh; ++oy)
      for (int ox = 0; ox < ow; ++ox) {
        float m = -std::numeric_limits<float>::infinity();
        for (int ky = 0; ky < p.k; ++ky)
          for (int kx = 0; kx < p.k; ++kx) {
            const int y = oy * p.stride - p.pad + ky;
            const int x = ox * p.stride - p.pad + kx;
            if (y >= 0 && y < h && x >= 0 && x < w) m = std::max(m, in[(ch * h + y) * w + x]);
          }
        out[(ch * oh + oy) * ow + ox] = m;
      }
}

void max_pool2d(const PoolShape& p, const float* in, int c, int h, int w, float* out,
                ThreadPool& pool) {
  check_input(p, c, h, w, "max_pool2d");
  if (p.k > kMaxPoolWindow)
    throw std::invalid_argument("max_pool2d: window " + describe(p) + " is wider than " +
                                std::to_string(kMaxPoolWindow));
  const int oh = p.out_dim(h), ow = p.out_dim(w);
  pool.parallel_for(int64_t{c} * oh, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t ch = r / oh;
      const int oy = static_cast<int>(r % oh);
      max_pool_row(p, in + ch * h * w, h, w, oy, ow, out + r * ow);
    }
  });
}

void global_avg_pool_ref(const float* in, int c, int h, int w, float* out) {
  check_nonempty(c, h, w, "global_avg_pool_ref");
  for (int ch = 0; ch < c; ++ch) {
    double sum = 0;
    for (int i = 0; i < h * w; ++i) sum += in[ch * h * w + i];
    out[ch] = static_cast<float>(sum / (h * w));
  }
}

void global_avg_pool(const float* in, int c, int h, int w, float* out, ThreadPool& pool) {
  check_nonempty(c, h, w, "global_avg_pool");
  const int n = h * w;
  pool.parallel_for(c, [&](int64_t c0, int64_t c1) {
    for (int64_t ch = c0; ch < c1; ++ch) {
      const float* x = in + ch * n;
      vfloat acc(0.0f);
      int i = 0;
      for (; i + kVecWidth <= n; i += kVecWidth) acc += vfloat::load_unaligned(x + i);
      float sum = xsimd::hadd(acc);
      for (; i < n; ++i) sum += x[i];
      out[ch] = sum / static_cast<float>(n);
    }
  });
}

}  // namespace fg::nn
