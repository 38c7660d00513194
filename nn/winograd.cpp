#include "nn/winograd.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "nn/simd.h"

namespace fg::nn {
namespace {

constexpr int kXi = 16;  // positions of the transformed 4x4 tile, row-major

// The 2x2 tiles of a conv's output map; one image's tiles are its GEMM columns, in row-major
// order. Each input channel is copied, zero padded, as two halves per padded row: the even
// padded columns (0, 2, ..., 2 tw) and then the odd ones, so that each term of B^T d B is a
// contiguous load across tiles. Each half is padded to whole vectors, which the copy stores
// whole, and a plane ends with kVecWidth floats of slack for the whole vectors that run
// past its last tile.
struct Tiling {
  Tiling(const Conv2dShape& s, int h, int w)
      : oh(s.out_h(h)),
        ow(s.out_w(w)),
        pad_h(s.pad_h),
        pad_w(s.pad_w),
        th((oh + 1) / 2),
        tw((ow + 1) / 2),
        tiles(th * tw),
        panels((tiles + kNr - 1) / kNr),
        half((tw + kVecWidth) / kVecWidth * kVecWidth),
        plane(static_cast<size_t>(2 * th + 2) * 2 * half + kVecWidth) {}
  int oh, ow, pad_h, pad_w, th, tw, tiles, panels, half;
  size_t plane;
};

// The 2 kVecWidth floats at in + at, with those outside [lo, hi) read as zero: a row's
// loads may run off either end of the input.
void load_two(const float* in, ptrdiff_t at, ptrdiff_t lo, ptrdiff_t hi, vfloat& a, vfloat& b) {
  if (at >= lo && at + 2 * kVecWidth <= hi) {
    a = vfloat::load_unaligned(in + at);
    b = vfloat::load_unaligned(in + at + kVecWidth);
    return;
  }
  alignas(64) float tmp[2 * kVecWidth] = {};
  for (ptrdiff_t i = std::max(lo - at, ptrdiff_t{0}); i < std::min(ptrdiff_t{2 * kVecWidth}, hi - at); ++i)
    tmp[i] = in[at + i];
  a = vfloat::load_aligned(tmp);
  b = vfloat::load_aligned(tmp + kVecWidth);
}

struct Iota {
  static constexpr int32_t get(uint32_t i, uint32_t) { return static_cast<int32_t>(i); }
};
// 0, 1, ..., kVecWidth - 1.
vfloat lane_index() {
  using index = xsimd::batch<int32_t>;
  return xsimd::to_float(index(xsimd::make_batch_constant<index, Iota>()));
}

// One h x w channel at `in`, rows in_ld floats apart, into its padded, split plane. Only the
// channel's w columns reach the plane; floats at offsets [lo, hi) from `in` may be read.
void split_columns(const float* in, ptrdiff_t lo, ptrdiff_t hi, int h, int w, int in_ld, const Tiling& t,
                   float* plane) {
  const vfloat twice_lane = 2.0f * lane_index(), zero(0.0f), width(static_cast<float>(w));
  const int half = t.half, y0 = t.pad_h, y1 = std::min(h + t.pad_h, 2 * t.th + 2);
  std::fill(plane, plane + static_cast<size_t>(y0) * 2 * half, 0.0f);
  std::fill(plane + static_cast<size_t>(y1) * 2 * half, plane + static_cast<size_t>(2 * t.th + 2) * 2 * half, 0.0f);
  for (int y = y0; y < y1; ++y) {
    float* even = plane + static_cast<size_t>(y) * 2 * half;
    // Padded column 2x is input column 2x - pad_w, 2x + 1 is input column 2x + 1 - pad_w.
    for (int x = 0; x < half; x += kVecWidth) {
      const int col = 2 * x - t.pad_w;
      const vfloat even_col = vfloat(static_cast<float>(col)) + twice_lane;
      vfloat a, b;
      load_two(in, static_cast<ptrdiff_t>(y - y0) * in_ld + col, lo, hi, a, b);
      xsimd::select(even_col >= zero && even_col < width, deinterleave<0>(a, b), zero).store_unaligned(even + x);
      xsimd::select(even_col + 1.0f < width, deinterleave<1>(a, b), zero).store_unaligned(even + half + x);
    }
  }
}

// B^T d B of tiles [tx, tx + kVecWidth) of the tile row whose padded rows start at `rows`,
// one lane per tile: position xi goes to out + xi * ld.
void input_tiles(const float* rows, const Tiling& t, int tx, float* out, ptrdiff_t ld) {
  vfloat db[4][4];
  for (int i = 0; i < 4; ++i) {
    const float* even = rows + static_cast<size_t>(i) * 2 * t.half + tx;
    const float* odd = even + t.half;
    const vfloat d0 = vfloat::load_unaligned(even), d2 = vfloat::load_unaligned(even + 1);
    const vfloat d1 = vfloat::load_unaligned(odd), d3 = vfloat::load_unaligned(odd + 1);
    db[i][0] = d0 - d2;
    db[i][1] = d1 + d2;
    db[i][2] = d2 - d1;
    db[i][3] = d1 - d3;
  }
  for (int j = 0; j < 4; ++j) {
    (db[0][j] - db[2][j]).store_unaligned(out + j * ld);
    (db[1][j] + db[2][j]).store_unaligned(out + (4 + j) * ld);
    (db[2][j] - db[1][j]).store_unaligned(out + (8 + j) * ld);
    (db[1][j] - db[3][j]).store_unaligned(out + (12 + j) * ld);
  }
}

// Panel q of one image's B panels of the 16 matrices V_xi (v_xi apart), from its channels
// split by split_columns. The tiles of a panel come in runs, one per tile row, and each run
// is written in whole vectors whose last lanes spill over into the lanes after it: the next
// run, the next channel's row or, after the last channel, a row of slack. Every spill is
// overwritten later by the same call (the tail panel's empty lanes are zeroed last).
void transform_panel(const float* planes, const Tiling& t, int in_c, int q, float* panel, ptrdiff_t v_xi) {
  const int first = q * kNr, cols = std::min(kNr, t.tiles - first);
  struct Run {
    int ty, tx, lane, len;
  } runs[kNr];
  int n = 0;
  for (int lane = 0; lane < cols; lane += runs[n++].len) {
    const int ty = (first + lane) / t.tw, tx = (first + lane) % t.tw;
    runs[n] = {ty, tx, lane, std::min(t.tw - tx, cols - lane)};
  }
  for (int c = 0; c < in_c; ++c) {
    const float* plane = planes + c * t.plane;
    float* row = panel + c * kNr;
    for (const Run* r = runs; r < runs + n; ++r)
      for (int u = 0; u < r->len; u += kVecWidth)
        input_tiles(plane + static_cast<size_t>(2 * r->ty) * 2 * t.half, t, r->tx + u, row + r->lane + u, v_xi);
  }
  if (cols == kNr) return;
  const vfloat lane = lane_index();
  for (int xi = 0; xi < kXi; ++xi)
    for (int c = 0; c < in_c; ++c)
      for (int v = cols / kVecWidth * kVecWidth; v < kNr; v += kVecWidth) {
        float* at = panel + xi * v_xi + c * kNr + v;
        const auto kept = lane + static_cast<float>(v) < static_cast<float>(cols);
        xsimd::select(kept, vfloat::load_unaligned(at), vfloat(0.0f)).store_unaligned(at);
      }
}

struct PairLow {
  static constexpr uint32_t get(uint32_t i, uint32_t) { return i / 2; }
};
struct PairHigh {
  static constexpr uint32_t get(uint32_t i, uint32_t n) { return (n + i) / 2; }
};
struct OddLane {
  static constexpr bool get(uint32_t i, uint32_t) { return i % 2; }
};

// The epilogue of one output channel of one image.
struct ChannelEpilogue {
  float bias = 0.0f;
  const float* residual = nullptr;  // the channel's oh x ow plane or null
  bool relu = false;
  const float* slope = nullptr;  // the channel's PReLU slope or null
};

// A^T m A of every tile of one output channel of one image, whose M_xi rows start at m
// (m_xi apart), into its oh x ow plane, with the epilogue.
void transform_output(const float* m, ptrdiff_t m_xi, const Tiling& t, const ChannelEpilogue& ep, float* out) {
  using index = xsimd::batch<uint32_t>;
  constexpr auto low = xsimd::make_batch_constant<index, PairLow>();
  constexpr auto high = xsimd::make_batch_constant<index, PairHigh>();
  constexpr auto odd = xsimd::make_batch_bool_constant<vfloat, OddLane>();
  const vfloat zero(0.0f), slope(ep.slope ? *ep.slope : 0.0f);
  for (int ty = 0; ty < t.th; ++ty)
    for (int tx = 0; tx < t.tw; tx += kVecWidth) {
      const float* tiles = m + ty * t.tw + tx;
      vfloat ma[4][2];
      for (int i = 0; i < 4; ++i) {
        const float* row = tiles + 4 * i * m_xi;
        const vfloat m0 = vfloat::load_unaligned(row), m1 = vfloat::load_unaligned(row + m_xi);
        const vfloat m2 = vfloat::load_unaligned(row + 2 * m_xi), m3 = vfloat::load_unaligned(row + 3 * m_xi);
        ma[i][0] = m0 + m1 + m2;
        ma[i][1] = m1 - m2 - m3;
      }
      const int x = 2 * tx, count = std::min(2 * kVecWidth, t.ow - x);
      for (int a = 0; a < 2 && 2 * ty + a < t.oh; ++a) {
        // The tiles' left and right output columns, one lane per tile, interleaved.
        vfloat left, right;
        if (a == 0) {
          left = ma[0][0] + ma[1][0] + ma[2][0] + ep.bias;
          right = ma[0][1] + ma[1][1] + ma[2][1] + ep.bias;
        } else {
          left = ma[1][0] - ma[2][0] - ma[3][0] + ep.bias;
          right = ma[1][1] - ma[2][1] - ma[3][1] + ep.bias;
        }
        const vfloat y[2] = {xsimd::select(odd, xsimd::swizzle(right, low), xsimd::swizzle(left, low)),
                             xsimd::select(odd, xsimd::swizzle(right, high), xsimd::swizzle(left, high))};
        const ptrdiff_t at = static_cast<ptrdiff_t>(2 * ty + a) * t.ow + x;
        int v = 0;
        for (; v < 2 && (v + 1) * kVecWidth <= count; ++v) {
          vfloat r = y[v];
          if (ep.residual) r += vfloat::load_unaligned(ep.residual + at + v * kVecWidth);
          if (ep.relu) r = xsimd::max(r, zero);
          if (ep.slope) r = xsimd::select(r > zero, r, slope * r);
          r.store_unaligned(out + at + v * kVecWidth);
        }
        if (v * kVecWidth == count) continue;
        alignas(64) float tmp[kVecWidth];
        y[v].store_aligned(tmp);
        for (int i = v * kVecWidth; i < count; ++i) {
          float r = tmp[i - v * kVecWidth];
          if (ep.residual) r += ep.residual[at + i];
          if (ep.relu) r = std::max(r, 0.0f);
          if (ep.slope) r = r > 0.0f ? r : *ep.slope * r;
          out[at + i] = r;
        }
      }
    }
}

// Workspace: V_xi ([xi][image][panel][in_c + 1 rows of slack][kNr]), then the split
// inputs, whose floats M_xi ([xi][image][out_c][tiles]) reuse once V is built. M is read in
// whole vectors that may run up to kVecWidth floats past its last value.
struct Layout {
  Layout(const Conv2dShape& s, const Tiling& t, int batch)
      : panel_step(static_cast<ptrdiff_t>(s.in_c + 1) * kNr),
        v_image(t.panels * panel_step),
        v_xi(batch * v_image),
        m_image(static_cast<ptrdiff_t>(s.out_c) * t.tiles),
        m_xi(batch * m_image),
        floats(kXi * v_xi + std::max<size_t>(batch * s.in_c * t.plane, kXi * m_xi) + kVecWidth) {}
  ptrdiff_t panel_step, v_image, v_xi, m_image, m_xi;
  size_t floats;
};

}  // namespace

bool winograd_supports(const Conv2dShape& s) {
  return s.kh == 3 && s.kw == 3 && s.stride_h == 1 && s.stride_w == 1 && (s.pad_h == 0 || s.pad_h == 1) &&
         (s.pad_w == 0 || s.pad_w == 1);
}

size_t winograd_packed_floats(const Conv2dShape& s) { return kXi * packed_a_floats(s.out_c, s.in_c); }

void winograd_pack(const Conv2dShape& s, const float* weight, float* packed) {
  static constexpr double kG[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
  // One U_xi at a time: the unpacked copy stays out_c x in_c floats.
  std::vector<float> u(static_cast<size_t>(s.out_c) * s.in_c);
  for (int xi = 0; xi < kXi; ++xi) {
    const int i = xi / 4, j = xi % 4;
    for (size_t r = 0; r < u.size(); ++r) {
      const float* g = weight + 9 * r;
      double sum = 0;
      for (int a = 0; a < 3; ++a)
        for (int b = 0; b < 3; ++b) sum += kG[i][a] * g[3 * a + b] * kG[j][b];
      u[r] = static_cast<float>(sum);
    }
    pack_a(u.data(), s.out_c, s.in_c, packed + xi * packed_a_floats(s.out_c, s.in_c));
  }
}

size_t winograd_workspace_floats(const Conv2dShape& s, int h, int w, int batch) {
  return Layout(s, Tiling(s, h, w), batch).floats;
}

void winograd_forward(const Conv2dShape& s, const float* packed, const float* in, int batch, int h, int w,
                      const Epilogue& ep, float* out, float* workspace, ThreadPool& pool) {
  winograd_forward_strided(s, packed, in, batch, h, w, w, ep, out, workspace, pool);
}

void winograd_forward_strided(const Conv2dShape& s, const float* packed, const float* in, int batch, int h, int w,
                              int in_ld, const Epilogue& ep, float* out, float* workspace, ThreadPool& pool) {
  const Tiling t(s, h, w);
  const Layout l(s, t, batch);
  const ptrdiff_t in_plane = static_cast<ptrdiff_t>(h) * in_ld, out_plane = static_cast<ptrdiff_t>(t.oh) * t.ow;
  float* v = workspace;
  float* planes = workspace + kXi * l.v_xi;
  float* m = planes;
  // The last row's floats past its w columns may not exist.
  const ptrdiff_t readable = batch * s.in_c * in_plane - (in_ld - w);
  pool.parallel_for(int64_t{batch} * s.in_c, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i)
      split_columns(in + i * in_plane, -i * in_plane, readable - i * in_plane, h, w, in_ld, t, planes + i * t.plane);
  });
  pool.parallel_for(int64_t{batch} * t.panels, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {  // i: image * panels + panel
      const int64_t image = i / t.panels;
      const int q = static_cast<int>(i % t.panels);
      transform_panel(planes + image * s.in_c * t.plane, t, s.in_c, q, v + image * l.v_image + q * l.panel_step,
                      l.v_xi);
    }
  });
  const size_t a_xi = packed_a_floats(s.out_c, s.in_c);
  const int full = t.tiles / kNr;
  for (int xi = 0; xi < kXi; ++xi) {
    const float* b = v + xi * l.v_xi;
    gemm_packed(packed + xi * a_xi, s.out_c, s.in_c, {b, kNr, l.panel_step, b + full * l.panel_step}, t.tiles,
                m + xi * l.m_xi, {}, pool, {batch, l.v_image, l.v_image, l.m_image});
  }
  pool.parallel_for(int64_t{batch} * s.out_c, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {  // i: image * out_c + channel
      const int c = static_cast<int>(i % s.out_c);
      const ChannelEpilogue ce{ep.bias ? ep.bias[c] : 0.0f, ep.residual ? ep.residual + i * out_plane : nullptr,
                               ep.relu, ep.slope ? ep.slope + c : nullptr};
      transform_output(m + i * t.tiles, l.m_xi, t, ce, out + i * out_plane);
    }
  });
}

}  // namespace fg::nn
