#include <gtest/gtest.h>

#include <cstdio>
#include <limits>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "nn/gemm.h"
#include "nn/kernels.h"
#include "nn/winograd.h"
#include "tests/nn/gemm_kernels.h"
#include "tests/nn/random_data.h"

namespace fg::nn {
namespace {

using test::for_each_gemm_kernel;
using test::random_floats;
using test::scaled_max_error;

constexpr double kTolerance = 1e-5;  // scaled_max_error bound, as for the im2col path
constexpr float kGuard = 12345.0f;   // written past each buffer's end, must survive
constexpr int kGuardFloats = 64;

Conv2dShape shape3x3(int in_c, int out_c) {
  Conv2dShape s;
  s.in_c = in_c;
  s.out_c = out_c;
  s.kh = s.kw = 3;
  s.pad_h = s.pad_w = 1;
  return s;
}

struct Case {
  int in_c, out_c, h, w, batch, threads;
  bool bias, residual, relu;
};

std::string describe(const Case& c) {
  std::ostringstream os;
  os << "in_c=" << c.in_c << " out_c=" << c.out_c << " input=" << c.h << "x" << c.w << " batch=" << c.batch
     << " threads=" << c.threads << " bias=" << c.bias << " residual=" << c.residual << " relu=" << c.relu
     << " gemm=" << gemm_kernel_name(gemm_kernel());
  return os.str();
}

// The Winograd conv's forward_batch against conv2d_ref image by image, with guards past the
// ends of the workspace and the output.
void check_case(const Case& c, std::mt19937& rng) {
  const Conv2dShape s = shape3x3(c.in_c, c.out_c);
  const size_t in_n = size_t(c.in_c) * c.h * c.w, out_n = size_t(c.out_c) * c.h * c.w;
  const auto in = random_floats(c.batch * in_n, rng);
  const auto weight = random_floats(size_t(c.out_c) * c.in_c * 9, rng);
  const auto bias = random_floats(c.out_c, rng);
  const auto residual = random_floats(c.batch * out_n, rng);
  const float* b = c.bias ? bias.data() : nullptr;
  const Act act = c.relu ? Act::relu : Act::none;

  const Conv2d conv(s, weight.data(), b, ConvAlgo::winograd);
  ThreadPool pool(c.threads);
  std::vector<float> ws(conv.workspace_floats(c.h, c.w, c.batch) + kGuardFloats,
                        std::numeric_limits<float>::quiet_NaN());
  std::fill(ws.end() - kGuardFloats, ws.end(), kGuard);
  std::vector<float> out(c.batch * out_n + kGuardFloats, std::numeric_limits<float>::quiet_NaN());
  std::fill(out.end() - kGuardFloats, out.end(), kGuard);
  conv.forward_batch(in.data(), c.batch, c.h, c.w, c.residual ? residual.data() : nullptr, act, out.data(),
                     ws.data(), pool);
  for (int i = 0; i < kGuardFloats; ++i) {
    ASSERT_EQ(ws[ws.size() - kGuardFloats + i], kGuard) << "workspace overrun: " << describe(c);
    ASSERT_EQ(out[c.batch * out_n + i], kGuard) << "output overrun: " << describe(c);
  }
  std::vector<float> ref(out_n);
  for (int i = 0; i < c.batch; ++i) {
    conv2d_ref(s, in.data() + i * in_n, c.h, c.w, weight.data(), b, c.residual ? residual.data() + i * out_n : nullptr,
               act, ref.data());
    EXPECT_LE(scaled_max_error(out.data() + i * out_n, ref.data(), out_n), kTolerance)
        << describe(c) << " image " << i;
  }
}

TEST(Winograd, MatchesRefOnNetworkShapes) {
  std::mt19937 rng(1);
  const Case cases[] = {
      {64, 64, 28, 28, 1, 2, true, false, true},    // ResNet-50 stage 1
      {128, 128, 14, 14, 1, 1, true, false, true},  // stage 2
      {256, 256, 7, 7, 4, 2, true, false, true},    // stage 3, a chunk of 4 images
      {512, 512, 4, 4, 1, 2, true, true, true},     // stage 4
  };
  for_each_gemm_kernel([&] {
    for (const Case& c : cases) check_case(c, rng);
  });
}

// Every pair of sides (odd ones leave partial tiles at the right and bottom edges), each with
// random channel counts (not multiples of the GEMM's 6 rows or 16 columns), epilogue, batch
// and threads.
void check_odd_shapes() {
  std::mt19937 rng(7);
  const int sides[] = {1, 2, 3, 5, 7, 13, 28};
  const int channels[] = {1, 5, 17, 64};
  const auto pick = [&](const auto& a) { return a[rng() % std::size(a)]; };
  for (int h : sides)
    for (int w : sides) {
      Case c{};
      c.in_c = pick(channels);
      c.out_c = pick(channels);
      c.h = h;
      c.w = w;
      c.batch = rng() % 2 ? 3 : 1;
      c.threads = 1 + rng() % 2;
      c.bias = rng() % 2;
      c.residual = rng() % 2;
      c.relu = rng() % 2;
      check_case(c, rng);
    }
}

TEST(Winograd, MatchesRefOnOddShapes) { for_each_gemm_kernel([] { check_odd_shapes(); }); }

void check_every_epilogue() {
  std::mt19937 rng(5);
  for (int flags = 0; flags < 8; ++flags)
    for (int batch : {1, 3})
      for (int threads : {1, 2}) check_case({17, 5, 13, 7, batch, threads, bool(flags & 1), bool(flags & 2), bool(flags & 4)}, rng);
}

TEST(Winograd, MatchesRefWithEveryEpilogue) { for_each_gemm_kernel([] { check_every_epilogue(); }); }

// The contract of Conv2d::forward_batch: a batch gives exactly what its images give one at a
// time, on any number of threads.
void check_batch_equals_images() {
  std::mt19937 rng(11);
  const Conv2dShape s = shape3x3(17, 29);
  const int h = 9, w = 5, batch = 3;
  const size_t in_n = size_t(s.in_c) * h * w, out_n = size_t(s.out_c) * h * w;
  const auto in = random_floats(batch * in_n, rng);
  const auto weight = random_floats(size_t(s.out_c) * s.in_c * 9, rng);
  const auto bias = random_floats(s.out_c, rng);
  const auto residual = random_floats(batch * out_n, rng);
  const Conv2d conv(s, weight.data(), bias.data(), ConvAlgo::winograd);
  std::vector<float> expect(batch * out_n);
  ThreadPool one(1);
  std::vector<float> ws(conv.workspace_floats(h, w));
  for (int i = 0; i < batch; ++i)
    conv.forward(in.data() + i * in_n, h, w, residual.data() + i * out_n, Act::relu, expect.data() + i * out_n,
                 ws.data(), one);
  ThreadPool two(2);
  std::vector<float> got(batch * out_n), batch_ws(conv.workspace_floats(h, w, batch));
  conv.forward_batch(in.data(), batch, h, w, residual.data(), Act::relu, got.data(), batch_ws.data(), two);
  EXPECT_EQ(got, expect) << gemm_kernel_name(gemm_kernel());
}

TEST(Winograd, ForwardBatchEqualsForwardPerImage) { for_each_gemm_kernel([] { check_batch_equals_images(); }); }

TEST(Winograd, ResidualMayBeTheOutputBuffer) {
  std::mt19937 rng(4);
  const Conv2dShape s = shape3x3(13, 17);
  const int h = 7, w = 7;
  const auto in = random_floats(size_t(s.in_c) * h * w, rng);
  const auto weight = random_floats(size_t(s.out_c) * s.in_c * 9, rng);
  auto out = random_floats(size_t(s.out_c) * h * w, rng);
  std::vector<float> ref(out.size());
  conv2d_ref(s, in.data(), h, w, weight.data(), nullptr, out.data(), Act::relu, ref.data());
  const Conv2d conv(s, weight.data(), nullptr, ConvAlgo::winograd);
  std::vector<float> ws(conv.workspace_floats(h, w));
  ThreadPool pool(2);
  conv.forward(in.data(), h, w, out.data(), Act::relu, out.data(), ws.data(), pool);
  EXPECT_LE(scaled_max_error(out.data(), ref.data(), ref.size()), kTolerance);
}

TEST(Winograd, RefusesUnsupportedShapes) {
  const std::vector<float> weight(4 * 4 * 5 * 5, 1.0f);
  const auto refused = [&](Conv2dShape s) {
    try {
      Conv2d conv(s, weight.data(), nullptr, ConvAlgo::winograd);
    } catch (const std::invalid_argument& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("Winograd"), std::string::npos) << what;
      EXPECT_NE(what.find("kernel=" + std::to_string(s.kh) + "x" + std::to_string(s.kw)), std::string::npos) << what;
      return true;
    }
    return false;
  };
  Conv2dShape s = shape3x3(4, 4);
  EXPECT_NO_THROW(Conv2d(s, weight.data(), nullptr, ConvAlgo::winograd));
  s.stride_h = s.stride_w = 2;
  EXPECT_TRUE(refused(s)) << "stride 2";
  s = shape3x3(4, 4);
  s.stride_w = 2;
  EXPECT_TRUE(refused(s)) << "stride 1x2";
  s = shape3x3(4, 4);
  s.pad_h = s.pad_w = 0;
  EXPECT_TRUE(refused(s)) << "pad 0";
  s = shape3x3(4, 4);
  s.pad_w = 2;
  EXPECT_TRUE(refused(s)) << "pad 1x2";
  s = shape3x3(4, 4);
  s.kh = s.kw = 1;
  s.pad_h = s.pad_w = 0;
  EXPECT_TRUE(refused(s)) << "1x1";
  s.kh = s.kw = 5;
  s.pad_h = s.pad_w = 2;
  EXPECT_TRUE(refused(s)) << "5x5";
  s = shape3x3(4, 4);
  s.kw = 1;
  EXPECT_TRUE(refused(s)) << "3x1";
  // Invalid shapes and null weights are refused as for im2col.
  s = shape3x3(0, 4);
  EXPECT_THROW(Conv2d(s, weight.data(), nullptr, ConvAlgo::winograd), std::invalid_argument);
  EXPECT_THROW(Conv2d(shape3x3(4, 4), nullptr, nullptr, ConvAlgo::winograd), std::invalid_argument);
}

}  // namespace
}  // namespace fg::nn
