#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

#include "nn/mtcnn_kernels.h"
#include "tests/nn/random_data.h"

namespace fg::nn {
namespace {

using test::random_floats;
using test::scaled_max_error;

TEST(SoftmaxRef, HandComputed) {
  // [c=2][inner=2]: position 0 has equal logits (1/2 each); position 1 a gap of ln 3 (1/4, 3/4).
  const std::vector<float> in = {0, 5, 0, 5 + std::log(3.0f)};
  std::vector<float> out(4);
  softmax_ref(in.data(), 1, 2, 2, out.data());
  EXPECT_FLOAT_EQ(out[0], 0.5f);
  EXPECT_FLOAT_EQ(out[2], 0.5f);
  EXPECT_FLOAT_EQ(out[1], 0.25f);
  EXPECT_FLOAT_EQ(out[3], 0.75f);
}

TEST(SoftmaxRef, LargeLogitsStayFinite) {
  const std::vector<float> in = {1000, -1000};
  std::vector<float> out(2);
  softmax_ref(in.data(), 1, 2, 1, out.data());
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], 0.0f);
}

TEST(Softmax, MatchesRef) {
  std::mt19937 rng(11);
  for (int outer : {1, 4})
    for (int c : {1, 2, 3, 10})
      for (int inner : {1, 7, 8, 9, 33, 1000})
        for (float spread : {1.0f, 30.0f}) {
          const size_t n = static_cast<size_t>(outer) * c * inner;
          const auto in = random_floats(n, rng, -spread, spread);
          std::vector<float> ref(n), got(n);
          softmax_ref(in.data(), outer, c, inner, ref.data());
          softmax(in.data(), outer, c, inner, got.data());
          EXPECT_LE(scaled_max_error(got.data(), ref.data(), n), 1e-6)
              << "outer=" << outer << " c=" << c << " inner=" << inner << " spread=" << spread;
          got = in;
          softmax(got.data(), outer, c, inner, got.data());  // in place
          EXPECT_LE(scaled_max_error(got.data(), ref.data(), n), 1e-6)
              << "in place, outer=" << outer << " c=" << c << " inner=" << inner;
        }
}

TEST(Softmax, RefusesBadShapes) {
  std::vector<float> x(4);
  EXPECT_THROW(softmax(x.data(), 1, 0, 4, x.data()), std::invalid_argument);
  EXPECT_THROW(softmax_ref(x.data(), -1, 2, 2, x.data()), std::invalid_argument);
}

}  // namespace
}  // namespace fg::nn
