#include <gtest/gtest.h>

#include <random>
#include <stdexcept>
#include <vector>

#include "nn/mtcnn_kernels.h"
#include "tests/nn/random_data.h"

namespace fg::nn {
namespace {

using test::random_floats;

TEST(PreluRef, HandComputed) {
  // [outer=1][c=2][inner=3]: channel 0 slope 0.5, channel 1 slope -2.
  const std::vector<float> in = {-2, 0, 3, -1, 4, -0.5f};
  const std::vector<float> slope = {0.5f, -2};
  std::vector<float> out(6);
  prelu_ref(in.data(), 1, 2, 3, slope.data(), out.data());
  EXPECT_EQ(out, (std::vector<float>{-1, 0, 3, 2, 4, 1}));
}

// Odd shapes: planes shorter and longer than a vector, dense rows (inner = 1) with channel
// counts around the vector width, in place and out of place.
TEST(Prelu, MatchesRefExactly) {
  std::mt19937 rng(3);
  for (int outer : {1, 3})
    for (int c : {1, 7, 10, 17, 28})
      for (int inner : {1, 5, 8, 13, 121})
        for (bool in_place : {false, true}) {
          const size_t n = static_cast<size_t>(outer) * c * inner;
          const auto in = random_floats(n, rng, -3, 3);
          const auto slope = random_floats(c, rng, -1, 1);
          std::vector<float> ref(n), got = in_place ? in : std::vector<float>(n);
          prelu_ref(in.data(), outer, c, inner, slope.data(), ref.data());
          prelu(in_place ? got.data() : in.data(), outer, c, inner, slope.data(), got.data());
          EXPECT_EQ(got, ref) << "outer=" << outer << " c=" << c << " inner=" << inner << " in_place=" << in_place;
        }
}

TEST(Prelu, RefusesBadShapes) {
  std::vector<float> x(4), slope(2);
  EXPECT_THROW(prelu(x.data(), 1, 0, 2, slope.data(), x.data()), std::invalid_argument);
  EXPECT_THROW(prelu(x.data(), 1, 2, 0, slope.data(), x.data()), std::invalid_argument);
  EXPECT_THROW(prelu_ref(x.data(), 1, 2, 2, nullptr, x.data()), std::invalid_argument);
}

}  // namespace
}  // namespace fg::nn
