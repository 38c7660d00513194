#include "nn/gemm.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "nn/gemm_avx512.h"

namespace fg::nn {
namespace {

constexpr int kW = kVecWidth;
// Software prefetch distances, in k steps. At batch 1 the weights (A) stream from DRAM once
// per image and the hardware prefetchers stop at every page boundary: 128 steps (3 KiB) is
// about one memory latency at the kernel's pace. B is read 16 rows ahead, for the strided
// rows of a 1x1 conv's input.
constexpr int kPrefetchA = 128 * kMr;
constexpr int kPrefetchB = 16;

template <int M, int NV>
void tile(int k, int /*rows: M*/, int n_valid, const float* a, const float* b, ptrdiff_t ldb,
          float* c, ptrdiff_t ldc, const Epilogue& ep, const float* bias, const float* res,
          const float* slope) {
  // Narrow tiles (the tails) keep S accumulator sets for alternate k, so that at least 8
  // FMA chains are in flight, enough to hide the FMA latency.
  constexpr int S = M * NV < 8 ? 2 : 1;
  vfloat acc[S][M][NV];
#pragma GCC unroll 2
  for (int s = 0; s < S; ++s)
#pragma GCC unroll 8
    for (int r = 0; r < M; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[s][r][v] = vfloat(s == 0 && bias ? bias[r] : 0.0f);

  const auto step = [&](vfloat(&sum)[M][NV]) {
    __builtin_prefetch(a + kPrefetchA);
    __builtin_prefetch(b + kPrefetchB * ldb);
    vfloat bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = vfloat::load_unaligned(b + v * kW);
#pragma GCC unroll 8
    for (int r = 0; r < M; ++r) {
      const vfloat av(a[r]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) sum[r][v] = xsimd::fma(av, bv[v], sum[r][v]);
    }
    a += kMr;
    b += ldb;
  };
  int i = 0;
  for (; i + S <= k; i += S)
#pragma GCC unroll 2
    for (int s = 0; s < S; ++s) step(acc[s]);
  for (; i < k; ++i) step(acc[0]);
  if constexpr (S == 2)
#pragma GCC unroll 8
    for (int r = 0; r < M; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[0][r][v] += acc[1][r][v];

  const vfloat zero(0.0f);
  if (n_valid == NV * kW) {
#pragma GCC unroll 8
    for (int r = 0; r < M; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        vfloat x = acc[0][r][v];
        if (res) x += vfloat::load_unaligned(res + r * ldc + v * kW);
        if (ep.relu) x = xsimd::max(x, zero);
        if (slope) x = xsimd::select(x > zero, x, vfloat(slope[r]) * x);
        x.store_unaligned(c + r * ldc + v * kW);
      }
    return;
  }
  alignas(64) float tmp[NV * kW];
  for (int r = 0; r < M; ++r) {
    for (int v = 0; v < NV; ++v) acc[0][r][v].store_aligned(tmp + v * kW);
    for (int j = 0; j < n_valid; ++j) {
      float x = tmp[j];
      if (res) x += res[r * ldc + j];
      if (ep.relu) x = std::max(x, 0.0f);
      if (slope) x = x > 0.0f ? x : slope[r] * x;
      c[r * ldc + j] = x;
    }
  }
}

// Tails of at most kColumnMax columns. One vector load at a packed A step holds the kMr
// rows of that k (the lanes past kMr belong to the next k and are ignored), so a column
// costs one FMA per k, where a kMr x kW tile spends kMr FMAs on mostly empty columns.
constexpr int kColumnMax = 5;
static_assert(kW >= kMr, "a packed A step must fit one vector");

template <int R>
void column_tile(int k, int rows, int /*cols: R*/, const float* a, const float* b,
                 ptrdiff_t ldb, float* c, ptrdiff_t ldc, const Epilogue& ep, const float* bias,
                 const float* res, const float* slope) {
  constexpr int U = (8 + R - 1) / R;  // accumulator sets for successive k: >= 8 FMA chains
  vfloat acc[U][R];
#pragma GCC unroll 8
  for (int u = 0; u < U; ++u)
#pragma GCC unroll 8
    for (int j = 0; j < R; ++j) acc[u][j] = vfloat(0.0f);
  const auto step = [&](vfloat(&sum)[R]) {
    const vfloat av = vfloat::load_unaligned(a);
#pragma GCC unroll 8
    for (int j = 0; j < R; ++j) sum[j] = xsimd::fma(av, vfloat(b[j]), sum[j]);
    a += kMr;
    b += ldb;
  };
  int i = 0;
  for (; i + U <= k; i += U)
#pragma GCC unroll 8
    for (int u = 0; u < U; ++u) step(acc[u]);
  for (; i < k; ++i) step(acc[0]);

  alignas(64) float lanes[kW];
  for (int j = 0; j < R; ++j) {
    for (int u = 1; u < U; ++u) acc[0][j] += acc[u][j];
    acc[0][j].store_aligned(lanes);
    for (int r = 0; r < rows; ++r) {
      float x = lanes[r] + (bias ? bias[r] : 0.0f);
      if (res) x += res[r * ldc + j];
      if (ep.relu) x = std::max(x, 0.0f);
      if (slope) x = x > 0.0f ? x : slope[r] * x;
      c[r * ldc + j] = x;
    }
  }
}

using TileFn = void (*)(int, int, int, const float*, const float*, ptrdiff_t, float*, ptrdiff_t,
                        const Epilogue&, const float*, const float*, const float*);

template <int NV>
constexpr TileFn tile_fns[kMr] = {tile<1, NV>, tile<2, NV>, tile<3, NV>,
                                  tile<4, NV>, tile<5, NV>, tile<6, NV>};
constexpr TileFn column_fns[kColumnMax] = {column_tile<1>, column_tile<2>, column_tile<3>,
                                           column_tile<4>, column_tile<5>};

// The AVX-512 tiles read the AVX2 build's packing; a wider build has its own wide tiles.
constexpr bool kAvx512FitsPacking = kMr == kAvx512PanelRows && kNr == kAvx512PanelCols;

GemmKernel best_kernel() {
  return gemm_kernel_supported(GemmKernel::avx512) ? GemmKernel::avx512 : GemmKernel::build_arch;
}

std::atomic<GemmKernel> g_kernel{best_kernel()};

// A panels one tile covers, so that threads split the rows in whole tiles.
int panels_per_tile(GemmKernel kernel) {
  return kernel == GemmKernel::avx512 ? kAvx512Panels : 1;
}

}  // namespace

bool gemm_kernel_supported(GemmKernel kernel) {
  return kernel == GemmKernel::build_arch || (kAvx512FitsPacking && gemm_avx512_supported());
}

GemmKernel gemm_kernel() { return g_kernel.load(std::memory_order_relaxed); }

void set_gemm_kernel(GemmKernel kernel) {
  if (!gemm_kernel_supported(kernel))
    throw std::invalid_argument(std::string("GEMM kernel ") + gemm_kernel_name(kernel) +
                                " is not supported by this CPU or build");
  g_kernel.store(kernel, std::memory_order_relaxed);
}

const char* gemm_kernel_name(GemmKernel kernel) {
  static const std::string build = std::string(simd_arch_name()) + " " + std::to_string(kMr) +
                                   "x" + std::to_string(kNr);
  return kernel == GemmKernel::avx512 ? "avx512 12x32+24x16" : build.c_str();
}

size_t packed_a_floats(int m, int k) {
  // column_tile's last load reads kW - kMr floats past the last panel.
  return static_cast<size_t>((m + kMr - 1) / kMr) * kMr * static_cast<size_t>(k) + kW - kMr;
}

void pack_a(const float* a, int m, int k, float* packed) {
  const int panels = (m + kMr - 1) / kMr;
  const size_t size = packed_a_floats(m, k);
  std::fill(packed + size - (kW - kMr), packed + size, 0.0f);
  for (int p = 0; p < panels; ++p) {
    float* dst = packed + static_cast<size_t>(p) * kMr * k;
    for (int i = 0; i < k; ++i)
      for (int r = 0; r < kMr; ++r) {
        const int row = p * kMr + r;
        dst[i * kMr + r] = row < m ? a[static_cast<size_t>(row) * k + i] : 0.0f;
      }
  }
}

void gemm_column_panel(const float* packed_a, int m, int k, const float* b, ptrdiff_t ldb,
                       int q, int p0, int p1, int n, float* c, const Epilogue& ep) {
  const int cols = std::min(kNr, n - q * kNr);
  if (kAvx512FitsPacking && cols > kColumnMax && gemm_kernel() == GemmKernel::avx512) {
    gemm_column_panel_avx512(packed_a, m, k, b, ldb, cols, p0, p1, c + q * kNr, n, ep.bias,
                             ep.residual ? ep.residual + q * kNr : nullptr, ep.slope, ep.relu);
    return;
  }
  for (int p = p0; p < p1; ++p) {
    const int rows = std::min(kMr, m - p * kMr);
    const ptrdiff_t off = static_cast<ptrdiff_t>(p) * kMr * n + q * kNr;
    const TileFn fn = cols <= kColumnMax ? column_fns[cols - 1]
                      : cols > kW        ? tile_fns<2>[rows - 1]
                                         : tile_fns<1>[rows - 1];
    fn(k, rows, cols, packed_a + static_cast<size_t>(p) * kMr * k, b, ldb, c + off, n, ep,
       ep.bias ? ep.bias + p * kMr : nullptr, ep.residual ? ep.residual + off : nullptr,
       ep.slope ? ep.slope + p * kMr : nullptr);
  }
}

void gemm_column_pair(const float* packed_a, int m, int k, const float* b0, ptrdiff_t ld0, const float* b1,
                      ptrdiff_t ld1, int q, int p0, int p1, int n, float* c, const Epilogue& ep) {
  const int last_cols = std::min(kNr, n - (q + 1) * kNr);
  if (kAvx512FitsPacking && gemm_kernel() == GemmKernel::avx512 && last_cols > kColumnMax) {
    gemm_column_pair_avx512(packed_a, m, k, b0, ld0, kNr, b1, ld1, last_cols, p0, p1, c + q * kNr, n, kNr, ep.bias,
                            ep.residual ? ep.residual + q * kNr : nullptr, ep.slope, ep.relu);
    return;
  }
  gemm_column_panel(packed_a, m, k, b0, ld0, q, p0, p1, n, c, ep);
  gemm_column_panel(packed_a, m, k, b1, ld1, q + 1, p0, p1, n, c, ep);
}

bool gemm_wide_pair(const float* packed_a, int m, int channels, const float* x, ptrdiff_t plane, const int* taps,
                    int ntaps, int q, int p0, int p1, int n, float* c, const Epilogue& ep) {
  const int last_cols = std::min(kNr, n - (q + 1) * kNr);
  if (!kAvx512FitsPacking || gemm_kernel() != GemmKernel::avx512 || last_cols < 1) return false;
  gemm_wide_pair_avx512(packed_a, m, channels, x + q * kNr, plane, taps, ntaps, last_cols, p0, p1, c + q * kNr, n,
                        ep.bias, ep.residual ? ep.residual + q * kNr : nullptr, ep.slope, ep.relu);
  return true;
}

namespace {

// gemm_packed's column work, split into units of one A-tile pass each. With the AVX-512 tiles,
// an image's panels go two at a time; an odd one left over (ResNet-50's 7x7 and 4x4 stages:
// 49 and 16 columns) pairs with the same panel of the next image, so batches avoid the 24 x 16
// tiles; a last panel too narrow for any tile (kColumnMax columns or fewer) is a unit of its
// own. Otherwise every panel is a unit.
class ColumnUnits {
 public:
  ColumnUnits(int n, int images, bool pairs) : nq_((n + kNr - 1) / kNr), images_(images) {
    const int tail = n % kNr;
    const int wide = pairs ? (tail > kColumnMax || tail == 0 ? nq_ : nq_ - 1) : 0;  // panels for pair tiles
    in_image_ = wide / 2;
    odd_ = wide % 2;
    narrow_ = pairs ? nq_ - wide : nq_;
  }
  int count() const { return images_ * in_image_ + (odd_ ? (images_ + 1) / 2 : 0) + images_ * narrow_; }

  struct Unit {
    int image, q;
    bool next_panel;  // also panel q + 1 of the image
    bool next_image;  // also panel q of image + 1
  };
  Unit operator[](int u) const {
    if (u < images_ * in_image_) return {u / in_image_, 2 * (u % in_image_), true, false};
    u -= images_ * in_image_;
    if (odd_) {
      if (u < (images_ + 1) / 2) return {2 * u, 2 * in_image_, false, 2 * u + 1 < images_};
      u -= (images_ + 1) / 2;
    }
    return {u / narrow_, nq_ - narrow_ + u % narrow_, false, false};
  }

 private:
  int nq_, images_, in_image_ = 0, odd_ = 0, narrow_ = 0;
};

}  // namespace

void gemm_packed(const float* packed_a, int m, int k, const BPanels& b, int n, float* c,
                 const Epilogue& ep, ThreadPool& pool, const ImageSteps& images) {
  const int mp = (m + kMr - 1) / kMr;
  const int full = n / kNr;
  const int g = panels_per_tile(gemm_kernel());
  const int mg = (mp + g - 1) / g;
  const bool avx512 = kAvx512FitsPacking && gemm_kernel() == GemmKernel::avx512;
  const ColumnUnits units(n, images.images, avx512);
  const int columns = units.count();
  // Walk the larger operand once: with m >= n each thread keeps one A tile hot while B
  // (small) stays in L2; otherwise a B panel stays in L1 while A cycles through L2.
  // Threads take contiguous ranges (not interleaved items) so that each streams its part of
  // A front to back, which the prefetchers need: measured 7% faster on ResNet-50.
  const bool m_outer = m >= n;
  // Items are (tile of g row panels, column unit).
  pool.parallel_for(int64_t{mg} * columns, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1;) {
      const int col = static_cast<int>(m_outer ? t % columns : t / mg);
      const int g0 = static_cast<int>(m_outer ? t / columns : t % mg);
      const int g1 = m_outer ? g0 + 1 : static_cast<int>(std::min<int64_t>(mg, g0 + (t1 - t)));
      const ColumnUnits::Unit u = units[col];
      const auto panel = [&](int i, int q) {
        return q == full ? b.tail + i * images.tail_step : b.base + i * images.b_step + q * b.step;
      };
      const auto ld = [&](int q) { return q == full ? ptrdiff_t{kNr} : b.ld; };
      Epilogue image_ep = ep;
      if (ep.residual) image_ep.residual += u.image * images.c_step;
      float* image_c = c + u.image * images.c_step;
      const int p0 = g0 * g, p1 = std::min(mp, g1 * g);
      if (u.next_panel) {
        gemm_column_pair(packed_a, m, k, panel(u.image, u.q), ld(u.q), panel(u.image, u.q + 1), ld(u.q + 1), u.q, p0,
                         p1, n, image_c, image_ep);
      } else if (u.next_image) {
        const int cols = std::min(kNr, n - u.q * kNr);
        const ptrdiff_t at = u.q * kNr;
        gemm_column_pair_avx512(packed_a, m, k, panel(u.image, u.q), ld(u.q), cols, panel(u.image + 1, u.q), ld(u.q),
                                cols, p0, p1, image_c + at, n, images.c_step, image_ep.bias,
                                image_ep.residual ? image_ep.residual + at : nullptr, ep.slope, ep.relu);
      } else {
        gemm_column_panel(packed_a, m, k, panel(u.image, u.q), ld(u.q), u.q, p0, p1, n, image_c, image_ep);
      }
      t += g1 - g0;
    }
  });
}

}  // namespace fg::nn
