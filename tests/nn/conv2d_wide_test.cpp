#include <gtest/gtest.h>

#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "nn/kernels.h"
#include "nn/mtcnn_kernels.h"
#include "tests/nn/gemm_kernels.h"
#include "tests/nn/random_data.h"

namespace fg::nn {
namespace {

using test::for_each_gemm_kernel;
using test::random_floats;
using test::scaled_max_error;

constexpr float kGuard = 12345.0f;  // written past each buffer's end, must survive
constexpr int kGuardFloats = 64;

Conv2dShape shape(int in_c, int out_c, int k, int pad) {
  Conv2dShape s;
  s.in_c = in_c;
  s.out_c = out_c;
  s.kh = s.kw = k;
  s.pad_h = s.pad_w = pad;
  return s;
}

// forward_wide's valid columns against conv2d_ref (then prelu_ref), on MTCNN's shapes and
// odd ones: thin and thick channels, rows shorter and longer than a panel, with and without
// padding, from plain inputs and from inputs with junk columns (a wide output fed on), im2col
// and Winograd.
void check_wide_matches_ref() {
  std::mt19937 rng(21);
  struct Case {
    int in_c, out_c, k, pad, h, w, in_junk, threads;
    bool bias, prelu;
    ConvAlgo algo = ConvAlgo::im2col;
  };
  constexpr ConvAlgo kWinograd = ConvAlgo::winograd;
  const Case cases[] = {
      {3, 10, 3, 0, 12, 12, 0, 1, true, true},   // PNet conv1 on its smallest input
      {3, 10, 3, 0, 31, 385, 0, 2, true, true},  // PNet conv1, a wide band
      {10, 16, 3, 0, 14, 191, 0, 2, true, true},
      {16, 32, 3, 0, 12, 189, 2, 2, true, true},  // PNet conv3 on conv2's wide output
      {3, 28, 3, 0, 24, 24, 0, 1, true, true},   // RNet
      {28, 48, 3, 0, 11, 11, 0, 1, true, true},
      {48, 64, 2, 0, 4, 4, 0, 1, true, true},
      {64, 128, 2, 0, 4, 4, 2, 2, true, false},  // ONet conv4
      {5, 7, 3, 1, 9, 13, 3, 2, false, true},    // padded, no bias
      {17, 13, 1, 0, 3, 5, 0, 1, true, false},   // 1x1
      {2, 3, 3, 1, 1, 1, 0, 1, true, true},      // one pixel: all padding but the centre
      {28, 48, 3, 0, 11, 11, 0, 1, true, true, kWinograd},  // RNet conv2
      {32, 64, 3, 0, 23, 23, 0, 1, true, true, kWinograd},  // ONet conv2
      {64, 64, 3, 0, 10, 10, 2, 2, true, true, kWinograd},  // ONet conv3 on a wide input
      {16, 32, 3, 0, 12, 189, 2, 2, true, true, kWinograd},
      {5, 7, 3, 1, 9, 13, 3, 2, false, true, kWinograd},  // padded, no bias
      {6, 5, 3, 1, 8, 12, 2, 1, true, true, kWinograd},   // padded, even sides
      {3, 4, 3, 0, 4, 3, 1, 1, true, false, kWinograd},   // one partial tile per row
  };
  for (const Case& c : cases) {
    const Conv2dShape s = shape(c.in_c, c.out_c, c.k, c.pad);
    const int oh = s.out_h(c.h), ow = s.out_w(c.w), ld = c.w + c.in_junk;
    const auto in = random_floats(size_t(c.in_c) * c.h * c.w, rng);
    const auto weight = random_floats(size_t(c.out_c) * c.in_c * c.k * c.k, rng);
    const auto bias = random_floats(c.out_c, rng);
    const auto slope = random_floats(c.out_c, rng, -1, 1);
    const float* b = c.bias ? bias.data() : nullptr;
    std::vector<float> ref(size_t(c.out_c) * oh * ow);
    conv2d_ref(s, in.data(), c.h, c.w, weight.data(), b, nullptr, Act::none, ref.data());
    if (c.prelu) prelu_ref(ref.data(), 1, c.out_c, oh * ow, slope.data(), ref.data());

    std::vector<float> strided(size_t(c.in_c) * c.h * ld, std::numeric_limits<float>::quiet_NaN());
    for (int r = 0; r < c.in_c * c.h; ++r)
      std::copy_n(in.begin() + size_t(r) * c.w, c.w, strided.begin() + size_t(r) * ld);
    const Conv2d conv(s, weight.data(), b, c.algo);
    ThreadPool pool(c.threads);
    const int ww = conv.wide_ld(c.w, ld);
    if (c.algo == kWinograd) {
      EXPECT_EQ(ww, ow) << "a Winograd conv writes compact rows";
    }
    const size_t n_wide = size_t(c.out_c) * oh * ww;
    std::vector<float> ws(conv.wide_workspace_floats(c.h, c.w, c.threads) + kGuardFloats,
                          std::numeric_limits<float>::quiet_NaN());
    std::fill(ws.end() - kGuardFloats, ws.end(), kGuard);
    std::vector<float> wide(n_wide + kGuardFloats, kGuard);
    conv.forward_wide(strided.data(), c.h, c.w, ld, c.prelu ? slope.data() : nullptr, wide.data(), ws.data(), pool);
    const std::string what = "in " + std::to_string(c.in_c) + " out " + std::to_string(c.out_c) + " k " +
                             std::to_string(c.k) + " pad " + std::to_string(c.pad) + " on " + std::to_string(c.h) +
                             "x" + std::to_string(c.w) + " row stride " + std::to_string(ld) + " threads " +
                             std::to_string(c.threads) + (c.algo == kWinograd ? " winograd" : " im2col");
    for (int g = 0; g < kGuardFloats; ++g) {
      ASSERT_EQ(ws[ws.size() - 1 - g], kGuard) << "workspace overrun: " << what;
      ASSERT_EQ(wide[n_wide + g], kGuard) << "output overrun: " << what;
    }
    std::vector<float> got(ref.size());
    for (int r = 0; r < c.out_c * oh; ++r) std::copy_n(wide.begin() + size_t(r) * ww, ow, got.begin() + size_t(r) * ow);
    EXPECT_LE(scaled_max_error(got.data(), ref.data(), ref.size()), 1e-5) << what;
  }
}

TEST(Conv2dWide, MatchesRef) {
  for_each_gemm_kernel([] { check_wide_matches_ref(); });
}

TEST(Conv2dWide, RefusesStridesAndNarrowRows) {
  Conv2dShape s = shape(3, 4, 3, 1);
  s.stride_h = s.stride_w = 2;
  std::mt19937 rng(1);
  const auto weight = random_floats(4 * 3 * 9, rng);
  const Conv2d conv(s, weight.data(), nullptr);
  ThreadPool pool(1);
  std::vector<float> in(3 * 8 * 8), out(4 * 8 * 10), ws(4096);
  EXPECT_THROW(conv.wide_workspace_floats(8, 8, 1), std::invalid_argument);
  EXPECT_THROW(conv.forward_wide(in.data(), 8, 8, 8, nullptr, out.data(), ws.data(), pool), std::invalid_argument);
  const Conv2d unstrided(shape(3, 4, 3, 1), weight.data(), nullptr);
  EXPECT_THROW(unstrided.forward_wide(in.data(), 8, 8, 7, nullptr, out.data(), ws.data(), pool), std::invalid_argument);
  const Conv2d winograd(shape(3, 4, 3, 1), weight.data(), nullptr, ConvAlgo::winograd);
  EXPECT_THROW(winograd.forward_wide(in.data(), 8, 8, 7, nullptr, out.data(), ws.data(), pool), std::invalid_argument);
}

// What MTCNN does with a wide output it does not feed to the next conv.
TEST(MaxPoolStrided, MatchesPoolOnTheKeptColumns) {
  std::mt19937 rng(6);
  PoolShape p;
  p.k = 3;
  p.stride = 2;
  p.ceil_mode = true;
  for (int w : {3, 9, 22, 46})
    for (int extra : {0, 2}) {
      const int c = 4, h = 11, ld = w + extra;
      const auto in = random_floats(size_t(c) * h * ld, rng);
      std::vector<float> plain(size_t(c) * h * w);
      for (size_t r = 0; r < size_t(c) * h; ++r) std::copy_n(in.begin() + r * ld, w, plain.begin() + r * w);
      const size_t n_out = size_t(c) * p.out_dim(h) * p.out_dim(w);
      std::vector<float> ref(n_out), got(n_out);
      max_pool2d_ref(p, plain.data(), c, h, w, ref.data());
      ThreadPool pool(2);
      max_pool2d(p, in.data(), c, h, w, ld, got.data(), pool);
      EXPECT_EQ(got, ref) << "w " << w << " ld " << ld;
    }
  std::vector<float> x(64), out(64);
  ThreadPool pool(1);
  EXPECT_THROW(max_pool2d(p, x.data(), 1, 4, 8, 7, out.data(), pool), std::invalid_argument);
}

}  // namespace
}  // namespace fg::nn
