// Im2col::pack_wide_panel's copies with one zmm per panel row, for the CPUs whose GEMM runs
// the AVX-512 tiles (16-column panels). Compiled alone with -mavx512f: call it only when
// gemm_kernel() is GemmKernel::avx512. Free of nn/simd.h, whose vector width differs there.
#pragma once

#include <cstddef>

namespace fg::nn {

// For each input channel (planes `plane` floats apart from col) and tap (ky, kx): the 16
// floats at col + ky * ld + kx into the next panel row; floats at or past `end` are packed
// as zeros and never read.
void pack_wide_rows_avx512(const float* col, int in_c, size_t plane, int kh, int kw, int ld, const float* end,
                           float* panel);

}  // namespace fg::nn
