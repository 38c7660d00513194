// Winograd F(2x2, 3x3) behind Conv2d's ConvAlgo::winograd, for 3x3 convs with stride 1 and
// pad 0 or 1: each 2x2 output tile is A^T [(G g G^T) . (B^T d B)] A over its 4x4 input
// patch d, so the 16 positions xi of the transformed tile are 16 GEMMs U_xi (out_c x in_c)
// times V_xi (in_c x tiles): 2.25x fewer multiplies than im2col, on the same packed GEMM
// tiles.
#pragma once

#include <cstddef>

#include "nn/gemm.h"
#include "nn/kernels.h"

namespace fg::nn {

// True for a 3x3 kernel with stride 1 and pads 0 or 1 (any channel counts).
bool winograd_supports(const Conv2dShape& s);

// Floats of the 16 packed U_xi of a supported shape.
size_t winograd_packed_floats(const Conv2dShape& s);
// Transforms the OIHW weight into U_xi = G g G^T (in double, rounded once) and packs each
// with pack_a into `packed` (winograd_packed_floats(s) floats).
void winograd_pack(const Conv2dShape& s, const float* weight, float* packed);

// Scratch of winograd_forward(_strided) for `batch` h x w images.
size_t winograd_workspace_floats(const Conv2dShape& s, int h, int w, int batch);
// Conv2d::forward_batch's contract with the epilogue (bias, image 0's residual, ReLU, PReLU
// slope, in that order) applied as the output is written; every image gets its own column
// panels, so a batch gives exactly what its images give one at a time, with the weights
// read once.
void winograd_forward(const Conv2dShape& s, const float* packed, const float* in, int batch, int h, int w,
                      const Epilogue& ep, float* out, float* workspace, ThreadPool& pool);
// The same with the input's rows in_ld >= w floats apart (planes h * in_ld apart); only
// their first w floats are read. The output stays compact (out_h x out_w planes).
void winograd_forward_strided(const Conv2dShape& s, const float* packed, const float* in, int batch, int h, int w,
                              int in_ld, const Epilogue& ep, float* out, float* workspace, ThreadPool& pool);

}  // namespace fg::nn
