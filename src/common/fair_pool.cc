#include "common/fair_pool.h"

#include <algorithm>

#include "common/guarded.h"

namespace natter {

FairPool::FairPool(ThreadPool& pool, size_t max_queued_per_key)
    : pool_(pool),
      concurrency_(std::max<size_t>(1, pool.threads())),
      max_queued_(pool.max_queued()),
      max_queued_per_key_(max_queued_per_key) {}

FairPool::Submitted FairPool::Submit(const std::string& key, std::function<void()> task) {
  MutexLock lock(mu_);
  if (queued_ >= max_queued_) return Submitted::kFull;
  auto& queue = queues_[key];
  if (queue.size() >= max_queued_per_key_) return Submitted::kKeyFull;
  // A key that had nothing waiting goes first: of all, it has had the least.
  if (queue.empty()) turns_.push_front(key);
  queue.push_back(Waiting{std::move(task), std::chrono::steady_clock::now()});
  ++queued_;
  Dispatch();
  return Submitted::kQueued;
}

void FairPool::Dispatch() {
  while (running_ < concurrency_ && !turns_.empty()) {
    std::string key = std::move(turns_.front());
    turns_.pop_front();
    auto it = queues_.find(key);
    std::function<void()> task = std::move(it->second.front().task);
    it->second.pop_front();
    --queued_;
    if (it->second.empty()) {
      queues_.erase(it);
    } else {
      turns_.push_back(std::move(key));  // its next task waits for the others' turns
    }
    ++running_;
    bool handed = pool_.Submit([this, task = std::move(task)] {
      RunCatching("fair pool task", task);
      Finished();
    });
    // Only a stopping pool refuses (it never holds more than concurrency_ of
    // ours): the task is dropped with the server.
    if (!handed) --running_;
  }
}

size_t FairPool::Queued() const {
  MutexLock lock(mu_);
  return queued_;
}

std::chrono::steady_clock::duration FairPool::OldestWait() const {
  MutexLock lock(mu_);
  // Each key's queue is in arrival order: its front waited longest.
  auto oldest = std::chrono::steady_clock::time_point::max();
  for (const auto& [key, queue] : queues_) oldest = std::min(oldest, queue.front().since);
  if (oldest == std::chrono::steady_clock::time_point::max()) return {};
  return std::chrono::steady_clock::now() - oldest;
}

void FairPool::Finished() {
  MutexLock lock(mu_);
  --running_;
  Dispatch();
}

}  // namespace natter
