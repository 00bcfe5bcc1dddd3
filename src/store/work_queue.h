// The queue between the threads that ask a store for work and the store
// thread that does it: bounded (a full queue answers at once instead of
// growing), taken a batch at a time (a writer commits many operations in one
// transaction), and stopped once: then nothing new comes in, writers finish
// what is queued, readers stop at once.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <vector>

#include "common/mutex.h"

#include "natter/status.h"

namespace natter {

template <class T>
class WorkQueue {
 public:
  explicit WorkQueue(size_t capacity) : capacity_(capacity) {}

  enum class Refusal { kNone, kStopping, kFull };

  // What the caller of refused work is answered.
  static Error RefusalError(Refusal r) {
    return Unavailable(r == Refusal::kStopping ? "server is shutting down" : "storage is overloaded, retry later");
  }

  // Queues `item` (moving it in), or says why not and leaves it as it was
  // (the caller answers `unavailable` through it).
  Refusal Push(T& item) {
    MutexLock lock(mu_);
    if (stopping_) return Refusal::kStopping;
    if (items_.size() >= capacity_) return Refusal::kFull;
    // One push, which moves `item` only once its place exists: if it throws
    // (bad_alloc), nothing was queued and `item` is as it was.
    items_.emplace_back(std::move(item), std::chrono::steady_clock::now());
    cv_.notify_one();
    return Refusal::kNone;
  }

  // Waits for work and moves items into `batch` until it holds `max`.
  // False once stopped and drained.
  bool PopBatch(std::vector<T>& batch, size_t max) {
    MutexLock lock(mu_);
    lock.Wait(cv_, [&]() REQUIRES(mu_) { return stopping_ || !items_.empty(); });
    if (items_.empty()) return false;
    MoveInto(batch, max);
    return true;
  }

  // As PopBatch, without waiting: for a writer that already has work (what
  // its last batch put off). Stopped or not, it takes what is queued.
  void TakeQueued(std::vector<T>& batch, size_t max) {
    MutexLock lock(mu_);
    MoveInto(batch, max);
  }

  // Waits for one item. False once stopped, whatever is left (readers).
  bool PopOne(T& item) {
    MutexLock lock(mu_);
    lock.Wait(cv_, [&]() REQUIRES(mu_) { return stopping_ || !items_.empty(); });
    if (stopping_) return false;
    item = std::move(items_.front().item);
    items_.pop_front();
    return true;
  }

  // Items waiting now.
  size_t Size() const {
    MutexLock lock(mu_);
    return items_.size();
  }

  // How long the item that has waited longest has waited; zero when none waits.
  std::chrono::steady_clock::duration OldestWait() const {
    MutexLock lock(mu_);
    if (items_.empty()) return {};
    return std::chrono::steady_clock::now() - items_.front().since;
  }

  // Refuses new items and wakes every waiting thread. Returns false if it was
  // already stopped.
  bool Stop() {
    {
      MutexLock lock(mu_);
      if (stopping_) return false;
      stopping_ = true;
    }
    cv_.notify_all();
    return true;
  }

  // What is left after the threads are gone: the caller destroys it on its
  // own thread (queued reads hold their callers' objects).
  std::deque<T> TakeRest() {
    MutexLock lock(mu_);
    std::deque<T> rest;
    for (auto& entry : items_) rest.push_back(std::move(entry.item));
    items_.clear();
    return rest;
  }

 private:
  const size_t capacity_;
  mutable Mutex mu_;
  std::condition_variable cv_;
  struct Entry {
    Entry(T&& i, std::chrono::steady_clock::time_point s) : item(std::move(i)), since(s) {}
    T item;
    std::chrono::steady_clock::time_point since;  // when it came
  };
  void MoveInto(std::vector<T>& batch, size_t max) REQUIRES(mu_) {
    while (!items_.empty() && batch.size() < max) {
      batch.push_back(std::move(items_.front().item));
      items_.pop_front();
    }
  }

  std::deque<Entry> items_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
};

}  // namespace natter
