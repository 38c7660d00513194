#include <gtest/gtest.h>

#include <random>
#include <stdexcept>
#include <vector>

#include "nn/kernels.h"
#include "tests/nn/random_data.h"

namespace fg::nn {
namespace {

using test::random_floats;
using test::scaled_max_error;

TEST(LinearRef, HandComputed) {
  const std::vector<float> w = {1, 2, 3, -1, 0, 1};  // [out=2][in=3]
  const std::vector<float> b = {0.5f, -2};
  const std::vector<float> x = {1, 1, 1, 2, 0, -1};  // batch 2
  std::vector<float> y(4);
  linear_ref(x.data(), 2, 3, 2, w.data(), b.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{6.5f, -2, -0.5f, -5}));
  Linear lin(3, 2, w.data(), b.data());
  ThreadPool pool(1);
  std::vector<float> got(4);
  lin.forward(x.data(), 2, got.data(), pool);
  EXPECT_EQ(got, y);
}

TEST(Linear, MatchesRef) {
  std::mt19937 rng(11);
  struct Case {
    int in, out, batch;
  };
  const Case cases[] = {{2048, 512, 1}, {576, 128, 1}, {1152, 256, 3}, {576, 128, 37},
                        {7, 13, 5},     {1, 1, 1},     {33, 17, 9},    {3, 61, 4}};
  for (const auto& c : cases)
    for (bool bias : {false, true})
      for (int threads : {1, 2}) {
        const auto w = random_floats(size_t(c.out) * c.in, rng);
        const auto b = random_floats(c.out, rng);
        const auto x = random_floats(size_t(c.batch) * c.in, rng);
        std::vector<float> ref(size_t(c.batch) * c.out), got(ref.size() + 16, 777.0f);
        linear_ref(x.data(), c.batch, c.in, c.out, w.data(), bias ? b.data() : nullptr,
                   ref.data());
        Linear lin(c.in, c.out, w.data(), bias ? b.data() : nullptr);
        ThreadPool pool(threads);
        lin.forward(x.data(), c.batch, got.data(), pool);
        const auto where = ::testing::Message() << "in=" << c.in << " out=" << c.out
                                                << " batch=" << c.batch << " bias=" << bias
                                                << " threads=" << threads;
        EXPECT_LE(scaled_max_error(got.data(), ref.data(), ref.size()), 1e-5) << where;
        for (size_t i = ref.size(); i < got.size(); ++i)
          ASSERT_EQ(got[i], 777.0f) << "output overrun; " << where;
      }
}

TEST(Linear, RejectsBadShapes) {
  const std::vector<float> w(4, 1.0f);
  EXPECT_THROW(Linear(0, 2, w.data(), nullptr), std::invalid_argument);
  EXPECT_THROW(Linear(2, 2, nullptr, nullptr), std::invalid_argument);
  ThreadPool pool(1);
  float x = 0, y = 0;
  EXPECT_THROW(Linear().forward(&x, 1, &y, pool), std::invalid_argument);
}

}  // namespace
}  // namespace fg::nn
