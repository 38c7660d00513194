// Lays the conv input out as the GEMM's B operand in kNr-column panels (see gemm.h): row
// ic*kh*kw + ky*kw + kx, column oy*out_w + ox, zeros for padding and past the last column.
// Two passes: the input is first copied, zero padded, into stride phases (phase (py, px) of a
// channel holds padded rows py, py + stride_h, ... and likewise columns), which makes every
// B row a contiguous run of one phase plane; the panels are then filled with vector copies.
#pragma once

#include <cstddef>

#include "nn/kernels.h"

namespace fg::nn {

class Im2col {
 public:
  Im2col(const Conv2dShape& s, int h, int w) : Im2col(s, h, w, w) {}
  // An input whose rows are in_ld >= w floats apart (planes h * in_ld apart).
  Im2col(const Conv2dShape& s, int h, int w, int in_ld);
  size_t phase_floats() const;  // a multiple of kNr, so the panels after it stay aligned
  size_t panel_floats() const;
  int panels() const { return nq_; }
  // Channels [c0, c1) of `in` into their phase planes.
  void split_phases(const float* in, int c0, int c1, float* phases) const;
  // The rows of input channels [c0, c1) of panel q (K x kNr floats at panel).
  void pack_panel(const float* phases, int q, int c0, int c1, float* panel) const;

  // Stride 1 only: B over the padded input's whole width, "wide" column oy * wide_w() + x,
  // where columns x >= out_w are junk for the caller to drop. Every row of a wide panel is
  // one contiguous run of a phase plane, so it packs with one vector copy per row instead
  // of a copy per output-row segment. Only the first `readable` floats at phases are read
  // (the junk columns of the last panel may lie past them: zeros are packed there).
  int wide_w() const { return wq_; }
  int wide_panels() const;
  void pack_wide_panel(const float* phases, size_t readable, int q, float* panel) const;

 private:
  Conv2dShape s_;
  int h_, w_, ld_, ow_, n_, k_, nq_;
  int phases_y_, phases_x_;  // min(stride, kernel): the phases some kernel tap reads
  int hq_, wq_;              // size of one phase plane
};

// Copies columns [col0, n) of the row-major k x n matrix x into one zero-padded panel.
void pack_tail_panel(const float* x, int k, int n, int col0, float* out);

}  // namespace fg::nn
