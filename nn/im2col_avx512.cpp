#include "nn/im2col_avx512.h"

#include <immintrin.h>

namespace fg::nn {

void pack_wide_rows_avx512(const float* col, int in_c, size_t plane, int kh, int kw, int ld, const float* end,
                           float* panel) {
  for (int ic = 0; ic < in_c; ++ic, col += plane)
    for (int ky = 0; ky < kh; ++ky)
      for (int kx = 0; kx < kw; ++kx, panel += 16) {
        const float* src = col + ky * ld + kx;
        const ptrdiff_t left = end - src;
        const __mmask16 valid = left >= 16 ? 0xffff : left <= 0 ? 0 : static_cast<__mmask16>((1u << left) - 1);
        _mm512_storeu_ps(panel, _mm512_maskz_loadu_ps(valid, src));
      }
}

}  // namespace fg::nn
