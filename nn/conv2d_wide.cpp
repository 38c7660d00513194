#include <stdexcept>
#include <string>

#include "nn/conv2d_check.h"
#include "nn/gemm.h"
#include "nn/im2col.h"
#include "nn/kernels.h"

namespace fg::nn {
namespace {

void check_stride_1(const Conv2dShape& s, const char* who) {
  if (s.stride_h != 1 || s.stride_w != 1)
    throw std::invalid_argument(std::string(who) + ": stride " + std::to_string(s.stride_h) + "x" +
                                std::to_string(s.stride_w) + ", expected 1x1 for " + describe(s));
}

}  // namespace

size_t Conv2d::wide_workspace_floats(int h, int w, int threads) const {
  check_conv2d_input(s_, h, w, "Conv2d::wide_workspace_floats");
  check_stride_1(s_, "Conv2d::wide_workspace_floats");
  if (threads < 1) throw std::invalid_argument("Conv2d::wide_workspace_floats: threads " + std::to_string(threads) + " < 1");
  // The padded input, then one panel slot per thread.
  return Im2col(s_, h, w).phase_floats() + size_t(threads) * s_.in_c * s_.kh * s_.kw * kNr;
}

void Conv2d::forward_wide(const float* in, int h, int w, Act act, float* out, float* workspace,
                          ThreadPool& pool) const {
  check_conv2d_input(s_, h, w, "Conv2d::forward_wide");
  check_stride_1(s_, "Conv2d::forward_wide");
  if (packed_.empty()) throw std::invalid_argument("Conv2d::forward_wide on a default-constructed conv");
  const Im2col im(s_, h, w);
  const int m = s_.out_c, k = s_.in_c * s_.kh * s_.kw;
  const int n = s_.out_h(h) * im.wide_w(), nq = im.wide_panels(), mp = (m + kMr - 1) / kMr;
  const Epilogue ep{bias_.empty() ? nullptr : bias_.data(), nullptr, act == Act::relu};
  float* phases = workspace;
  float* slots = workspace + im.phase_floats();
  pool.parallel_for(s_.in_c, [&](int64_t c0, int64_t c1) {
    im.split_phases(in, static_cast<int>(c0), static_cast<int>(c1), phases);
  });
  // Each thread packs a panel into its own slot and runs every row tile over it while it is
  // in L1.
  const int threads = pool.size();
  pool.parallel_for(threads, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      float* slot = slots + i * k * kNr;
      for (int q = static_cast<int>(nq * i / threads); q < nq * (i + 1) / threads; ++q) {
        im.pack_wide_panel(phases, q, slot);
        gemm_column_panel(packed_.data(), m, k, slot, kNr, q, 0, mp, n, out, ep);
      }
    }
  });
}

}  // namespace fg::nn
