// AVX-512 tiles over gemm.h's packed layout (A in panels of 6 rows, B in panels of 16
// columns), for CPUs that have AVX-512 when the build targets AVX2. Its translation unit is
// compiled with -mavx512*: call it only when gemm_avx512_supported(). This header stays
// free of nn/simd.h, whose vector width differs in that unit.
#pragma once

#include <cstddef>

namespace fg::nn {

constexpr int kAvx512PanelRows = 6;
constexpr int kAvx512PanelCols = 16;
// A panels per tile: 24 rows x 16 columns = 24 zmm accumulators of the 32, one for B, and
// the A broadcasts folded into the FMAs as memory operands.
constexpr int kAvx512Panels = 4;

// True when the CPU and OS support AVX-512 F, BW, DQ and VL.
bool gemm_avx512_supported();

// C's rows of A panels [p0, p1) x one B panel of `cols` (1..16) columns, as
// gemm_column_panel does: c and residual point at row 0 of that column panel (row stride
// ldc); bias and slope (PReLU) hold m floats or are null. Same summation order as the AVX2
// tiles with one accumulator chain (bias, then k in order, then residual, then ReLU or PReLU).
void gemm_column_panel_avx512(const float* packed_a, int m, int k, const float* b,
                              ptrdiff_t ldb, int cols, int p0, int p1, float* c, ptrdiff_t ldc,
                              const float* bias, const float* residual, const float* slope, bool relu);

// The same for two column panels at once, b0 (cols0 columns) and b1 (cols1 >= 1), in 12 x 32
// tiles: half the loads per FMA of the 24 x 16 ones. b1's columns of C (and of the residual)
// start `second` floats after b0's: 16 for the next panel of one image, further for another
// image's.
void gemm_column_pair_avx512(const float* packed_a, int m, int k, const float* b0, ptrdiff_t ld0,
                             int cols0, const float* b1, ptrdiff_t ld1, int cols1, int p0, int p1,
                             float* c, ptrdiff_t ldc, ptrdiff_t second, const float* bias, const float* residual,
                             const float* slope, bool relu);

// gemm_column_pair_avx512 with B read in place from a stride-1 conv's input: row (channel,
// tap t) of the two panels (16 and cols1 columns) is the 32 floats at x + channel * plane +
// taps[t], so k = channels * ntaps. Every one of those floats must be readable.
void gemm_wide_pair_avx512(const float* packed_a, int m, int channels, const float* x, ptrdiff_t plane,
                           const int* taps, int ntaps, int cols1, int p0, int p1, float* c, ptrdiff_t ldc,
                           const float* bias, const float* residual, const float* slope, bool relu);

}  // namespace fg::nn
