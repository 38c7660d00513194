// A persistent pool of worker threads for the forward passes. Created once per model
// (or shared), so forward() never creates threads.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace fg::nn {

class ThreadPool {
 public:
  // n_threads >= 1; the calling thread counts as one of them.
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Calls fn(begin, end) on disjoint chunks covering [0, n); returns when all are done.
  // Chunks are contiguous; at most size() of them run at once. Not re-entrant. If fn throws,
  // the first exception is rethrown here once every chunk has finished.
  void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn);

 private:
  void worker_loop(int index);
  void run_chunk(int index) noexcept;

  int n_threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_, done_;
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t job_n_ = 0;
  // Atomic so that workers and the caller can spin on them briefly before sleeping on the
  // condition variables (a futex wake costs tens of microseconds; a conv can take less).
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  bool stop_ = false;
  std::exception_ptr error_;  // first exception thrown by fn in a worker, rethrown to the caller
};

}  // namespace fg::nn
