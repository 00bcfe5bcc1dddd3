#include "store/sqlite/wal_syncer.h"

#include <pthread.h>

#include <vector>

#include "common/guarded.h"

namespace natter::sqlite {

WalSyncer::WalSyncer(std::function<bool()> sync, Limits limits) : sync_(std::move(sync)), limits_(limits) {
  thread_ = std::thread([this] { Loop(); });
  pthread_setname_np(thread_.native_handle(), "store-sync");
}

WalSyncer::~WalSyncer() { Stop(); }

void WalSyncer::CommitBegins() {
  MutexLock lock(mu_);
  ++begun_;
}

void WalSyncer::BatchEnded(Release release) {
  MutexLock lock(mu_);
  ended_ = begun_;
  waiting_.emplace_back(begun_, std::move(release));
  cv_.notify_one();
  lock.Wait(room_,
            [this]() REQUIRES(mu_) { return failed_ || stopping_ || ended_ - synced_ <= limits_.unsynced_commits; });
}

void WalSyncer::AfterRead(Release release) {
  bool durable = false;
  {
    MutexLock lock(mu_);
    if (begun_ > synced_) {
      lock.Wait(room_, [this]() REQUIRES(mu_) { return failed_ || stopping_ || waiting_.size() < limits_.waiting; });
    }
    durable = begun_ <= synced_;
    if (!durable && !failed_) {
      waiting_.emplace_back(begun_, std::move(release));
      cv_.notify_one();
      return;
    }
  }
  release(durable);
}

bool WalSyncer::Failed() const {
  MutexLock lock(mu_);
  return failed_;
}

void WalSyncer::Stop() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
    cv_.notify_one();
    room_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

bool WalSyncer::Due() const {
  if (waiting_.empty()) return false;
  return failed_ || waiting_.front().first <= synced_ || ended_ > synced_;
}

void WalSyncer::Loop() {
  for (;;) {
    bool sync = false;
    uint64_t target = 0;
    std::deque<std::pair<uint64_t, Release>> abandoned;
    {
      MutexLock lock(mu_);
      lock.Wait(cv_, [this]() REQUIRES(mu_) { return stopping_ || Due(); });
      if (!Due()) {
        // Stopping, and what is left waits for a commit that never ended
        // (only if the writer was still running, which Stop rules out).
        abandoned.swap(waiting_);
        lock.Unlock();
        for (auto& entry : abandoned) RunCatching("store syncer", [&] { entry.second(false); });
        return;
      }
      sync = !failed_ && waiting_.front().first > synced_;
      target = ended_;
    }
    // The lock is not held here: the writer commits, and readers read,
    // while the disk syncs.
    bool synced = !sync;
    if (sync && !RunCatching("store syncer", [&] { synced = sync_(); })) synced = false;
    std::vector<std::pair<uint64_t, Release>> ready;
    uint64_t durable_up_to = 0;
    {
      MutexLock lock(mu_);
      if (!synced) failed_ = true;
      if (sync && synced) synced_ = target;
      durable_up_to = synced_;
      while (!waiting_.empty() && (failed_ || waiting_.front().first <= synced_)) {
        ready.push_back(std::move(waiting_.front()));
        waiting_.pop_front();
      }
      room_.notify_all();
    }
    for (auto& entry : ready) {
      RunCatching("store syncer", [&] { entry.second(entry.first <= durable_up_to); });
    }
  }
}

}  // namespace natter::sqlite
