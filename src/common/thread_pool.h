// A named pool of threads with a bounded queue, for work that must never run
// on an I/O thread (password hashing, media, push). When the queue is full,
// Submit() refuses instead of growing memory; the caller answers `unavailable`.
// Thread-safety: Submit() may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "common/mutex.h"

namespace natter {

class ThreadPool {
 public:
  ThreadPool(std::string name, int threads, size_t max_queued);
  ~ThreadPool();  // finishes queued work, then joins
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Returns false (and drops `task`) when the queue is full or the pool is stopping.
  bool Submit(std::function<void()> task);
  void Stop();
  // Drops the tasks still queued (destroyed, never run), lets the running
  // ones finish, and stops: for work that is redone after a restart anyway.
  void StopDiscarding();
  size_t threads() const { return thread_count_; }
  size_t max_queued() const { return max_queued_; }
  // Tasks waiting for a thread now, and how long the first of them has waited
  // (zero when none waits).
  size_t Queued() const;
  std::chrono::steady_clock::duration OldestWait() const;

 private:
  void Run();

  const std::string name_;
  const size_t max_queued_;
  const size_t thread_count_;
  mutable Mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_ GUARDED_BY(mu_);
  std::deque<std::chrono::steady_clock::time_point> since_ GUARDED_BY(mu_);  // when each task came
  bool stopping_ GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;  // started in the constructor; joined by Stop()
};

}  // namespace natter
