// A shared mutex that lets a waiting writer in: std::shared_mutex (glibc's rwlock) prefers
// readers, so a steady stream of searches could hold off an enroll forever.
#pragma once

#include <mutex>
#include <shared_mutex>

namespace fg::index::detail {

class WriterFirstMutex {
 public:
  // A writer holds gate_ while it waits, so no new reader gets in; the readers inside finish.
  void lock() {
    gate_.lock();
    rw_.lock();
  }
  void unlock() {
    rw_.unlock();
    gate_.unlock();
  }
  void lock_shared() {
    std::lock_guard pass(gate_);
    rw_.lock_shared();
  }
  void unlock_shared() { rw_.unlock_shared(); }

 private:
  std::mutex gate_;
  std::shared_mutex rw_;
};

}  // namespace fg::index::detail
