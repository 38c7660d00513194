#include "nn/im2col.h"

#include <algorithm>

#include "nn/gemm.h"
#include "nn/im2col_avx512.h"

namespace fg::nn {
namespace {

using vfloat4 = xsimd::batch<float, xsimd::sse4_2>;

// Copies len <= kNr floats with whole vectors; the last one may overlap the one before.
inline void copy_run(const float* src, float* dst, int len) {
  if (len >= kVecWidth) {
    int e = 0;
    for (; e + kVecWidth <= len; e += kVecWidth)
      vfloat::load_unaligned(src + e).store_unaligned(dst + e);
    if (e < len)
      vfloat::load_unaligned(src + len - kVecWidth).store_unaligned(dst + len - kVecWidth);
  } else if (len >= 4) {
    // Loop: with 16-wide vectors (x86-64-v4) len can reach 15 here, not just 7.
    int e = 0;
    for (; e + 4 <= len; e += 4) vfloat4::load_unaligned(src + e).store_unaligned(dst + e);
    if (e < len) vfloat4::load_unaligned(src + len - 4).store_unaligned(dst + len - 4);
  } else {
    for (int e = 0; e < len; ++e) dst[e] = src[e];
  }
}

// The e in [0, len) with 0 <= x0 + e * step < limit form [lo, hi).
void valid_range(int x0, int step, int len, int limit, int& lo, int& hi) {
  lo = x0 >= 0 ? 0 : (-x0 + step - 1) / step;
  hi = x0 >= limit ? 0 : std::min(len, (limit - x0 + step - 1) / step);
  lo = std::min(lo, hi);
}

// A run of a panel's columns that lies on one output row.
struct Segment {
  int src, dst, len;
};

}  // namespace

Im2col::Im2col(const Conv2dShape& s, int h, int w, int in_ld)
    : s_(s),
      h_(h),
      w_(w),
      ld_(in_ld),
      ow_(s.out_w(w)),
      n_(s.out_h(h) * ow_),
      k_(s.in_c * s.kh * s.kw),
      nq_((n_ + kNr - 1) / kNr),
      phases_y_(std::min(s.stride_h, s.kh)),
      phases_x_(std::min(s.stride_w, s.kw)),
      hq_(s.out_h(h) + (s.kh - 1) / s.stride_h),
      wq_(ow_ + (s.kw - 1) / s.stride_w) {}

size_t Im2col::phase_floats() const {
  const size_t f = size_t(s_.in_c) * phases_y_ * phases_x_ * hq_ * wq_;
  return (f + kNr - 1) / kNr * kNr;
}

size_t Im2col::panel_floats() const { return size_t(k_) * nq_ * kNr; }

void Im2col::split_phases(const float* in, int c0, int c1, float* phases) const {
  const int sh = s_.stride_h, sw = s_.stride_w;
  for (int ic = c0; ic < c1; ++ic)
    for (int py = 0; py < phases_y_; ++py)
      for (int px = 0; px < phases_x_; ++px) {
        float* plane = phases + ((size_t(ic) * phases_y_ + py) * phases_x_ + px) * hq_ * wq_;
        int lo, hi;
        valid_range(px - s_.pad_w, sw, wq_, w_, lo, hi);
        for (int yq = 0; yq < hq_; ++yq) {
          float* dst = plane + yq * wq_;
          const int iy = yq * sh + py - s_.pad_h;
          if (iy < 0 || iy >= h_) {
            std::fill(dst, dst + wq_, 0.0f);
            continue;
          }
          const float* src = in + (size_t(ic) * h_ + iy) * ld_ + (px - s_.pad_w);
          std::fill(dst, dst + lo, 0.0f);
          if (sw == 1)
            std::copy(src + lo, src + hi, dst + lo);
          else
            for (int x = lo; x < hi; ++x) dst[x] = src[x * sw];
          std::fill(dst + hi, dst + wq_, 0.0f);
        }
      }
}

void Im2col::pack_panel(const float* phases, int q, int c0, int c1, float* panel) const {
  const int sh = s_.stride_h, sw = s_.stride_w;
  const size_t plane = size_t(hq_) * wq_;
  const int j0 = q * kNr, cols = std::min(n_ - j0, kNr);
  Segment seg[kNr];
  int n_seg = 0;
  for (int j = 0; j < cols;) {
    const int oy = (j0 + j) / ow_, ox = (j0 + j) % ow_;
    const int len = std::min(ow_ - ox, cols - j);
    seg[n_seg++] = {oy * wq_ + ox, j, len};
    j += len;
  }
  // Segment-major: all copies of one segment have the same length, so copy_run's branches
  // are predicted.
  const int taps = s_.kh * s_.kw;
  for (int g = 0; g < n_seg; ++g) {
    float* dst = panel + (size_t(c0) * taps) * kNr + seg[g].dst;
    for (int ic = c0; ic < c1; ++ic)
      for (int ky = 0; ky < s_.kh; ++ky) {
        const float* src = phases + (size_t(ic) * phases_y_ + ky % sh) * phases_x_ * plane +
                           (ky / sh) * wq_ + seg[g].src;
        // Tap kx reads phase kx % sw at column offset kx / sw; tracked without dividing.
        for (int kx = 0, px = 0, xo = 0; kx < s_.kw; ++kx, dst += kNr) {
          copy_run(src + px * plane + xo, dst, seg[g].len);
          if (++px == sw) px = 0, ++xo;
        }
      }
  }
  if (cols < kNr)
    for (int i = c0 * taps; i < c1 * taps; ++i)
      std::fill(panel + i * kNr + cols, panel + (i + 1) * kNr, 0.0f);
}

int Im2col::wide_panels() const { return (n_ / ow_ * wq_ + kNr - 1) / kNr; }

void Im2col::pack_wide_panel(const float* phases, size_t readable, int q, float* panel) const {
  const size_t plane = size_t(hq_) * wq_;
  const float* end = phases + readable;
  const float* col = phases + q * kNr;
  if (kNr == 16 && gemm_kernel() == GemmKernel::avx512) {
    pack_wide_rows_avx512(col, s_.in_c, plane, s_.kh, s_.kw, wq_, end, panel);
    return;
  }
  for (int ic = 0; ic < s_.in_c; ++ic, col += plane)
    for (int ky = 0; ky < s_.kh; ++ky)
      for (int kx = 0; kx < s_.kw; ++kx, panel += kNr) {
        const float* src = col + ky * wq_ + kx;
        if (src + kNr <= end) {
          for (int e = 0; e < kNr; e += kVecWidth) vfloat::load_unaligned(src + e).store_unaligned(panel + e);
        } else {
          const int n = static_cast<int>(std::max<ptrdiff_t>(0, end - src));
          std::copy(src, src + n, panel);
          std::fill(panel + n, panel + kNr, 0.0f);
        }
      }
}

void pack_tail_panel(const float* x, int k, int n, int col0, float* out) {
  const int cols = n - col0;
  for (int i = 0; i < k; ++i) {
    const float* src = x + static_cast<ptrdiff_t>(i) * n + col0;
    std::copy(src, src + cols, out + i * kNr);
    std::fill(out + i * kNr + cols, out + (i + 1) * kNr, 0.0f);
  }
}

}  // namespace fg::nn
