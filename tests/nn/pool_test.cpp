#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "nn/kernels.h"
#include "tests/nn/random_data.h"

namespace fg::nn {
namespace {

using test::random_floats;
using test::scaled_max_error;

PoolShape pool_shape(int k, int stride, int pad, bool ceil_mode) {
  PoolShape p;
  p.k = k;
  p.stride = stride;
  p.pad = pad;
  p.ceil_mode = ceil_mode;
  return p;
}

TEST(PoolShape, OutDimFollowsPyTorch) {
  EXPECT_EQ(pool_shape(2, 2, 0, false).out_dim(11), 5);
  EXPECT_EQ(pool_shape(2, 2, 0, true).out_dim(11), 6);
  EXPECT_EQ(pool_shape(3, 2, 0, true).out_dim(23), 11);
  EXPECT_EQ(pool_shape(3, 2, 0, true).out_dim(24), 12);
  EXPECT_EQ(pool_shape(3, 2, 0, false).out_dim(24), 11);
  EXPECT_EQ(pool_shape(3, 2, 1, false).out_dim(56), 28);  // ResNet stem
  // ceil would give 3 windows; the third would start at 6 >= n + pad, so it is dropped.
  EXPECT_EQ(pool_shape(2, 3, 1, true).out_dim(5), 2);
  EXPECT_THROW(pool_shape(2, 2, 2, false).out_dim(8), std::invalid_argument);  // pad > k/2
  EXPECT_THROW(pool_shape(3, 0, 0, false).out_dim(8), std::invalid_argument);
  EXPECT_THROW(pool_shape(3, 1, 0, false).out_dim(2), std::invalid_argument);
}

TEST(MaxPoolRef, HandComputed) {
  // 4x4 input, 2x2/2 picks the max of each quadrant.
  const std::vector<float> in = {1, 5, 2, 0, 3, 4, 8, 1, -1, -2, 0, 0, -3, -4, 0, 7};
  std::vector<float> out(4);
  max_pool2d_ref(pool_shape(2, 2, 0, false), in.data(), 1, 4, 4, out.data());
  EXPECT_EQ(out, (std::vector<float>{5, 8, -1, 7}));
  // 3x3/2 pad 1 on all-negative 3x3: padding never wins.
  const std::vector<float> neg = {-9, -8, -7, -6, -5, -4, -3, -2, -1};
  max_pool2d_ref(pool_shape(3, 2, 1, false), neg.data(), 1, 3, 3, out.data());
  EXPECT_EQ(out, (std::vector<float>{-5, -4, -2, -1}));
  // ceil_mode: 3x3 input, 2x2/2 gives a 2x2 output whose last windows are partial.
  max_pool2d_ref(pool_shape(2, 2, 0, true), neg.data(), 1, 3, 3, out.data());
  EXPECT_EQ(out, (std::vector<float>{-5, -4, -2, -1}));
}

TEST(MaxPool, MatchesRef) {
  std::mt19937 rng(5);
  for (int k : {1, 2, 3})
    for (int stride : {1, 2})
      for (int pad = 0; pad <= k / 2; ++pad)
        for (bool ceil_mode : {false, true})
          for (int h : {3, 7, 10, 11})
            for (int threads : {1, 2}) {
              const int c = 5, w = h + 2;
              const PoolShape p = pool_shape(k, stride, pad, ceil_mode);
              const auto in = random_floats(size_t(c) * h * w, rng);
              const size_t n_out = size_t(c) * p.out_dim(h) * p.out_dim(w);
              std::vector<float> ref(n_out), got(n_out, -1e9f);
              max_pool2d_ref(p, in.data(), c, h, w, ref.data());
              ThreadPool pool(threads);
              max_pool2d(p, in.data(), c, h, w, got.data(), pool);
              EXPECT_EQ(got, ref) << "k=" << k << " stride=" << stride << " pad=" << pad
                                  << " ceil_mode=" << ceil_mode << " c=" << c << " h=" << h
                                  << " w=" << w << " threads=" << threads;
            }
}

TEST(MaxPool, MatchesRefOnRowsWiderThanItsBuffer) {
  std::mt19937 rng(8);
  for (const auto& p : {pool_shape(3, 2, 1, false), pool_shape(2, 2, 0, true),
                        pool_shape(5, 1, 2, false)}) {
    const int c = 2, h = 3, w = 2501;
    const auto in = random_floats(size_t(c) * h * w, rng);
    const size_t n_out = size_t(c) * p.out_dim(h) * p.out_dim(w);
    std::vector<float> ref(n_out), got(n_out);
    max_pool2d_ref(p, in.data(), c, h, w, ref.data());
    ThreadPool pool(2);
    max_pool2d(p, in.data(), c, h, w, got.data(), pool);
    EXPECT_EQ(got, ref) << "k=" << p.k << " stride=" << p.stride << " pad=" << p.pad
                        << " ceil_mode=" << p.ceil_mode << " c=" << c << " h=" << h
                        << " w=" << w;
  }
}

// MTCNN's pools (2/2 and 3/2, ceil mode) and the stem's, on rows that span several vectors
// with a partial one at the end.
TEST(MaxPool, MatchesRefOnWideRows) {
  std::mt19937 rng(9);
  for (const auto& p : {pool_shape(2, 2, 0, true), pool_shape(3, 2, 0, true), pool_shape(3, 2, 1, false),
                        pool_shape(3, 1, 1, false)})
    for (int w : {16, 22, 23, 46, 47, 383}) {
      const int c = 3, h = 9;
      const auto in = random_floats(size_t(c) * h * w, rng);
      const size_t n_out = size_t(c) * p.out_dim(h) * p.out_dim(w);
      std::vector<float> ref(n_out), got(n_out, -1e9f);
      max_pool2d_ref(p, in.data(), c, h, w, ref.data());
      ThreadPool pool(1);
      max_pool2d(p, in.data(), c, h, w, got.data(), pool);
      EXPECT_EQ(got, ref) << "k=" << p.k << " stride=" << p.stride << " pad=" << p.pad
                          << " ceil_mode=" << p.ceil_mode << " w=" << w;
    }
}

// Every width from one to several vectors, on rows with junk columns after them (as MTCNN's
// wide convs leave): the vector passes, with their overlapping last vector, must neither
// miss a column nor read the junk, which is huge so that any read of it shows.
TEST(MaxPool, MatchesRefOnEveryWidthWithJunkColumns) {
  std::mt19937 rng(10);
  for (const auto& p : {pool_shape(2, 2, 0, true), pool_shape(3, 2, 0, true), pool_shape(3, 2, 1, false),
                        pool_shape(3, 1, 1, false), pool_shape(2, 1, 0, false)})
    for (int w = std::max(1, p.k - 2 * p.pad); w <= 41; ++w) {
      const int c = 2, h = 5, ld = w + 3;
      const auto plain = random_floats(size_t(c) * h * w, rng);
      std::vector<float> in(size_t(c) * h * ld, 1e30f);
      for (size_t r = 0; r < size_t(c) * h; ++r) std::copy_n(plain.begin() + r * w, w, in.begin() + r * ld);
      const size_t n_out = size_t(c) * p.out_dim(h) * p.out_dim(w);
      std::vector<float> ref(n_out), got(n_out, -1e9f);
      max_pool2d_ref(p, plain.data(), c, h, w, ref.data());
      ThreadPool pool(1);
      max_pool2d(p, in.data(), c, h, w, ld, got.data(), pool);
      EXPECT_EQ(got, ref) << "k=" << p.k << " stride=" << p.stride << " pad=" << p.pad
                          << " ceil_mode=" << p.ceil_mode << " w=" << w << " ld=" << ld;
    }
}

TEST(MaxPool, RejectsWindowWiderThanItsBuffer) {
  const PoolShape p = pool_shape(1100, 1, 0, false);
  std::vector<float> in(1100 * 1100), out(1);
  ThreadPool pool(1);
  EXPECT_THROW(max_pool2d(p, in.data(), 1, 1100, 1100, out.data(), pool), std::invalid_argument);
}

TEST(GlobalAvgPoolRef, HandComputed) {
  const std::vector<float> in = {1, 2, 3, 4, -1, -1, -1, 5};
  std::vector<float> out(2);
  global_avg_pool_ref(in.data(), 2, 2, 2, out.data());
  EXPECT_EQ(out, (std::vector<float>{2.5f, 0.5f}));
}

TEST(GlobalAvgPool, MatchesRef) {
  std::mt19937 rng(6);
  for (int c : {1, 7, 61, 2048})
    for (int hw : {1, 3, 4, 7, 9})
      for (int threads : {1, 2}) {
        const auto in = random_floats(size_t(c) * hw * hw, rng);
        std::vector<float> ref(c), got(c);
        global_avg_pool_ref(in.data(), c, hw, hw, ref.data());
        ThreadPool pool(threads);
        global_avg_pool(in.data(), c, hw, hw, got.data(), pool);
        EXPECT_LE(scaled_max_error(got.data(), ref.data(), c), 1e-5)
            << "c=" << c << " h=w=" << hw << " threads=" << threads;
      }
}

}  // namespace
}  // namespace fg::nn
