// Register-blocked, packed GEMM behind Conv2d: C[m x n] = A[m x k] * B[k x n] with the
// epilogue (bias per row, residual, ReLU) fused into the store. C and the residual are
// row-major with row stride n, the layout of a conv output (rows = channels).
#pragma once

#include <cstddef>

#include "nn/simd.h"
#include "nn/thread_pool.h"

namespace fg::nn {

// 6 x 16 tile on AVX2: 12 accumulators + 2 B vectors + 1 broadcast = 15 of the 16 registers,
// and 2 loads + 6 broadcasts per 12 FMAs stays under the load ports' limit.
constexpr int kMr = 6;
constexpr int kNr = 2 * kVecWidth;

// A in panels of kMr rows: panel p holds k x kMr floats, k-major; rows past m are zero.
// packed_a_floats includes a few floats of slack after the last panel.
size_t packed_a_floats(int m, int k);
void pack_a(const float* a, int m, int k, float* packed);  // a: row-major m x k

// B seen as panels of kNr columns: panel q starts at base + q * step, row stride ld. When
// n % kNr != 0 the last panel is read from `tail` instead (row stride kNr, zero padded).
struct BPanels {
  const float* base = nullptr;
  ptrdiff_t ld = 0;
  ptrdiff_t step = 0;
  const float* tail = nullptr;
};

struct Epilogue {
  const float* bias = nullptr;      // m floats or null
  const float* residual = nullptr;  // m x n or null
  bool relu = false;
  const float* slope = nullptr;  // m floats or null: PReLU, x > 0 ? x : slope[row] * x
};

// The tiles of row panels [p0, p1) and column panel q, with that B panel at b (row stride ldb).
void gemm_column_panel(const float* packed_a, int m, int k, const float* b, ptrdiff_t ldb,
                       int q, int p0, int p1, int n, float* c, const Epilogue& ep);

// The same over column panels q and q + 1 (B panels at b0 and b1): one pass of 12 x 32
// tiles with the AVX-512 kernel, else gemm_column_panel on each.
void gemm_column_pair(const float* packed_a, int m, int k, const float* b0, ptrdiff_t ld0, const float* b1,
                      ptrdiff_t ld1, int q, int p0, int p1, int n, float* c, const Epilogue& ep);

// A stride-1 conv's B read in place, without im2col's copy, for column panels q and q + 1:
// row (channel, tap t) of panel q is the kNr floats at x + channel * plane + taps[t] +
// q * kNr (the "wide" layout of nn/im2col.h, where every panel row is one contiguous run of
// the input), and k = channels * ntaps. Only the AVX-512 tiles do this: returns false,
// computing nothing, when they are not in use (the caller then packs the panels). Every
// float those rows span, junk columns included, must be readable.
bool gemm_wide_pair(const float* packed_a, int m, int channels, const float* x, ptrdiff_t plane, const int* taps,
                    int ntaps, int q, int p0, int p1, int n, float* c, const Epilogue& ep);

// The tile kernels behind gemm_column_panel: the build's own vectors (xsimd's arch for
// -march, 6 x kNr tiles), or AVX-512 tiles (12 x 32 over pairs of column panels in
// gemm_packed, 24 x 16 for a single panel; nn/gemm_avx512.h) on a CPU that has AVX-512 while
// the build targets AVX2. Both read the same packed A and B, so weights packed
// at load serve either. Chosen once from the CPU at start-up; tests and benches switch it
// with set_gemm_kernel, never while a GEMM runs.
enum class GemmKernel { build_arch, avx512 };
bool gemm_kernel_supported(GemmKernel kernel);
GemmKernel gemm_kernel();
// Throws std::invalid_argument when !gemm_kernel_supported(kernel).
void set_gemm_kernel(GemmKernel kernel);
// For logs and benchmark labels: "fma3<avx2> 6x16", "avx512 12x32+24x16".
const char* gemm_kernel_name(GemmKernel kernel);

// Several images through one weight matrix: image i's B panels are b's shifted by
// i * b_step (tail by i * tail_step), its C and residual start i * c_step after image 0's.
struct ImageSteps {
  int images = 1;
  ptrdiff_t b_step = 0, tail_step = 0, c_step = 0;
};

// All of C, tiles split over the pool's threads. With several images, each row tile of A
// runs over every image's columns while it is hot in cache: the weights are read once for
// the batch.
void gemm_packed(const float* packed_a, int m, int k, const BPanels& b, int n, float* c,
                 const Epilogue& ep, ThreadPool& pool, const ImageSteps& images = {});

}  // namespace fg::nn
