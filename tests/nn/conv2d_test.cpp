#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "nn/gemm.h"
#include "nn/kernels.h"
#include "tests/nn/gemm_kernels.h"
#include "tests/nn/random_data.h"

namespace fg::nn {
namespace {

using test::for_each_gemm_kernel;
using test::random_floats;
using test::scaled_max_error;

constexpr double kTolerance = 1e-5;  // scaled_max_error bound
constexpr float kGuard = 12345.0f;   // written past each buffer's end, must survive
constexpr int kGuardFloats = 64;

// --- the reference against obvious hand-computed numbers ---

std::vector<float> run_ref(const Conv2dShape& s, const std::vector<float>& in, int h, int w,
                           const std::vector<float>& weight, const float* bias,
                           const float* residual, Act act) {
  std::vector<float> out(size_t(s.out_c) * s.out_h(h) * s.out_w(w));
  conv2d_ref(s, in.data(), h, w, weight.data(), bias, residual, act, out.data());
  return out;
}

std::vector<float> run_fast(const Conv2dShape& s, const std::vector<float>& in, int h, int w,
                            const std::vector<float>& weight, const float* bias,
                            const float* residual, Act act, int threads) {
  Conv2d conv(s, weight.data(), bias);
  ThreadPool pool(threads);
  const size_t n_out = size_t(s.out_c) * s.out_h(h) * s.out_w(w);
  std::vector<float> ws(conv.workspace_floats(h, w) + kGuardFloats,
                        std::numeric_limits<float>::quiet_NaN());
  std::fill(ws.end() - kGuardFloats, ws.end(), kGuard);
  std::vector<float> out(n_out + kGuardFloats, std::numeric_limits<float>::quiet_NaN());
  std::fill(out.end() - kGuardFloats, out.end(), kGuard);
  conv.forward(in.data(), h, w, residual, act, out.data(), ws.data(), pool);
  for (int i = 0; i < kGuardFloats; ++i) {
    EXPECT_EQ(ws[ws.size() - kGuardFloats + i], kGuard) << "workspace overrun";
    EXPECT_EQ(out[n_out + i], kGuard) << "output overrun";
  }
  out.resize(n_out);
  return out;
}

const std::vector<float> k3x3 = {1, 2, 3, 4, 5, 6, 7, 8, 9};

TEST(Conv2dRef, TwoByTwoOnes) {
  Conv2dShape s;
  s.in_c = s.out_c = 1;
  s.kh = s.kw = 2;
  const std::vector<float> expect = {12, 16, 24, 28};
  EXPECT_EQ(run_ref(s, k3x3, 3, 3, {1, 1, 1, 1}, nullptr, nullptr, Act::none), expect);
  EXPECT_EQ(run_fast(s, k3x3, 3, 3, {1, 1, 1, 1}, nullptr, nullptr, Act::none, 1), expect);
}

TEST(Conv2dRef, ThreeByThreeOnesPadded) {
  Conv2dShape s;
  s.in_c = s.out_c = 1;
  s.kh = s.kw = 3;
  s.pad_h = s.pad_w = 1;
  const std::vector<float> expect = {12, 21, 16, 27, 45, 33, 24, 39, 28};
  const std::vector<float> ones(9, 1.0f);
  EXPECT_EQ(run_ref(s, k3x3, 3, 3, ones, nullptr, nullptr, Act::none), expect);
  EXPECT_EQ(run_fast(s, k3x3, 3, 3, ones, nullptr, nullptr, Act::none, 2), expect);
}

TEST(Conv2dRef, StrideTwoBiasRelu) {
  Conv2dShape s;
  s.in_c = s.out_c = 1;
  s.stride_h = s.stride_w = 2;
  const float bias = -3;
  EXPECT_EQ(run_ref(s, k3x3, 3, 3, {2}, &bias, nullptr, Act::none),
            (std::vector<float>{-1, 3, 11, 15}));
  EXPECT_EQ(run_ref(s, k3x3, 3, 3, {2}, &bias, nullptr, Act::relu),
            (std::vector<float>{0, 3, 11, 15}));
  EXPECT_EQ(run_fast(s, k3x3, 3, 3, {2}, &bias, nullptr, Act::relu, 1),
            (std::vector<float>{0, 3, 11, 15}));
}

TEST(Conv2dRef, ChannelsMixAndResidual) {
  Conv2dShape s;
  s.in_c = s.out_c = 2;
  const std::vector<float> in = {1, 2, 3, 4, 10, 20, 30, 40};
  const std::vector<float> weight = {1, 0.5f, -1, 0};  // OIHW with 1x1 kernels
  const std::vector<float> residual(8, 1.0f);
  const std::vector<float> expect = {7, 13, 19, 25, 0, -1, -2, -3};
  EXPECT_EQ(run_ref(s, in, 2, 2, weight, nullptr, residual.data(), Act::none), expect);
  EXPECT_EQ(run_fast(s, in, 2, 2, weight, nullptr, residual.data(), Act::none, 2), expect);
}

// --- the fast path against the reference ---

struct ConvCase {
  int in_c, out_c, kh, kw, stride_h, stride_w, pad_h, pad_w, h, w;
  bool bias, residual, relu;
  int threads;
};

std::string describe(const ConvCase& c) {
  std::ostringstream os;
  os << "in_c=" << c.in_c << " out_c=" << c.out_c << " kernel=" << c.kh << "x" << c.kw
     << " stride=" << c.stride_h << "x" << c.stride_w << " pad=" << c.pad_h << "x" << c.pad_w
     << " input=" << c.h << "x" << c.w << " bias=" << c.bias << " residual=" << c.residual
     << " relu=" << c.relu << " threads=" << c.threads;
  return os.str();
}

Conv2dShape shape_of(const ConvCase& c) {
  Conv2dShape s;
  s.in_c = c.in_c;
  s.out_c = c.out_c;
  s.kh = c.kh;
  s.kw = c.kw;
  s.stride_h = c.stride_h;
  s.stride_w = c.stride_w;
  s.pad_h = c.pad_h;
  s.pad_w = c.pad_w;
  return s;
}

void check_case(const ConvCase& c, std::mt19937& rng) {
  const Conv2dShape s = shape_of(c);
  const int oh = s.out_h(c.h), ow = s.out_w(c.w);
  const auto in = random_floats(size_t(c.in_c) * c.h * c.w, rng);
  const auto weight = random_floats(size_t(c.out_c) * c.in_c * c.kh * c.kw, rng);
  const auto bias = random_floats(c.out_c, rng);
  const auto residual = random_floats(size_t(c.out_c) * oh * ow, rng);
  const float* b = c.bias ? bias.data() : nullptr;
  const float* r = c.residual ? residual.data() : nullptr;
  const Act act = c.relu ? Act::relu : Act::none;
  const auto ref = run_ref(s, in, c.h, c.w, weight, b, r, act);
  const auto got = run_fast(s, in, c.h, c.w, weight, b, r, act, c.threads);
  EXPECT_LE(scaled_max_error(got.data(), ref.data(), ref.size()), kTolerance) << describe(c);
}

TEST(Conv2d, MatchesRefOnNetworkLikeShapes) {
  std::mt19937 rng(1);
  const ConvCase cases[] = {
      {3, 64, 7, 7, 2, 2, 3, 3, 37, 37, true, false, true, 2},       // conv1, smaller map
      {64, 64, 1, 1, 1, 1, 0, 0, 28, 28, true, false, true, 2},      // direct, whole panels
      {64, 256, 1, 1, 1, 1, 0, 0, 14, 14, true, true, true, 2},      // direct, 4-column tail
      {256, 64, 1, 1, 1, 1, 0, 0, 7, 7, true, false, true, 1},       // direct, 1-column tail
      {128, 128, 3, 3, 1, 1, 1, 1, 14, 14, true, false, true, 2},
      {128, 128, 3, 3, 2, 2, 1, 1, 15, 15, true, false, true, 2},
      {512, 67, 1, 1, 2, 2, 0, 0, 7, 7, true, true, false, 2},       // downsample
      {96, 50, 3, 3, 1, 1, 1, 1, 4, 4, false, true, true, 2},        // 4x4 map, one panel
      {13, 7, 3, 3, 1, 1, 0, 0, 3, 3, true, false, false, 1},        // 1x1 output
      {7, 5, 1, 1, 1, 1, 0, 0, 1, 1, true, true, true, 2},           // 1x1 everything
      {3, 10, 3, 3, 1, 1, 0, 0, 47, 61, true, false, false, 2},      // MTCNN-like
      {61, 13, 7, 7, 2, 2, 3, 3, 23, 23, false, false, false, 2},
  };
  for_each_gemm_kernel([&] {
    for (const auto& c : cases) check_case(c, rng);
  });
}

void check_random_odd_shapes() {
  std::mt19937 rng(7);
  const int in_cs[] = {1, 3, 7, 13, 61};
  const int out_cs[] = {1, 5, 6, 13, 16, 29, 61, 101};
  const int ks[] = {1, 2, 3, 7};
  const int pads[] = {0, 1, 3};
  const int sizes[] = {1, 2, 5, 9, 17, 23};
  auto pick = [&](const auto& a) { return a[rng() % std::size(a)]; };
  int run = 0;
  while (run < 200) {
    ConvCase c{};
    c.in_c = pick(in_cs);
    c.out_c = pick(out_cs);
    c.kh = pick(ks);
    c.kw = rng() % 4 ? c.kh : pick(ks);
    c.stride_h = 1 + rng() % 2;
    c.stride_w = rng() % 4 ? c.stride_h : 1 + rng() % 2;
    c.pad_h = pick(pads);
    c.pad_w = rng() % 4 ? c.pad_h : pick(pads);
    c.h = pick(sizes);
    c.w = rng() % 4 ? c.h : pick(sizes);
    c.bias = rng() % 2;
    c.residual = rng() % 2;
    c.relu = rng() % 2;
    c.threads = 1 + rng() % 2;
    const Conv2dShape s = shape_of(c);
    if (c.h + 2 * c.pad_h < c.kh || c.w + 2 * c.pad_w < c.kw) continue;
    const double macs = double(c.out_c) * s.out_h(c.h) * s.out_w(c.w) * c.in_c * c.kh * c.kw;
    if (macs > 2e6) continue;
    check_case(c, rng);
    ++run;
  }
}

void check_residual_may_be_output() {
  std::mt19937 rng(4);
  for (int k : {1, 3}) {
    Conv2dShape s;
    s.in_c = 13;
    s.out_c = 17;
    s.kh = s.kw = k;
    s.pad_h = s.pad_w = k / 2;
    const int h = 7, w = 7;
    const auto in = random_floats(size_t(s.in_c) * h * w, rng);
    const auto weight = random_floats(size_t(s.out_c) * s.in_c * k * k, rng);
    auto out = random_floats(size_t(s.out_c) * h * w, rng);
    const auto ref = run_ref(s, in, h, w, weight, nullptr, out.data(), Act::relu);
    const Conv2d conv(s, weight.data(), nullptr);
    std::vector<float> ws(conv.workspace_floats(h, w));
    ThreadPool pool(2);
    conv.forward(in.data(), h, w, out.data(), Act::relu, out.data(), ws.data(), pool);
    EXPECT_LE(scaled_max_error(out.data(), ref.data(), ref.size()), kTolerance) << "k=" << k;
  }
}

TEST(Conv2d, MatchesRefOnRandomOddShapes) {
  for_each_gemm_kernel([] { check_random_odd_shapes(); });
}

// A batch through forward_batch gives, image by image, exactly what forward gives: the same
// tiles sum in the same order, whether the images share a pass over the weights or not.
void check_batch_equals_images() {
  std::mt19937 rng(11);
  struct Case {
    int in_c, out_c, k, stride, pad, side, threads;
    bool residual;
    int batch = 3;
  };
  const Case cases[] = {
      {61, 101, 1, 1, 0, 7, 1, true},   // 1x1 on the input, 49 columns: a tail panel per image
      {61, 101, 1, 1, 0, 7, 2, true, 7},  // 7 images, 2 threads: odd panels paired across images, one alone
      {19, 43, 1, 1, 0, 6, 1, true, 2},   // 36 columns: a 4-column tail per image
      {29, 37, 1, 1, 0, 4, 2, false},   // 1x1, 16 columns: one panel per image, pairs across images
      {17, 23, 1, 1, 0, 13, 2, true},   // 169 columns: the odd panel left over is the 9-column tail
      {13, 29, 3, 1, 1, 5, 2, true},    // im2col, more rows than columns: panels packed first
      {7, 45, 3, 2, 1, 9, 1, false},    // strided im2col
      {3, 6, 3, 1, 1, 23, 2, true},     // many columns: panels packed as the threads go
      {5, 13, 2, 1, 0, 17, 1, false},
  };
  for (const Case& c : cases) {
    Conv2dShape s;
    s.in_c = c.in_c;
    s.out_c = c.out_c;
    s.kh = s.kw = c.k;
    s.stride_h = s.stride_w = c.stride;
    s.pad_h = s.pad_w = c.pad;
    const int h = c.side, batch = c.batch;
    const size_t in_n = size_t(s.in_c) * h * h, out_n = size_t(s.out_c) * s.out_h(h) * s.out_w(h);
    const auto in = random_floats(batch * in_n, rng);
    const auto weight = random_floats(size_t(s.out_c) * s.in_c * c.k * c.k, rng);
    const auto bias = random_floats(s.out_c, rng);
    const auto residual = random_floats(batch * out_n, rng);
    const Conv2d conv(s, weight.data(), bias.data());
    ThreadPool pool(c.threads);
    std::vector<float> expect(batch * out_n), got(batch * out_n);
    std::vector<float> ws(conv.workspace_floats(h, h));
    for (int i = 0; i < batch; ++i)
      conv.forward(in.data() + i * in_n, h, h, c.residual ? residual.data() + i * out_n : nullptr, Act::relu,
                   expect.data() + i * out_n, ws.data(), pool);
    std::vector<float> batch_ws(conv.workspace_floats(h, h, batch) + kGuardFloats, kGuard);
    conv.forward_batch(in.data(), batch, h, h, c.residual ? residual.data() : nullptr, Act::relu, got.data(),
                       batch_ws.data(), pool);
    const std::string what = "in " + std::to_string(c.in_c) + " out " + std::to_string(c.out_c) + " k " +
                             std::to_string(c.k) + " stride " + std::to_string(c.stride) + " on " + std::to_string(h);
    EXPECT_EQ(got, expect) << what;
    for (int g = 0; g < kGuardFloats; ++g) ASSERT_EQ(batch_ws[batch_ws.size() - 1 - g], kGuard) << what;
  }
}

TEST(Conv2d, ForwardBatchEqualsForwardPerImage) {
  for_each_gemm_kernel([] { check_batch_equals_images(); });
}

TEST(Conv2d, PicksAvx512TilesWhenTheCpuHasThem) {
  EXPECT_EQ(gemm_kernel() == GemmKernel::avx512, gemm_kernel_supported(GemmKernel::avx512))
      << gemm_kernel_name(gemm_kernel());
}

TEST(Conv2d, ResidualMayBeTheOutputBuffer) {
  for_each_gemm_kernel([] { check_residual_may_be_output(); });
}

TEST(Conv2d, SharedByThreadsWithOwnWorkspaces) {
  std::mt19937 rng(3);
  Conv2dShape s;
  s.in_c = 13;
  s.out_c = 29;
  s.kh = s.kw = 3;
  s.pad_h = s.pad_w = 1;
  const int h = 11, w = 9;
  const auto in = random_floats(size_t(s.in_c) * h * w, rng);
  const auto weight = random_floats(size_t(s.out_c) * s.in_c * 9, rng);
  const auto ref = run_ref(s, in, h, w, weight, nullptr, nullptr, Act::none);
  const Conv2d conv(s, weight.data(), nullptr);
  std::vector<std::vector<float>> outs(2, std::vector<float>(ref.size()));
  std::vector<std::thread> threads;
  for (auto& out : outs)
    threads.emplace_back([&] {
      ThreadPool pool(1);
      std::vector<float> ws(conv.workspace_floats(h, w));
      for (int rep = 0; rep < 20; ++rep)
        conv.forward(in.data(), h, w, nullptr, Act::none, out.data(), ws.data(), pool);
    });
  for (auto& t : threads) t.join();
  for (const auto& out : outs)
    EXPECT_LE(scaled_max_error(out.data(), ref.data(), ref.size()), kTolerance);
}

TEST(Conv2d, RejectsBadShapes) {
  Conv2dShape s;
  s.in_c = 0;
  s.out_c = 4;
  const std::vector<float> weight(4 * 2 * 3 * 3, 1.0f);  // fits the 3x3 conv built below
  EXPECT_THROW(Conv2d(s, weight.data(), nullptr), std::invalid_argument);
  s.in_c = 2;
  s.stride_h = 0;
  EXPECT_THROW(Conv2d(s, weight.data(), nullptr), std::invalid_argument);
  s.stride_h = 1;
  EXPECT_THROW(Conv2d(s, nullptr, nullptr), std::invalid_argument);

  s.kh = s.kw = 3;
  const Conv2d conv(s, weight.data(), nullptr);
  std::vector<float> in(8), out(64), ws(1024);
  ThreadPool pool(1);
  EXPECT_THROW(conv.workspace_floats(2, 2), std::invalid_argument);
  EXPECT_THROW(conv.forward(in.data(), 2, 2, nullptr, Act::none, out.data(), ws.data(), pool),
               std::invalid_argument);
  EXPECT_THROW(conv2d_ref(s, in.data(), 2, 2, weight.data(), nullptr, nullptr, Act::none,
                          out.data()),
               std::invalid_argument);
  EXPECT_THROW(Conv2d().forward(in.data(), 2, 2, nullptr, Act::none, out.data(), ws.data(), pool),
               std::invalid_argument);
}

}  // namespace
}  // namespace fg::nn
