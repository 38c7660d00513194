#include "nn/gemm.h"

#include <algorithm>
#include <cstdint>

namespace fg::nn {
namespace {

constexpr int kW = kVecWidth;
constexpr int kPrefetchA = 128 * kMr;
constexpr int kPrefetchB = 16;

template <int M, int NV>
void tile(int k, const float* a, const float* b, ptrdiff_t ldb, float* c, ptrdiff_t ldc,
          int n_valid, const Epilogue& ep, const float* bias, const float* res) {
  vfloat acc[M][NV];
#pragma GCC unroll 8
  for (int r = 0; r < M; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[r][v] = vfloat(bias ? bias[r] : 0.0f);

  for (int i = 0; i < k; ++i) {
    __builtin_prefetch(a + kPrefetchA);
    __builtin_prefetch(b + kPrefetchB * ldb);
    vfloat bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = vfloat::load_unaligned(b + v * kW);
#pragma GCC unroll 8
    for (int r = 0; r < M; ++r) {
      const vfloat av(a[r]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = xsimd::fma(av, bv[v], acc[r][v]);
    }
    a += kMr;
    b += ldb;
  }

  const vfloat zero(0.0f);
  if (n_valid == NV * kW) {
#pragma GCC unroll 8
    for (int r = 0; r < M; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        vfloat x = acc[r][v];
        if (res) x += vfloat::load_unaligned(res + r * ldc + v * kW);
        if (ep.relu) x = xsimd::max(x, zero);
        x.store_unaligned(c + r * ldc + v * kW);
      }
    return;
  }
  alignas(64) float tmp[NV * kW];
  for (int r = 0; r < M; ++r) {
    for (int v = 0; v < NV; ++v) acc[r][v].store_aligned(tmp + v * kW);
    for (int j = 0; j < n_valid; ++j) {
      float x = tmp[j];
      if (res) x += res[r * ldc + j];
      if (ep.relu) x = std::max(x, 0.0f);
      c[r * ldc + j] = x;
    }
  }
}

using TileFn = void (*)(int, const float*, const float*, ptrdiff_t, float*, ptrdiff_t, int,
                        const Epilogue&, const float*, const float*);

template <int NV>
constexpr TileFn tile_fns[kMr] = {tile<1, NV>, tile<2, NV>, tile<3, NV>,
                                  tile<4, NV>, tile<5, NV>, tile<6, NV>};

}  // namespace

size_t packed_a_floats(int m, int k) {
  return static_cast<size_t>((m + kMr - 1) / kMr) * kMr * static_cast<size_t>(k);
}

void pack_a(const float* a, int m, int k, float* packed) {
  const int panels = (m + kMr - 1) / kMr;
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
  for (int p = p0; p < p1; ++p) {
    const int rows = std::min(kMr, m - p * kMr);
    const ptrdiff_t off = static_cast<ptrdiff_t>(p) * kMr * n + q * kNr;
    const TileFn fn = cols > kW ? tile_fns<2>[rows - 1] : tile_fns<1>[rows - 1];
    fn(k, packed_a + static_cast<size_t>(p) * kMr * k, b, ldb, c + off, n, cols, ep,
       ep.bias ? ep.bias + p * kMr : nullptr, ep.residual ? ep.residual + off : nullptr);
  }
}

void gemm_packed(const float* packed_a, int m, int k, const BPanels& b, int n, float* c,
                 const Epilogue& ep, ThreadPool& pool) {
  const int mp = (m + kMr - 1) / kMr;
  const int nq = (n + kNr - 1) / kNr;
  const int full = n / kNr;
  // Walk the larger operand once: with m >= n each thread keeps one A panel hot while B
  // (small) stays in L2; otherwise a B panel stays in L1 while A cycles through L2.
  const bool m_outer = m >= n;
  pool.parallel_for(int64_t{mp} * nq, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1;) {
      const int q = static_cast<int>(m_outer ? t % nq : t / mp);
      const int p0 = static_cast<int>(m_outer ? t / nq : t % mp);
      const int p1 = m_outer ? p0 + 1 : static_cast<int>(std::min<int64_t>(mp, p0 + (t1 - t)));
      const bool tail = q == full;
      gemm_column_panel(packed_a, m, k, tail ? b.tail : b.base + q * b.step,
                        tail ? kNr : b.ld, q, p0, p1, n, c, ep);
      t += p1 - p0;
    }
  });
}

}  // namespace fg::nn
