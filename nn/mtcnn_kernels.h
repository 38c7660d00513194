// The two ops MTCNN needs beyond kernels.h: per-channel PReLU and a softmax across channels.
// Both work on an [outer][c][inner] float array: NCHW planes (inner = h*w) or dense rows
// (outer = batch, inner = 1). Each has a scalar reference and a fast (xsimd) path; in == out
// is allowed.
#pragma once

namespace fg::nn {

// out = x > 0 ? x : slope[channel] * x, as torch.nn.PReLU(c).
void prelu_ref(const float* in, int outer, int c, int inner, const float* slope, float* out);
void prelu(const float* in, int outer, int c, int inner, const float* slope, float* out);

// Softmax over the c channels at every (outer, inner) position, as torch.nn.Softmax(dim=1):
// exp(x - max) / sum(exp(x - max)).
void softmax_ref(const float* in, int outer, int c, int inner, float* out);
void softmax(const float* in, int outer, int c, int inner, float* out);

}  // namespace fg::nn
