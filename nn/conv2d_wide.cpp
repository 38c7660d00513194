#include <stdexcept>
#include <string>

#include "nn/conv2d_check.h"
#include "nn/gemm.h"
#include "nn/im2col.h"
#include "nn/kernels.h"
#include "nn/winograd.h"

namespace fg::nn {
namespace {

// Taps (kh * kw) up to which forward_wide's GEMM may read B in place: MTCNN's 3x3 and 2x2.
constexpr int kMaxInPlaceTaps = 16;

void check_stride_1(const Conv2dShape& s, const char* who) {
  if (s.stride_h != 1 || s.stride_w != 1)
    throw std::invalid_argument(std::string(who) + ": stride " + std::to_string(s.stride_h) + "x" +
                                std::to_string(s.stride_w) + ", expected 1x1 for " + describe(s));
}

}  // namespace

size_t Conv2d::wide_workspace_floats(int h, int w, int threads) const {
  check_conv2d_input(s_, h, w, "Conv2d::wide_workspace_floats");
  check_stride_1(s_, "Conv2d::wide_workspace_floats");
  if (threads < 1)
    throw std::invalid_argument("Conv2d::wide_workspace_floats: threads " + std::to_string(threads) + " < 1");
  if (algo_ == ConvAlgo::winograd) return winograd_workspace_floats(s_, h, w, 1);
  // The padded input, then a slot of two panels per thread.
  return Im2col(s_, h, w).phase_floats() + 2 * size_t(threads) * s_.in_c * s_.kh * s_.kw * kNr;
}

void Conv2d::forward_wide(const float* in, int h, int w, int in_ld, const float* slope, float* out,
                          float* workspace, ThreadPool& pool) const {
  check_conv2d_input(s_, h, w, "Conv2d::forward_wide");
  check_stride_1(s_, "Conv2d::forward_wide");
  if (packed_.empty()) throw std::invalid_argument("Conv2d::forward_wide on a default-constructed conv");
  if (in_ld < w)
    throw std::invalid_argument("Conv2d::forward_wide: input rows " + std::to_string(in_ld) +
                                " floats apart, narrower than its " + std::to_string(w) + " columns");
  const Epilogue ep{bias_.empty() ? nullptr : bias_.data(), nullptr, false, slope};
  if (algo_ == ConvAlgo::winograd) {
    winograd_forward_strided(s_, packed_.data(), in, 1, h, w, in_ld, ep, out, workspace, pool);
    return;
  }
  // Unpadded, the input is its own phase plane (h x in_ld, junk columns and all): nothing
  // to copy.
  const bool in_place = s_.pad_h == 0 && s_.pad_w == 0;
  const Im2col im = in_place ? Im2col(s_, h, in_ld) : Im2col(s_, h, w, in_ld);
  const int m = s_.out_c, k = s_.in_c * s_.kh * s_.kw;
  const int n = s_.out_h(h) * im.wide_w(), nq = im.wide_panels(), mp = (m + kMr - 1) / kMr;
  const float* phases = in_place ? in : workspace;
  // One plane per input channel (wide_w() wide, padded rows included); the last panel's
  // junk columns may reach past the planes.
  const ptrdiff_t plane = ptrdiff_t{h + 2 * s_.pad_h} * im.wide_w();
  const size_t readable = size_t(s_.in_c) * plane;
  float* slots = workspace + (in_place ? 0 : im.phase_floats());
  if (!in_place)
    pool.parallel_for(s_.in_c, [&](int64_t c0, int64_t c1) {
      im.split_phases(in, static_cast<int>(c0), static_cast<int>(c1), workspace);
    });
  // Where the GEMM can read B in place (gemm_wide_pair), a pair of panels is never copied:
  // row (channel, ky, kx) of a wide panel starts at channel * plane + ky * wide_w() + kx.
  // The last panels, whose junk columns may reach past the planes, are packed.
  const int ntaps = s_.kh * s_.kw;
  int taps[kMaxInPlaceTaps];
  const bool taps_fit = ntaps <= kMaxInPlaceTaps;
  if (taps_fit)
    for (int t = 0; t < ntaps; ++t) taps[t] = t / s_.kw * im.wide_w() + t % s_.kw;
  const size_t last_row = taps_fit ? size_t(s_.in_c - 1) * plane + taps[ntaps - 1] : 0;
  const auto b_in_place = [&](int q) {
    return taps_fit && last_row + size_t(q + 2) * kNr <= readable &&
           gemm_wide_pair(packed_.data(), m, s_.in_c, phases, plane, taps, ntaps, q, 0, mp, n, out, ep);
  };
  // Each thread packs two panels into its own slot and runs every row tile over them while
  // they are in L1.
  const int threads = pool.size();
  const ptrdiff_t panel_floats = ptrdiff_t{k} * kNr;
  pool.parallel_for(threads, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      float* slot = slots + 2 * i * panel_floats;
      const int q1 = static_cast<int>(nq * (i + 1) / threads);
      for (int q = static_cast<int>(nq * i / threads); q < q1; q += 2) {
        if (q + 1 < q1 && b_in_place(q)) continue;
        im.pack_wide_panel(phases, readable, q, slot);
        if (q + 1 == q1) {
          gemm_column_panel(packed_.data(), m, k, slot, kNr, q, 0, mp, n, out, ep);
          break;
        }
        im.pack_wide_panel(phases, readable, q + 1, slot + panel_floats);
        gemm_column_pair(packed_.data(), m, k, slot, kNr, slot + panel_floats, kNr, q, 0, mp, n, out, ep);
      }
    }
  });
}

}  // namespace fg::nn
