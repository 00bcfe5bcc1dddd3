// Shares a ThreadPool fairly between keys (for password hashing: client
// addresses). Each key has its own queue and keys take turns, a key that had
// nothing waiting first; the pool is handed no more tasks than it has
// threads, so a burst from one key never stands in front of another key's
// task: a login from a quiet address waits only for the tasks already
// running, however many a busy one queued.
// Thread-safety: Submit() may be called from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <unordered_map>

#include "common/mutex.h"
#include "common/thread_pool.h"

namespace natter {

class FairPool {
 public:
  enum class Submitted { kQueued, kKeyFull, kFull };

  // Holds as many tasks as `pool` would, at most `max_queued_per_key` of one key.
  FairPool(ThreadPool& pool, size_t max_queued_per_key);

  // kKeyFull: `key` already has its share waiting; kFull: all queues are full
  // (or the pool stopped). Either way `task` is dropped.
  Submitted Submit(const std::string& key, std::function<void()> task);

  // Tasks waiting (not yet handed to the pool), and how long the one that has
  // waited longest has waited (zero when none waits): the hashing queue's
  // metrics.
  size_t Queued() const;
  std::chrono::steady_clock::duration OldestWait() const;

 private:
  struct Waiting {
    std::function<void()> task;
    std::chrono::steady_clock::time_point since;
  };

  // Hands the pool the next tasks, one key at a time in turn.
  void Dispatch() REQUIRES(mu_);
  void Finished();

  ThreadPool& pool_;
  const size_t concurrency_;
  const size_t max_queued_;
  const size_t max_queued_per_key_;
  mutable Mutex mu_;
  std::unordered_map<std::string, std::deque<Waiting>> queues_ GUARDED_BY(mu_);
  std::deque<std::string> turns_ GUARDED_BY(mu_);  // keys with waiting tasks, next first
  size_t queued_ GUARDED_BY(mu_) = 0;
  size_t running_ GUARDED_BY(mu_) = 0;  // handed to the pool, not finished
};

}  // namespace natter
