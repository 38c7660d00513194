#include "nn/gemm_avx512.h"

#include <xsimd/xsimd.hpp>

namespace fg::nn {
namespace {

using zfloat = xsimd::batch<float, xsimd::avx512f>;
constexpr int kRows = kAvx512PanelRows;
static_assert(zfloat::size == kAvx512PanelCols, "one zmm spans a B panel");
// As in gemm.cpp: the weights stream from DRAM at batch 1, ~one memory latency ahead.
constexpr int kPrefetchA = 128 * kRows;
constexpr int kPrefetchB = 16;

// x > 0 ? x : a * x, as the AVX2 tiles and nn::prelu compute it.
inline __m512 prelu(__m512 x, float a) {
  const __mmask16 not_positive = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_NGT_UQ);
  return _mm512_mask_mul_ps(x, not_positive, x, _mm512_set1_ps(a));
}

template <int P>
void tile(int k, const float* a, ptrdiff_t panel_floats, const float* b, ptrdiff_t ldb,
          int rows, __mmask16 cols, float* c, ptrdiff_t ldc, const float* bias,
          const float* res, const float* slope, bool relu) {
  constexpr int R = P * kRows;
  zfloat acc[R];
#pragma GCC unroll 24
  for (int r = 0; r < R; ++r) acc[r] = zfloat(bias && r < rows ? bias[r] : 0.0f);
  const float* ap[P];
#pragma GCC unroll 4
  for (int p = 0; p < P; ++p) ap[p] = a + p * panel_floats;
  // Two k per iteration: each panel moves 12 floats, so one prefetch per panel covers its
  // next cache line without issuing one per k.
  const auto step = [&](int i, bool prefetch) {
    if (prefetch) {
#pragma GCC unroll 4
      for (int p = 0; p < P; ++p) __builtin_prefetch(ap[p] + i * kRows + kPrefetchA);
    }
    __builtin_prefetch(b + (i + kPrefetchB) * ldb);
    const zfloat bv = zfloat::load_unaligned(b + i * ldb);
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p)
#pragma GCC unroll 6
      for (int r = 0; r < kRows; ++r)
        acc[p * kRows + r] = xsimd::fma(zfloat(ap[p][i * kRows + r]), bv, acc[p * kRows + r]);
  };
  int i = 0;
  for (; i + 2 <= k; i += 2) {
    step(i, true);
    step(i + 1, false);
  }
  if (i < k) step(i, true);

  const __m512 zero = _mm512_setzero_ps();
#pragma GCC unroll 24
  for (int r = 0; r < R; ++r) {
    if (r >= rows) break;
    __m512 x = acc[r];
    if (res) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(cols, res + r * ldc));
    if (relu) x = _mm512_maskz_max_ps(cols, x, zero);
    if (slope) x = prelu(x, slope[r]);
    _mm512_mask_storeu_ps(c + r * ldc, cols, x);
  }
}

// Where pair_tile reads its two B panels, row by row. PanelRows: packed (or tail) panels,
// row i at b0 + i * ld0 and b1 + i * ld1.
struct PanelRows {
  const float* b0;
  ptrdiff_t ld0;
  const float* b1;
  ptrdiff_t ld1;
  void load(zfloat& v0, zfloat& v1) const {
    v0 = zfloat::load_unaligned(b0);
    v1 = zfloat::load_unaligned(b1);
  }
  void prefetch() const {
    __builtin_prefetch(b0 + kPrefetchB * ld0);
    __builtin_prefetch(b1 + kPrefetchB * ld1);
  }
  void next() {
    b0 += ld0;
    b1 += ld1;
  }
};

// A wide conv's input read in place, im2col's copy skipped: row (channel, tap t) of the two
// panels is the 32 floats at x + channel * plane + taps[t]. Those rows sit in a few input
// rows that the k loop revisits, so they are in L1 without prefetching.
struct WideRows {
  const float* x;
  ptrdiff_t plane;
  const int* taps;
  int ntaps;
  int t = 0;
  void load(zfloat& v0, zfloat& v1) const {
    v0 = zfloat::load_unaligned(x + taps[t]);
    v1 = zfloat::load_unaligned(x + taps[t] + kAvx512PanelCols);
  }
  void prefetch() const {}
  void next() {
    if (++t == ntaps) {
      t = 0;
      x += plane;
    }
  }
};

// Two A panels (12 rows) by two B panels (32 columns): 24 accumulators again, but per k two
// B loads and 12 broadcasts, each feeding two FMAs, where the 24 x 16 tile loads once per
// FMA. P = 1 for the last, odd panel.
template <int P, typename Rows>
void pair_tile(int k, const float* a, ptrdiff_t panel_floats, Rows b, int rows, __mmask16 cols0,
               __mmask16 cols1, float* c, ptrdiff_t ldc, ptrdiff_t second, const float* bias, const float* res,
               const float* slope, bool relu) {
  constexpr int R = P * kRows;
  zfloat acc[R][2];
#pragma GCC unroll 12
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = zfloat(bias && r < rows ? bias[r] : 0.0f);
  const float* ap[P];
#pragma GCC unroll 2
  for (int p = 0; p < P; ++p) ap[p] = a + p * panel_floats;
  for (int i = 0; i < k; ++i) {
    // Every other k: each panel moves 12 floats per two k, one cache line ahead per prefetch.
    if ((i & 1) == 0) {
#pragma GCC unroll 2
      for (int p = 0; p < P; ++p) __builtin_prefetch(ap[p] + i * kRows + kPrefetchA);
    }
    b.prefetch();
    zfloat bv0, bv1;
    b.load(bv0, bv1);
    b.next();
#pragma GCC unroll 2
    for (int p = 0; p < P; ++p)
#pragma GCC unroll 6
      for (int r = 0; r < kRows; ++r) {
        const zfloat av(ap[p][i * kRows + r]);
        acc[p * kRows + r][0] = xsimd::fma(av, bv0, acc[p * kRows + r][0]);
        acc[p * kRows + r][1] = xsimd::fma(av, bv1, acc[p * kRows + r][1]);
      }
  }

  const __m512 zero = _mm512_setzero_ps();
#pragma GCC unroll 12
  for (int r = 0; r < R; ++r) {
    if (r >= rows) break;
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      const __mmask16 cols = h ? cols1 : cols0;
      const ptrdiff_t at = r * ldc + h * second;
      __m512 x = acc[r][h];
      if (res) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(cols, res + at));
      if (relu) x = _mm512_maskz_max_ps(cols, x, zero);
      if (slope) x = prelu(x, slope[r]);
      _mm512_mask_storeu_ps(c + at, cols, x);
    }
  }
}

// The pair tiles of A panels [p0, p1), two panels at a time.
template <typename Rows>
void pair_tiles(const float* packed_a, int m, int k, const Rows& b, int cols0, int cols1, int p0, int p1,
                float* c, ptrdiff_t ldc, ptrdiff_t second, const float* bias, const float* residual,
                const float* slope, bool relu) {
  const ptrdiff_t panel_floats = static_cast<ptrdiff_t>(kRows) * k;
  const __mmask16 mask0 = static_cast<__mmask16>((1u << cols0) - 1);
  const __mmask16 mask1 = static_cast<__mmask16>((1u << cols1) - 1);
  for (int p = p0; p < p1; p += 2) {
    const int row0 = p * kRows;
    const int rows = m - row0 < 2 * kRows ? m - row0 : 2 * kRows;
    const ptrdiff_t off = row0 * ldc;
    const auto tile = p + 1 < p1 ? pair_tile<2, Rows> : pair_tile<1, Rows>;
    tile(k, packed_a + p * panel_floats, panel_floats, b, rows, mask0, mask1, c + off, ldc, second,
         bias ? bias + row0 : nullptr, residual ? residual + off : nullptr, slope ? slope + row0 : nullptr, relu);
  }
}

using TileFn = void (*)(int, const float*, ptrdiff_t, const float*, ptrdiff_t, int, __mmask16,
                        float*, ptrdiff_t, const float*, const float*, const float*, bool);
constexpr TileFn kTiles[kAvx512Panels] = {tile<1>, tile<2>, tile<3>, tile<4>};

}  // namespace

bool gemm_avx512_supported() {
  // GCC's check includes the OS saving the zmm state (XCR0), which xsimd 8.1's cpuid skips.
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
}

void gemm_column_panel_avx512(const float* packed_a, int m, int k, const float* b,
                              ptrdiff_t ldb, int cols, int p0, int p1, float* c, ptrdiff_t ldc,
                              const float* bias, const float* residual, const float* slope, bool relu) {
  const ptrdiff_t panel_floats = static_cast<ptrdiff_t>(kRows) * k;
  const __mmask16 mask = static_cast<__mmask16>((1u << cols) - 1);
  for (int p = p0; p < p1; p += kAvx512Panels) {
    const int panels = p1 - p < kAvx512Panels ? p1 - p : kAvx512Panels;
    const int row0 = p * kRows;
    const int rows = m - row0 < panels * kRows ? m - row0 : panels * kRows;
    const ptrdiff_t off = row0 * ldc;
    kTiles[panels - 1](k, packed_a + p * panel_floats, panel_floats, b, ldb, rows, mask,
                       c + off, ldc, bias ? bias + row0 : nullptr,
                       residual ? residual + off : nullptr, slope ? slope + row0 : nullptr, relu);
  }
}

void gemm_column_pair_avx512(const float* packed_a, int m, int k, const float* b0, ptrdiff_t ld0,
                             int cols0, const float* b1, ptrdiff_t ld1, int cols1, int p0, int p1,
                             float* c, ptrdiff_t ldc, ptrdiff_t second, const float* bias, const float* residual,
                             const float* slope, bool relu) {
  pair_tiles(packed_a, m, k, PanelRows{b0, ld0, b1, ld1}, cols0, cols1, p0, p1, c, ldc, second, bias, residual,
             slope, relu);
}

void gemm_wide_pair_avx512(const float* packed_a, int m, int channels, const float* x, ptrdiff_t plane,
                           const int* taps, int ntaps, int cols1, int p0, int p1, float* c, ptrdiff_t ldc,
                           const float* bias, const float* residual, const float* slope, bool relu) {
  pair_tiles(packed_a, m, channels * ntaps, WideRows{x, plane, taps, ntaps}, kAvx512PanelCols, cols1, p0, p1, c,
             ldc, kAvx512PanelCols, bias, residual, slope, relu);
}

}  // namespace fg::nn
