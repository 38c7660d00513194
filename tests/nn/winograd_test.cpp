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
#include "nn/mtcnn_kernels.h"
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

Conv2dShape shape3x3(int in_c, int out_c, int pad_h = 1, int pad_w = 1) {
  Conv2dShape s;
  s.in_c = in_c;
  s.out_c = out_c;
  s.kh = s.kw = 3;
  s.pad_h = pad_h;
  s.pad_w = pad_w;
  return s;
}

struct Case {
  int in_c, out_c, h, w, batch, threads;
  bool bias, residual, relu;
  int pad_h = 1, pad_w = 1;
  int in_junk = 0;  // NaN columns after each input row
  bool slope = false;
};

std::string describe(const Case& c) {
  std::ostringstream os;
  os << "in_c=" << c.in_c << " out_c=" << c.out_c << " input=" << c.h << "x" << c.w << " pad=" << c.pad_h << "x"
     << c.pad_w << " in_junk=" << c.in_junk << " batch=" << c.batch << " threads=" << c.threads << " bias=" << c.bias
     << " residual=" << c.residual << " relu=" << c.relu << " slope=" << c.slope
     << " gemm=" << gemm_kernel_name(gemm_kernel());
  return os.str();
}

// The Winograd conv against conv2d_ref (then prelu_ref) image by image, with guards past the
// ends of the workspace and the output: through Conv2d::forward_batch, or through
// winograd_forward_strided when the input has junk columns or the epilogue a slope. A strided
// input ends with its last row's w columns, so reading past them is an overrun.
void check_case(const Case& c, std::mt19937& rng) {
  const Conv2dShape s = shape3x3(c.in_c, c.out_c, c.pad_h, c.pad_w);
  const int oh = s.out_h(c.h), ow = s.out_w(c.w), ld = c.w + c.in_junk;
  const size_t in_n = size_t(c.in_c) * c.h * c.w, out_n = size_t(c.out_c) * oh * ow;
  const auto in = random_floats(c.batch * in_n, rng);
  const auto weight = random_floats(size_t(c.out_c) * c.in_c * 9, rng);
  const auto bias = random_floats(c.out_c, rng);
  const auto residual = random_floats(c.batch * out_n, rng);
  const auto slope = random_floats(c.out_c, rng);
  const float* b = c.bias ? bias.data() : nullptr;
  const Act act = c.relu ? Act::relu : Act::none;

  const Conv2d conv(s, weight.data(), b, ConvAlgo::winograd);
  ThreadPool pool(c.threads);
  std::vector<float> ws(conv.workspace_floats(c.h, c.w, c.batch) + kGuardFloats,
                        std::numeric_limits<float>::quiet_NaN());
  std::fill(ws.end() - kGuardFloats, ws.end(), kGuard);
  std::vector<float> out(c.batch * out_n + kGuardFloats, std::numeric_limits<float>::quiet_NaN());
  std::fill(out.end() - kGuardFloats, out.end(), kGuard);
  if (c.in_junk == 0 && !c.slope) {
    conv.forward_batch(in.data(), c.batch, c.h, c.w, c.residual ? residual.data() : nullptr, act, out.data(),
                       ws.data(), pool);
  } else {
    const size_t rows = size_t(c.batch) * c.in_c * c.h;
    std::vector<float> strided(rows * ld - c.in_junk, std::numeric_limits<float>::quiet_NaN());
    for (size_t r = 0; r < rows; ++r) std::copy_n(in.begin() + r * c.w, c.w, strided.begin() + r * ld);
    std::vector<float> packed(winograd_packed_floats(s));
    winograd_pack(s, weight.data(), packed.data());
    const Epilogue ep{b, c.residual ? residual.data() : nullptr, c.relu, c.slope ? slope.data() : nullptr};
    winograd_forward_strided(s, packed.data(), strided.data(), c.batch, c.h, c.w, ld, ep, out.data(), ws.data(),
                             pool);
  }
  for (int i = 0; i < kGuardFloats; ++i) {
    ASSERT_EQ(ws[ws.size() - kGuardFloats + i], kGuard) << "workspace overrun: " << describe(c);
    ASSERT_EQ(out[c.batch * out_n + i], kGuard) << "output overrun: " << describe(c);
  }
  std::vector<float> ref(out_n);
  for (int i = 0; i < c.batch; ++i) {
    conv2d_ref(s, in.data() + i * in_n, c.h, c.w, weight.data(), b, c.residual ? residual.data() + i * out_n : nullptr,
               act, ref.data());
    if (c.slope) prelu_ref(ref.data(), 1, c.out_c, oh * ow, slope.data(), ref.data());
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
// random channel counts (not multiples of the GEMM's 6 rows or 16 columns), pads (0 where the
// side allows it, or 1), junk columns, epilogue, batch and threads.
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
      c.pad_h = h < 3 ? 1 : rng() % 2;
      c.pad_w = w < 3 ? 1 : rng() % 2;
      c.in_junk = rng() % 2 ? 3 : 0;
      c.slope = rng() % 2;
      check_case(c, rng);
    }
}

// MTCNN's Winograd candidates as Conv2d::forward_wide runs them: unpadded, PReLU after the
// bias, on inputs fed with junk columns (a wide output) or without (a pooled one).
TEST(Winograd, MatchesRefUnpaddedWithSlope) {
  std::mt19937 rng(9);
  const auto mtcnn = [](int in_c, int out_c, int side, int in_junk) {
    Case c{in_c, out_c, side, side, 1, 1, true, false, false};
    c.pad_h = c.pad_w = 0;
    c.in_junk = in_junk;
    c.slope = true;
    return c;
  };
  const Case cases[] = {
      mtcnn(28, 48, 11, 0),  // RNet conv2
      mtcnn(32, 64, 23, 0),  // ONet conv2
      mtcnn(64, 64, 10, 2),  // ONet conv3
      mtcnn(16, 32, 12, 5),  // PNet conv3 on a wide input
  };
  for_each_gemm_kernel([&] {
    for (const Case& c : cases) check_case(c, rng);
  });
}

TEST(Winograd, MatchesRefOnOddShapes) { for_each_gemm_kernel([] { check_odd_shapes(); }); }

void check_every_epilogue() {
  std::mt19937 rng(5);
  for (int flags = 0; flags < 16; ++flags)
    for (int batch : {1, 3})
      for (int threads : {1, 2}) {
        Case c{17, 5, 13, 7, batch, threads, bool(flags & 1), bool(flags & 2), bool(flags & 4)};
        c.slope = flags & 8;
        check_case(c, rng);
      }
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
  EXPECT_NO_THROW(Conv2d(shape3x3(4, 4, 0, 0), weight.data(), nullptr, ConvAlgo::winograd));
  EXPECT_NO_THROW(Conv2d(shape3x3(4, 4, 0, 1), weight.data(), nullptr, ConvAlgo::winograd));
  s.stride_h = s.stride_w = 2;
  EXPECT_TRUE(refused(s)) << "stride 2";
  s = shape3x3(4, 4);
  s.stride_w = 2;
  EXPECT_TRUE(refused(s)) << "stride 1x2";
  EXPECT_TRUE(refused(shape3x3(4, 4, 2, 2))) << "pad 2";
  EXPECT_TRUE(refused(shape3x3(4, 4, 1, 2))) << "pad 1x2";
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
