#include "nn/thread_pool.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>
#include <utility>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace fg::nn {
namespace {

// Long enough to bridge the gap between two layers of one forward pass, short enough that an
// idle pool stops burning a core almost at once.
constexpr auto kSpinTime = std::chrono::microseconds(200);
constexpr int kMaxThreads = 0xffff;  // chunks and the next chunk take 16 bits of the state

constexpr uint64_t generation_of(uint64_t s) { return s >> 32; }
constexpr int chunks_of(uint64_t s) { return static_cast<int>((s >> 16) & 0xffff); }
constexpr int next_of(uint64_t s) { return static_cast<int>(s & 0xffff); }

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

template <class Pred>
bool spin_until(Pred ready) {
  const auto start = std::chrono::steady_clock::now();
  for (int i = 1;; ++i) {
    if (ready()) return true;
    cpu_relax();
    if (i % 64 == 0 && std::chrono::steady_clock::now() - start > kSpinTime) return false;
  }
}

}  // namespace

ThreadPool::ThreadPool(int n_threads) : n_threads_(n_threads) {
  if (n_threads < 1 || n_threads > kMaxThreads)
    throw std::invalid_argument("ThreadPool: n_threads must be in [1, " +
                                std::to_string(kMaxThreads) + "], got " +
                                std::to_string(n_threads));
  workers_.reserve(n_threads - 1);
  for (int i = 1; i < n_threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    state_.store((generation_of(state_.load()) + 1) << 32, std::memory_order_release);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run_chunks(uint64_t s) noexcept {
  const uint64_t generation = generation_of(s);
  while (generation_of(s) == generation && next_of(s) < chunks_of(s)) {
    if (!state_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel,
                                      std::memory_order_acquire))
      continue;  // s now holds the current state: another claim, or a newer job
    // Our claim keeps this job, and so job_ and job_n_, alive until we count it done.
    const int chunks = chunks_of(s), c = next_of(s);
    const int64_t begin = job_n_ * c / chunks, end = job_n_ * (c + 1) / chunks;
    try {
      (*job_)(begin, end);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!error_) error_ = std::current_exception();
    }
    if (chunks_done_.fetch_add(1, std::memory_order_acq_rel) + 1 == chunks) {
      std::lock_guard<std::mutex> lock(mu_);
      done_.notify_one();
      return;
    }
    ++s;
  }
}

void ThreadPool::worker_loop() {
  uint64_t seen = 0;
  for (;;) {
    const auto changed = [&] {
      return generation_of(state_.load(std::memory_order_acquire)) != seen;
    };
    if (!spin_until(changed)) {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, changed);
    }
    const uint64_t s = state_.load(std::memory_order_acquire);
    seen = generation_of(s);
    if (chunks_of(s) == 0) return;
    run_chunks(s);
  }
}

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  if (n_threads_ == 1 || n == 1) {
    fn(0, n);
    return;
  }
  const int chunks = static_cast<int>(std::min<int64_t>(n, n_threads_));
  uint64_t s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    job_ = &fn;
    job_n_ = n;
    chunks_done_.store(0, std::memory_order_relaxed);
    s = (generation_of(state_.load()) + 1) << 32 | uint64_t(chunks) << 16;
    state_.store(s, std::memory_order_release);
  }
  wake_.notify_all();
  run_chunks(s);
  const auto all_done = [&] { return chunks_done_.load(std::memory_order_acquire) == chunks; };
  if (!spin_until(all_done)) {
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, all_done);
  }
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

}  // namespace fg::nn
