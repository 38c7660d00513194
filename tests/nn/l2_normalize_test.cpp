#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "nn/kernels.h"
#include "tests/nn/random_data.h"

namespace fg::nn {
namespace {

TEST(L2NormalizeRef, HandComputed) {
  std::vector<float> x = {3, 4, 0, 0, 0, -2};  // rows of 2: a 3-4-5 triangle, zeros, one axis
  l2_normalize_ref(x.data(), 3, 2);
  EXPECT_EQ(x, (std::vector<float>{0.6f, 0.8f, 0, 0, 0, -1}));
  std::vector<float> fast = {3, 4, 0, 0, 0, -2};
  l2_normalize(fast.data(), 3, 2);
  EXPECT_EQ(fast, x);
}

TEST(L2Normalize, MatchesRef) {
  std::mt19937 rng(13);
  for (int n : {1, 7, 8, 15, 16, 17, 128, 512, 513})
    for (float scale : {1e-8f, 1.0f, 1e6f}) {
      const int rows = 3;
      auto ref = test::random_floats(size_t(rows) * n, rng, -scale, scale);
      auto got = ref;
      l2_normalize_ref(ref.data(), rows, n);
      l2_normalize(got.data(), rows, n);
      EXPECT_LE(test::scaled_max_error(got.data(), ref.data(), ref.size()), 1e-5)
          << "rows=" << rows << " n=" << n << " value scale=" << scale;
    }
}

}  // namespace
}  // namespace fg::nn
