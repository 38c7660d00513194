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

// The buffer lives on the stack (forward() never allocates); kMaxPoolWindow bounds the
// window, kColumnMaxFloats how many output rows share one pass.
constexpr int kMaxPoolWindow = 1024;
constexpr int kColumnMaxFloats = 8192;

// max(row[x + d * step]) over n rows or columns d, for kVecWidth consecutive x.
inline vfloat vector_max(const float* row, int n, ptrdiff_t step) {
  vfloat m = vfloat::load_unaligned(row);
  for (int d = 1; d < n; ++d) m = xsimd::max(m, vfloat::load_unaligned(row + d * step));
  return m;
}

// f(i) for i = 0, kVecWidth, 2 kVecWidth, ... and last n - kVecWidth (n >= kVecWidth): whole
// vectors over n items, the last one overlapping the one before when n is not a multiple.
template <typename F>
inline void for_each_vector(int n, F f) {
  for (int i = 0;; i += kVecWidth) {
    i = std::min(i, n - kVecWidth);
    f(i);
    if (i == n - kVecWidth) return;
  }
}

// Output rows [r0, r1) (row r is row r % oh of channel r / oh) of the planes at `in` (rows
// ld floats apart, planes h * ld), a chunk of columns at a time, in two passes: the max over
// each output row's window rows into a row of `buf`, whose float j is input column x0 + j and
// -inf where that column is outside the input (which is what padding amounts to), then, once
// a block of rows is stored, the max over each window's columns. Reading a row back right
// after storing it would stall store forwarding (the reads are unaligned), hence whole blocks
// of rows per pass. Both passes run in whole vectors when the row allows (the columns' for
// strides 1 and 2, stride 2 keeping the even lanes): there is no scalar edge, which
// dominated MTCNN's 11- and 22-float rows.
// K > 0 is p.k known at compile time: MTCNN's and ResNet's windows, whose loops it unrolls.
template <int K>
void max_pool_rows(const PoolShape& p, const float* in, int h, int w, int ld, int r0, int r1, int oh,
                   int ow, float* out) {
  const int k = K > 0 ? K : p.k;
  constexpr float kOutside = -std::numeric_limits<float>::infinity();
  const int chunk = (kMaxPoolWindow - k) / p.stride + 1;  // outputs whose inputs fit
  alignas(64) float buf[kColumnMaxFloats];
  for (int oa = 0; oa < ow; oa += chunk) {
    const int n = std::min(ow - oa, chunk);
    const int x0 = oa * p.stride - p.pad;
    // Strides 1 and 2 take the columns' max a vector at a time, rows narrower than one
    // vector included (their -inf padding is then wider).
    const bool vector_cols = p.stride <= 2;
    const int nv = vector_cols ? std::max(n, kVecWidth) : n;
    // The windows' columns plus one: the last vector of stride 2 reads that far.
    const int len = (nv - 1) * p.stride + k + 1;
    const int buf_ld = (len + kVecWidth - 1) / kVecWidth * kVecWidth;
    const int xa = std::max(x0, 0), xb = std::min(x0 + len, w);  // the columns inside
    const int inside = xb - xa;
    const int block = std::max(1, kColumnMaxFloats / buf_ld);
    for (int b0 = r0; b0 < r1; b0 += block) {
      const int b1 = std::min(r1, b0 + block);
      for (int r = b0, ch = b0 / oh, oy = b0 % oh; r < b1; ++r) {
        const int y0 = std::max(oy * p.stride - p.pad, 0);
        const int rows = std::min(oy * p.stride - p.pad + k, h) - y0;
        const float* src = in + (static_cast<ptrdiff_t>(ch) * h + y0) * ld + xa;
        float* row = buf + (r - b0) * buf_ld;
        float* dst = row + (xa - x0);
        std::fill(row, dst, kOutside);
        if (inside >= kVecWidth) {
          for_each_vector(inside, [&](int x) {
            (rows == k ? vector_max(src + x, k, ld) : vector_max(src + x, rows, ld)).store_unaligned(dst + x);
          });
        } else {
          for (int x = 0; x < inside; ++x) {
            float m = src[x];
            for (int y = 1; y < rows; ++y) m = std::max(m, src[y * ld + x]);
            dst[x] = m;
          }
        }
        std::fill(dst + inside, row + len, kOutside);
        if (++oy == oh) oy = 0, ++ch;
      }
      for (int r = b0; r < b1; ++r) {
        const float* row = buf + (r - b0) * buf_ld;
        float* o = out + static_cast<ptrdiff_t>(r) * ow + oa;
        const auto window_maxes = [&](int i) {  // outputs i .. i + kVecWidth - 1
          const float* window = row + i * p.stride;
          return p.stride == 1 ? vector_max(window, k, 1)
                               : deinterleave<0>(vector_max(window, k, 1), vector_max(window + kVecWidth, k, 1));
        };
        if (vector_cols && n >= kVecWidth) {
          for_each_vector(n, [&](int i) { window_maxes(i).store_unaligned(o + i); });
        } else if (vector_cols) {
          alignas(64) float m[kVecWidth];
          window_maxes(0).store_aligned(m);
          std::copy_n(m, n, o);
        } else {
          for (int i = 0; i < n; ++i) o[i] = *std::max_element(row + i * p.stride, row + i * p.stride + k);
        }
      }
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
  max_pool2d(p, in, c, h, w, w, out, pool);
}

void max_pool2d(const PoolShape& p, const float* in, int c, int h, int w, int ld, float* out,
                ThreadPool& pool) {
  check_input(p, c, h, w, "max_pool2d");
  if (ld < w)
    throw std::invalid_argument("max_pool2d: rows " + std::to_string(ld) + " floats apart, narrower than the " +
                                std::to_string(w) + " input columns");
  if (p.k > kMaxPoolWindow)
    throw std::invalid_argument("max_pool2d: window " + describe(p) + " is wider than " +
                                std::to_string(kMaxPoolWindow));
  const int oh = p.out_dim(h), ow = p.out_dim(w);
  // Rows of all channels in one pass: MTCNN's crops have many channels of a few short rows.
  pool.parallel_for(int64_t{c} * oh, [&](int64_t r0, int64_t r1) {
    const auto rows = p.k == 2 ? max_pool_rows<2> : p.k == 3 ? max_pool_rows<3> : max_pool_rows<0>;
    rows(p, in, h, w, ld, static_cast<int>(r0), static_cast<int>(r1), oh, ow, out);
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
