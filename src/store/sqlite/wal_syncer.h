// Makes the embedded store's commits durable beside its writer.
//
// The writer commits with synchronous=NORMAL: SQLite writes a batch to the
// write-ahead log without waiting for the disk, and the writer goes on to the
// next batch at once. This thread syncs the log and then releases what waited
// for it:
// - a batch's answers, once a sync that began after its commit returned;
// - a read's answer, once every commit the read may have seen is synced.
// So nobody, neither the writer's callers nor a reader, is told of a commit
// before it is on disk; and the writer's next batch overlaps the last one's
// sync instead of waiting for it.
//
// Bounded: a disk that is slow, or never returns from a sync, must not let
// commits and answers pile up in memory. The writer waits once it is
// `unsynced_commits` commits ahead of the disk (so its queue fills and new
// writes are refused, as when a commit itself was slow), and a reader waits
// once `waiting` answers wait.
//
// A failed sync is final: the kernel may have dropped the pages it could not
// write, and a later sync that succeeds would not bring them back. What waits
// is released as not durable, and Failed() stays true (the writer then
// refuses every write until natterd restarts).
//
// Thread-safety: CommitBegins and BatchEnded are called by the writer thread
// only, in commit order; AfterRead by any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <thread>
#include <utility>

#include "common/mutex.h"

namespace natter::sqlite {

class WalSyncer {
 public:
  // What waits for a sync; `durable` is false when the sync failed.
  using Release = std::function<void(bool durable)>;

  struct Limits {
    uint64_t unsynced_commits = 4;
    size_t waiting = 10000;
  };

  // `sync` makes everything written to the log so far durable, and says
  // whether it did.
  explicit WalSyncer(std::function<bool()> sync) : WalSyncer(std::move(sync), Limits{}) {}
  WalSyncer(std::function<bool()> sync, Limits limits);
  ~WalSyncer();  // Stop()
  WalSyncer(const WalSyncer&) = delete;
  WalSyncer& operator=(const WalSyncer&) = delete;

  // The writer is about to commit: readers may see that commit from now on.
  void CommitBegins();
  // The writer's batch ended (committed, failed or refused): `release` runs
  // once every commit so far is synced, after what was queued before it.
  // Waits while the writer is too far ahead of the disk.
  void BatchEnded(Release release);
  // A read transaction ended: `release` runs once every commit it may have
  // seen is synced. At once, on this thread, when they already are; waits
  // while too many answers wait.
  void AfterRead(Release release);

  bool Failed() const;

  // Syncs what is left, releases everything and ends the thread. Called
  // once the writer and the readers have stopped; later calls do nothing.
  void Stop();

 private:
  // Whether the thread has something to do: release, or sync for.
  bool Due() const REQUIRES(mu_);
  void Loop();

  const std::function<bool()> sync_;
  const Limits limits_;
  mutable Mutex mu_;
  std::condition_variable cv_;           // the syncer's: work came
  std::condition_variable room_;         // the writer's and readers': a sync returned
  uint64_t begun_ GUARDED_BY(mu_) = 0;   // commits readers may have seen
  uint64_t ended_ GUARDED_BY(mu_) = 0;   // commits whose writes are done
  uint64_t synced_ GUARDED_BY(mu_) = 0;  // commits on disk
  bool failed_ GUARDED_BY(mu_) = false;
  bool stopping_ GUARDED_BY(mu_) = false;
  // What waits, with the commit count it waits for: never decreasing, since
  // each is begun_ when queued.
  std::deque<std::pair<uint64_t, Release>> waiting_ GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace natter::sqlite
