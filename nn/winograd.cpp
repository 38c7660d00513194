#include "nn/winograd.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "nn/simd.h"

namespace fg::nn {
namespace {

constexpr int kXi = 16;  // positions of the transformed 4x4 tile, row-major

// The 2x2 output tiles of an h x w map; one image's tiles are its GEMM columns, in row-major
// order. Each input channel is copied, zero padded by 1, as `row` floats per padded row:
// the even padded columns (0, 2, ..., 2 tw) and then the odd ones, so that each term of
// B^T d B is a contiguous load across tiles. A plane ends with kVecWidth floats of slack
// for the whole vectors that run past its last tile.
struct Tiling {
  Tiling(int h, int w)
      : th((h + 1) / 2),
        tw((w + 1) / 2),
        tiles(th * tw),
        panels((tiles + kNr - 1) / kNr),
        row(2 * (tw + 1)),
        plane(static_cast<size_t>(2 * th + 2) * row + kVecWidth) {}
  int th, tw, tiles, panels, row;
  size_t plane;
};

void split_columns(const float* in, int h, int w, const Tiling& t, float* plane) {
  // Padded column 2x is input column 2x - 1, padded column 2x + 1 is input column 2x.
  const int even_end = w / 2 + 1, odd_end = (w + 1) / 2;
  for (int y = 0; y < 2 * t.th + 2; ++y) {
    float* even = plane + static_cast<size_t>(y) * t.row;
    float* odd = even + t.tw + 1;
    if (y < 1 || y > h) {
      std::fill(even, even + t.row, 0.0f);
      continue;
    }
    const float* src = in + static_cast<size_t>(y - 1) * w;
    even[0] = 0.0f;
    for (int x = 1; x < even_end; ++x) even[x] = src[2 * x - 1];
    std::fill(even + even_end, odd, 0.0f);
    for (int x = 0; x < odd_end; ++x) odd[x] = src[2 * x];
    std::fill(odd + odd_end, even + t.row, 0.0f);
  }
}

// B^T d B of tiles [tx, tx + kVecWidth) of the tile row whose padded rows start at `rows`,
// one lane per tile: position xi goes to out + xi * ld.
void input_tiles(const float* rows, const Tiling& t, int tx, float* out, ptrdiff_t ld) {
  vfloat db[4][4];
  for (int i = 0; i < 4; ++i) {
    const float* even = rows + static_cast<size_t>(i) * t.row + tx;
    const float* odd = even + t.tw + 1;
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
  for (int c = 0; c < in_c; ++c) {
    const float* plane = planes + c * t.plane;
    float* row = panel + c * kNr;
    for (int lane = 0; lane < cols;) {
      const int ty = (first + lane) / t.tw, tx = (first + lane) % t.tw;
      const int len = std::min(t.tw - tx, cols - lane);
      for (int u = 0; u < len; u += kVecWidth)
        input_tiles(plane + static_cast<size_t>(2 * ty) * t.row, t, tx + u, row + lane + u, v_xi);
      lane += len;
    }
  }
  if (cols < kNr)
    for (int xi = 0; xi < kXi; ++xi)
      for (int c = 0; c < in_c; ++c) {
        float* row = panel + xi * v_xi + c * kNr;
        std::fill(row + cols, row + kNr, 0.0f);
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

// A^T m A + bias of every tile of one output channel of one image, whose M_xi rows start at
// m (m_xi apart), into its h x w plane, with the residual and ReLU.
void transform_output(const float* m, ptrdiff_t m_xi, const Tiling& t, int h, int w, float bias,
                      const float* res, bool relu, float* out) {
  using index = xsimd::batch<uint32_t>;
  constexpr auto low = xsimd::make_batch_constant<index, PairLow>();
  constexpr auto high = xsimd::make_batch_constant<index, PairHigh>();
  constexpr auto odd = xsimd::make_batch_bool_constant<vfloat, OddLane>();
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
      const int x = 2 * tx, count = std::min(2 * kVecWidth, w - x);
      for (int a = 0; a < 2 && 2 * ty + a < h; ++a) {
        // The tiles' left and right output columns, one lane per tile, interleaved.
        vfloat left, right;
        if (a == 0) {
          left = ma[0][0] + ma[1][0] + ma[2][0] + bias;
          right = ma[0][1] + ma[1][1] + ma[2][1] + bias;
        } else {
          left = ma[1][0] - ma[2][0] - ma[3][0] + bias;
          right = ma[1][1] - ma[2][1] - ma[3][1] + bias;
        }
        const vfloat y[2] = {xsimd::select(odd, xsimd::swizzle(right, low), xsimd::swizzle(left, low)),
                             xsimd::select(odd, xsimd::swizzle(right, high), xsimd::swizzle(left, high))};
        const ptrdiff_t at = static_cast<ptrdiff_t>(2 * ty + a) * w + x;
        int v = 0;
        for (; v < 2 && (v + 1) * kVecWidth <= count; ++v) {
          vfloat r = y[v];
          if (res) r += vfloat::load_unaligned(res + at + v * kVecWidth);
          if (relu) r = xsimd::max(r, vfloat(0.0f));
          r.store_unaligned(out + at + v * kVecWidth);
        }
        if (v * kVecWidth == count) continue;
        alignas(64) float tmp[kVecWidth];
        y[v].store_aligned(tmp);
        for (int i = v * kVecWidth; i < count; ++i) {
          float r = tmp[i - v * kVecWidth];
          if (res) r += res[at + i];
          out[at + i] = relu ? std::max(r, 0.0f) : r;
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
  return s.kh == 3 && s.kw == 3 && s.stride_h == 1 && s.stride_w == 1 && s.pad_h == 1 && s.pad_w == 1;
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
  return Layout(s, Tiling(h, w), batch).floats;
}

void winograd_forward(const Conv2dShape& s, const float* packed, const float* in, int batch, int h, int w,
                      const Epilogue& ep, float* out, float* workspace, ThreadPool& pool) {
  const Tiling t(h, w);
  const Layout l(s, t, batch);
  const ptrdiff_t hw = static_cast<ptrdiff_t>(h) * w;
  float* v = workspace;
  float* planes = workspace + kXi * l.v_xi;
  float* m = planes;
  pool.parallel_for(int64_t{batch} * s.in_c, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) split_columns(in + i * hw, h, w, t, planes + i * t.plane);
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
      const float bias = ep.bias ? ep.bias[i % s.out_c] : 0.0f;
      transform_output(m + i * t.tiles, l.m_xi, t, h, w, bias, ep.residual ? ep.residual + i * hw : nullptr,
                       ep.relu, out + i * hw);
    }
  });
}

}  // namespace fg::nn
