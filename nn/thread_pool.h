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
  // 1 <= n_threads <= 65535; the calling thread counts as one of them.
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
  void worker_loop();
  // Claims and runs chunks of the job published as `state` until none is left or a newer
  // job replaced it.
  void run_chunks(uint64_t state) noexcept;

  int n_threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_, done_;
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t job_n_ = 0;
  // generation (32 bits) | chunks (16) | next unclaimed chunk (16); zero chunks tells the
  // workers to exit. Chunks are claimed by compare-exchange, by the caller as well as the
  // workers, so a worker that is still asleep or descheduled (another process on its core)
  // delays nobody: the caller takes its chunk. Atomics so that threads can spin briefly
  // before sleeping on the condition variables (a futex wake costs tens of microseconds; a
  // conv can take less).
  std::atomic<uint64_t> state_{0};
  std::atomic<int> chunks_done_{0};
  std::exception_ptr error_;  // first exception thrown by fn, rethrown to the caller
};

}  // namespace fg::nn
