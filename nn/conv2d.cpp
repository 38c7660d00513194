#include <algorithm>
#include <stdexcept>
#include <string>

#include "nn/conv2d_check.h"
#include "nn/gemm.h"
#include "nn/im2col.h"
#include "nn/kernels.h"
#include "nn/winograd.h"

namespace fg::nn {
namespace {

// A 1x1, stride-1, unpadded conv is already a GEMM on the input: no im2col.
bool reads_input_directly(const Conv2dShape& s) {
  return s.kh == 1 && s.kw == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_h == 0 &&
         s.pad_w == 0;
}

// Every B panel of one image: its stride phases, then the panels, split over the pool as
// (panel, input channel) items so that even a single panel is shared out.
void pack_all_panels(const Im2col& im, int in_c, const float* in, float* phases, float* panels,
                     ptrdiff_t panel_floats, ThreadPool& pool) {
  pool.parallel_for(in_c, [&](int64_t c0, int64_t c1) {
    im.split_phases(in, static_cast<int>(c0), static_cast<int>(c1), phases);
  });
  pool.parallel_for(int64_t{im.panels()} * in_c, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1;) {
      const int q = static_cast<int>(t / in_c), c0 = static_cast<int>(t % in_c);
      const int c1 = static_cast<int>(std::min<int64_t>(in_c, c0 + (t1 - t)));
      im.pack_panel(phases, q, c0, c1, panels + q * panel_floats);
      t += c1 - c0;
    }
  });
}

}  // namespace

Conv2d::Conv2d(const Conv2dShape& s, const float* weight, const float* bias, ConvAlgo algo) : s_(s), algo_(algo) {
  check_conv2d_shape(s, "Conv2d");
  if (!weight) throw std::invalid_argument("Conv2d: null weight for " + describe(s));
  if (algo == ConvAlgo::winograd) {
    if (!winograd_supports(s))
      throw std::invalid_argument("Conv2d: Winograd F(2x2, 3x3) needs a 3x3 kernel, stride 1 and pads of 0 or 1; got " +
                                  describe(s));
    packed_.resize(winograd_packed_floats(s));
    winograd_pack(s, weight, packed_.data());
  } else {
    const int k = s.in_c * s.kh * s.kw;
    packed_.resize(packed_a_floats(s.out_c, k));
    pack_a(weight, s.out_c, k, packed_.data());
  }
  if (bias) bias_.assign(bias, bias + s.out_c);
}

bool Conv2d::packs_b_first(int h, int w, int threads) const {
  if (reads_input_directly(s_)) return true;
  const int n = s_.out_h(h) * s_.out_w(w);
  return s_.out_c >= n || Im2col(s_, h, w).panels() < 2 * threads;
}

size_t Conv2d::workspace_floats(int h, int w, int batch) const {
  check_conv2d_input(s_, h, w, "Conv2d::workspace_floats");
  if (batch < 1) throw std::invalid_argument("Conv2d::workspace_floats: batch " + std::to_string(batch) + " < 1");
  if (algo_ == ConvAlgo::winograd) return winograd_workspace_floats(s_, h, w, batch);
  const size_t n = static_cast<size_t>(s_.out_h(h)) * s_.out_w(w);
  const size_t k = static_cast<size_t>(s_.in_c) * s_.kh * s_.kw;
  if (reads_input_directly(s_)) return n % kNr ? batch * k * kNr : 0;
  const Im2col im(s_, h, w);
  // One image's phases at a time; every image's panels, when they share the weights.
  return im.phase_floats() + batch * im.panel_floats();
}

void Conv2d::forward(const float* in, int h, int w, const float* residual, Act act, float* out,
                     float* workspace, ThreadPool& pool) const {
  forward_batch(in, 1, h, w, residual, act, out, workspace, pool);
}

void Conv2d::forward_batch(const float* in, int batch, int h, int w, const float* residual, Act act,
                           float* out, float* workspace, ThreadPool& pool) const {
  check_conv2d_input(s_, h, w, "Conv2d::forward");
  if (packed_.empty())
    throw std::invalid_argument("Conv2d::forward on a default-constructed conv");
  const int m = s_.out_c;
  const int n = s_.out_h(h) * s_.out_w(w);
  const int k = s_.in_c * s_.kh * s_.kw;
  const int full = n / kNr;
  const ptrdiff_t in_step = static_cast<ptrdiff_t>(s_.in_c) * h * w, out_step = static_cast<ptrdiff_t>(m) * n;
  const Epilogue ep{bias_.empty() ? nullptr : bias_.data(), residual, act == Act::relu};
  if (algo_ == ConvAlgo::winograd) {
    winograd_forward(s_, packed_.data(), in, batch, h, w, ep, out, workspace, pool);
    return;
  }
  if (reads_input_directly(s_)) {
    const ptrdiff_t tail_step = static_cast<ptrdiff_t>(k) * kNr;
    if (n % kNr)
      for (int i = 0; i < batch; ++i) pack_tail_panel(in + i * in_step, k, n, full * kNr, workspace + i * tail_step);
    gemm_packed(packed_.data(), m, k, {in, n, kNr, workspace}, n, out, ep, pool, {batch, in_step, tail_step, out_step});
    return;
  }

  const Im2col im(s_, h, w);
  float* phases = workspace;
  float* panels = workspace + im.phase_floats();
  const ptrdiff_t panel_floats = static_cast<ptrdiff_t>(k) * kNr;
  if (packs_b_first(h, w, pool.size())) {
    // Few columns: B is small next to the weights; pack it all (every image's), then stream
    // the weights once.
    const ptrdiff_t image_step = static_cast<ptrdiff_t>(im.panel_floats());
    for (int i = 0; i < batch; ++i)
      pack_all_panels(im, s_.in_c, in + i * in_step, phases, panels + i * image_step, panel_floats, pool);
    gemm_packed(packed_.data(), m, k, {panels, kNr, panel_floats, panels + full * panel_floats}, n, out, ep, pool,
                {batch, image_step, image_step, out_step});
    return;
  }
  // Many columns: each thread packs a B panel into its own slot, still hot in L1/L2 when its
  // row panels use it, instead of writing the whole im2col matrix out to memory first.
  // Thread i takes tiles [total*i/T, total*(i+1)/T) in column-panel-major order; the slots
  // fit in the panel area since nq >= 2 * threads here.
  const int mp = (m + kMr - 1) / kMr, nq = im.panels(), threads = pool.size();
  const int64_t total = int64_t{mp} * nq;
  for (int b = 0; b < batch; ++b) {
    const float* image = in + b * in_step;
    float* image_out = out + b * out_step;
    Epilogue image_ep = ep;
    if (residual) image_ep.residual += b * out_step;
    pool.parallel_for(s_.in_c, [&](int64_t c0, int64_t c1) {
      im.split_phases(image, static_cast<int>(c0), static_cast<int>(c1), phases);
    });
    pool.parallel_for(threads, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        float* slot = panels + i * panel_floats;
        const int64_t t1 = total * (i + 1) / threads;
        for (int64_t t = total * i / threads; t < t1;) {
          const int q = static_cast<int>(t / mp), p0 = static_cast<int>(t % mp);
          const int p1 = static_cast<int>(std::min<int64_t>(mp, p0 + (t1 - t)));
          im.pack_panel(phases, q, 0, s_.in_c, slot);
          gemm_column_panel(packed_.data(), m, k, slot, kNr, q, p0, p1, n, image_out, image_ep);
          t += p1 - p0;
        }
      }
    });
  }
}

}  // namespace fg::nn
