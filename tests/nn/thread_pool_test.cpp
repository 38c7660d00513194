#include "nn/thread_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

namespace fg::nn {
namespace {

TEST(ThreadPool, RejectsNoThreads) {
  EXPECT_THROW(ThreadPool(0), std::invalid_argument);
  EXPECT_THROW(ThreadPool(-1), std::invalid_argument);
}

TEST(ThreadPool, ChunksCoverRangeOnceContiguously) {
  for (int threads : {1, 2, 3, 5}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (int64_t n : {0, 1, 2, 3, 4, 7, 1000}) {
      std::mutex mu;
      std::vector<std::pair<int64_t, int64_t>> chunks;
      std::vector<int> hits(n, 0);
      pool.parallel_for(n, [&](int64_t b, int64_t e) {
        std::lock_guard<std::mutex> lock(mu);
        chunks.emplace_back(b, e);
        for (int64_t i = b; i < e; ++i) ++hits[i];
      });
      std::sort(chunks.begin(), chunks.end());
      SCOPED_TRACE("threads=" + std::to_string(threads) + " n=" + std::to_string(n));
      EXPECT_LE(chunks.size(), size_t(threads));
      EXPECT_TRUE(std::all_of(hits.begin(), hits.end(), [](int h) { return h == 1; }));
      int64_t next = 0;
      for (auto [b, e] : chunks) {
        EXPECT_EQ(b, next);
        EXPECT_LT(b, e);
        next = e;
      }
      EXPECT_EQ(next, n);
    }
  }
}

TEST(ThreadPool, OneThreadRunsInlineOnCaller) {
  ThreadPool pool(1);
  std::thread::id seen;
  pool.parallel_for(10, [&](int64_t, int64_t) { seen = std::this_thread::get_id(); });
  EXPECT_EQ(seen, std::this_thread::get_id());
}

TEST(ThreadPool, CallerWorksToo) {
  // Slow chunks, so that no thread can claim both before the other has claimed one.
  ThreadPool pool(2);
  std::atomic<bool> caller_ran{false};
  const auto caller = std::this_thread::get_id();
  pool.parallel_for(2, [&](int64_t, int64_t) {
    if (std::this_thread::get_id() == caller) caller_ran = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  });
  EXPECT_TRUE(caller_ran);
}

TEST(ThreadPool, RejectsTooManyThreads) {
  EXPECT_THROW(ThreadPool(1 << 16), std::invalid_argument);
}

TEST(ThreadPool, ManyBackToBackCalls) {
  ThreadPool pool(2);
  std::vector<int64_t> v(97, 0);
  for (int rep = 0; rep < 20000; ++rep)
    pool.parallel_for(static_cast<int64_t>(v.size()), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) v[i] += i;
    });
  for (size_t i = 0; i < v.size(); ++i) ASSERT_EQ(v[i], int64_t(i) * 20000) << "i=" << i;
}

TEST(ThreadPool, ExceptionReachesCallerAndPoolStaysUsable) {
  ThreadPool pool(2);
  for (int64_t bad : {0, 99}) {  // thrown by the caller's chunk, then by the worker's
    EXPECT_THROW(pool.parallel_for(100,
                                   [&](int64_t b, int64_t e) {
                                     if (b <= bad && bad < e) throw std::runtime_error("boom");
                                   }),
                 std::runtime_error);
  }
  std::atomic<int64_t> sum{0};
  pool.parallel_for(100, [&](int64_t b, int64_t e) { sum += e - b; });
  EXPECT_EQ(sum, 100);
}

TEST(ThreadPool, WakesAfterWorkersFellAsleep) {
  ThreadPool pool(2);
  for (int rep = 0; rep < 3; ++rep) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::atomic<int64_t> sum{0};
    pool.parallel_for(10, [&](int64_t b, int64_t e) { sum += e - b; });
    EXPECT_EQ(sum, 10);
  }
}

}  // namespace
}  // namespace fg::nn
