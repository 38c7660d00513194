// Numeric kernels of the forward passes. Every op has a scalar reference (`*_ref`, obviously
// right, used only by tests and benches) and a fast path (packed weights, xsimd/Eigen,
// threaded). Layout is NCHW float32, one image at a time unless stated; batch loops live
// in the networks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "nn/huge_page_allocator.h"
#include "nn/thread_pool.h"

namespace fg::nn {

enum class Act { none, relu };

struct Conv2dShape {
  int in_c = 0, out_c = 0;
  int kh = 1, kw = 1;
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;
  int out_h(int h) const { return (h + 2 * pad_h - kh) / stride_h + 1; }
  int out_w(int w) const { return (w + 2 * pad_w - kw) / stride_w + 1; }
};

// out[oc][y][x] = act(bias[oc] + sum w[oc][ic][ky][kx] * in[ic][y*s+ky-p][x*s+kx-p]
//                     + residual[oc][y][x]);  zero padding. residual and bias may be null.
// weight is PyTorch's OIHW layout.
void conv2d_ref(const Conv2dShape& s, const float* in, int h, int w, const float* weight,
                const float* bias, const float* residual, Act act, float* out);

// How Conv2d computes: a GEMM over im2col panels (over the input itself for a 1x1, stride-1
// conv), or Winograd F(2x2, 3x3) (nn/winograd.h; 3x3, stride 1, pad 0 or 1 only): 2.25x
// fewer multiplies, but its packed weights are 16/9 the size.
enum class ConvAlgo { im2col, winograd };

// The fast convolution: weights packed once at construction (the caller's weight/bias
// arrays are not kept). forward() is const and thread-safe given distinct workspaces.
class Conv2d {
 public:
  Conv2d() = default;
  // Throws std::invalid_argument on an invalid shape, a null weight, or `winograd` for a
  // shape it does not support.
  Conv2d(const Conv2dShape& s, const float* weight, const float* bias, ConvAlgo algo = ConvAlgo::im2col);
  const Conv2dShape& shape() const { return s_; }
  ConvAlgo algo() const { return algo_; }
  // Floats of scratch forward() needs for an h x w input, forward_batch() for `batch` of them.
  size_t workspace_floats(int h, int w, int batch = 1) const;
  // Same contract as conv2d_ref. `workspace` holds workspace_floats(h, w) floats.
  void forward(const float* in, int h, int w, const float* residual, Act act, float* out,
               float* workspace, ThreadPool& pool) const;
  // forward() on `batch` images stored one after the other (in, out and residual), equal to
  // calling it per image; `workspace` holds workspace_floats(h, w, batch) floats. When the
  // weights are large next to one image's columns, the images share one pass over the
  // weights instead of reading them once each.
  void forward_batch(const float* in, int batch, int h, int w, const float* residual, Act act,
                     float* out, float* workspace, ThreadPool& pool) const;
  // Stride 1 only (else std::invalid_argument): forward() with a PReLU after the bias when
  // slope (out_c floats) is not null, on an input whose rows are in_ld >= w floats apart (a
  // wide output feeds the next conv as it is). Output row y of channel c starts at
  // out + (c * out_h + y) * wide_ld(w, in_ld); its columns from out_w on are junk. An im2col
  // conv computes over the padded input's whole width, so that im2col is one vector copy per
  // row (worth it for thin channels), or none where the AVX-512 tiles read B in place:
  // unpadded, it reads the input in place, junk columns included, so its output rows are
  // in_ld apart; padded, it copies it padded first, w + 2 * pad_w wide. A Winograd conv reads only the w columns and
  // writes compact rows, out_w apart. `workspace` holds wide_workspace_floats(h, w, pool threads) floats.
  int wide_ld(int w, int in_ld) const {
    if (algo_ == ConvAlgo::winograd) return s_.out_w(w);
    return s_.pad_h == 0 && s_.pad_w == 0 ? in_ld : w + 2 * s_.pad_w;
  }
  size_t wide_workspace_floats(int h, int w, int threads) const;
  void forward_wide(const float* in, int h, int w, int in_ld, const float* slope, float* out,
                    float* workspace, ThreadPool& pool) const;

 private:
  // Whether an h x w input packs all its B panels before one pass over the weights (which
  // images of a batch can then share), rather than packing panels as the threads go.
  bool packs_b_first(int h, int w, int threads) const;

  Conv2dShape s_;
  ConvAlgo algo_ = ConvAlgo::im2col;
  std::vector<float, HugePageAllocator<float>> packed_;  // layout private to the implementation
  std::vector<float> bias_;
};

// Max pooling, padding counts as -inf; ceil_mode as in PyTorch (last window must start
// inside the input or left padding).
struct PoolShape {
  int k = 2, stride = 2, pad = 0;
  bool ceil_mode = false;
  int out_dim(int n) const;
};
void max_pool2d_ref(const PoolShape& p, const float* in, int c, int h, int w, float* out);
void max_pool2d(const PoolShape& p, const float* in, int c, int h, int w, float* out,
                ThreadPool& pool);
// The same on an input whose rows are ld >= w floats apart (planes h * ld apart).
void max_pool2d(const PoolShape& p, const float* in, int c, int h, int w, int ld, float* out,
                ThreadPool& pool);

// Global average pooling: out[c] = mean over h*w of in[c].
void global_avg_pool_ref(const float* in, int c, int h, int w, float* out);
void global_avg_pool(const float* in, int c, int h, int w, float* out, ThreadPool& pool);

// y[b][o] = bias[o] + sum_i W[o][i] x[b][i] for a batch of rows. W is PyTorch's [out, in].
void linear_ref(const float* x, int batch, int in, int out, const float* weight,
                const float* bias, float* y);
class Linear {
 public:
  Linear() = default;
  Linear(int in, int out, const float* weight, const float* bias);
  int in() const { return in_; }
  int out() const { return out_; }
  void forward(const float* x, int batch, float* y, ThreadPool& pool) const;

 private:
  int in_ = 0, out_ = 0;
  std::vector<float, HugePageAllocator<float>> packed_;
  std::vector<float> bias_;
};

// Scales each of `rows` rows of length n to unit L2 norm (eps 1e-12 as torch's normalize).
void l2_normalize_ref(float* x, int rows, int n);
void l2_normalize(float* x, int rows, int n);

}  // namespace fg::nn
