// The embedded store's syncer: a batch's answers go out only after a sync
// that began after its commit; a read's, only after every commit it may have
// seen is synced; a failed sync releases what waits as not durable and is
// never retried.
#include "store/sqlite/wal_syncer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/mutex.h"
#include "fakes/held_sync.h"

namespace natter::sqlite {
namespace {

using natter::testing::HeldSync;

constexpr auto kWait = std::chrono::seconds(10);

// What was released, in order, and whether as durable.
class Released {
 public:
  WalSyncer::Release Named(std::string name) {
    return [this, name](bool durable) {
      MutexLock lock(mu_);
      got_.push_back(name + (durable ? "" : " (not durable)"));
      threads_.push_back(std::this_thread::get_id());
      cv_.notify_all();
    };
  }
  bool WaitFor(size_t n) {
    MutexLock lock(mu_);
    return lock.WaitFor(cv_, kWait, [&]() REQUIRES(mu_) { return got_.size() >= n; });
  }
  std::vector<std::string> Got() {
    MutexLock lock(mu_);
    return got_;
  }
  std::thread::id LastThread() {
    MutexLock lock(mu_);
    return threads_.back();
  }

 private:
  Mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> got_ GUARDED_BY(mu_);
  std::vector<std::thread::id> threads_ GUARDED_BY(mu_);
};

// A batch committed while an earlier sync is under way needs a sync of its
// own: the one under way may have begun before its writes.
TEST(WalSyncerTest, ABatchIsReleasedOnlyAfterASyncThatBeganAfterItsCommit) {
  HeldSync sync;
  Released released;
  WalSyncer syncer([&] { return sync.Sync(); });
  syncer.CommitBegins();
  syncer.BatchEnded(released.Named("first"));
  ASSERT_TRUE(sync.WaitStarted(1));
  syncer.CommitBegins();
  syncer.BatchEnded(released.Named("second"));
  EXPECT_TRUE(released.Got().empty()) << "released before its sync returned";
  sync.Finish(1);
  ASSERT_TRUE(released.WaitFor(1));
  ASSERT_TRUE(sync.WaitStarted(2));
  EXPECT_EQ(released.Got(), std::vector<std::string>{"first"}) << "the second batch went out on the first's sync";
  sync.Finish(2);
  ASSERT_TRUE(released.WaitFor(2));
  EXPECT_EQ(released.Got(), (std::vector<std::string>{"first", "second"}));
  EXPECT_EQ(sync.Started(), 2);
}

// A read that began while a commit was being made may have seen it, even
// though the writer has not yet said the commit ended: it waits for that
// commit's sync, which can only begin once it ended.
TEST(WalSyncerTest, AReadWaitsForEveryCommitItMayHaveSeen) {
  HeldSync sync;
  sync.Finish(100);
  Released released;
  WalSyncer syncer([&] { return sync.Sync(); });
  syncer.CommitBegins();
  syncer.AfterRead(released.Named("read"));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_TRUE(released.Got().empty()) << "a read released before the commit it may have seen was synced";
  EXPECT_EQ(sync.Started(), 0) << "synced before the commit's writes were done";
  syncer.BatchEnded(released.Named("batch"));
  ASSERT_TRUE(released.WaitFor(2));
  EXPECT_EQ(released.Got(), (std::vector<std::string>{"read", "batch"}));
}

TEST(WalSyncerTest, AReadWithNothingUnsyncedIsAnsweredAtOnceOnItsOwnThread) {
  HeldSync sync;
  sync.Finish(100);
  Released released;
  WalSyncer syncer([&] { return sync.Sync(); });
  syncer.AfterRead(released.Named("before any commit"));
  ASSERT_EQ(released.Got().size(), 1u);
  EXPECT_EQ(released.LastThread(), std::this_thread::get_id());
  syncer.CommitBegins();
  syncer.BatchEnded(released.Named("batch"));
  ASSERT_TRUE(released.WaitFor(2));
  syncer.AfterRead(released.Named("after the sync"));
  ASSERT_EQ(released.Got().size(), 3u);
  EXPECT_EQ(released.LastThread(), std::this_thread::get_id());
  EXPECT_EQ(sync.Started(), 1);
}

// A batch that committed nothing (refused, or its commit failed) needs no
// sync of its own, but its answers still follow the earlier batches'.
TEST(WalSyncerTest, ABatchThatCommittedNothingIsReleasedInOrder) {
  HeldSync sync;
  Released released;
  WalSyncer syncer([&] { return sync.Sync(); });
  syncer.CommitBegins();
  syncer.BatchEnded(released.Named("committed"));
  syncer.BatchEnded(released.Named("refused"));
  ASSERT_TRUE(sync.WaitStarted(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_TRUE(released.Got().empty());
  sync.Finish(1);
  ASSERT_TRUE(released.WaitFor(2));
  EXPECT_EQ(released.Got(), (std::vector<std::string>{"committed", "refused"}));
  EXPECT_EQ(sync.Started(), 1);
}

// After a failed sync the kernel may have dropped the pages it could not
// write: what waited, and every commit after, is not durable, and no later
// sync is trusted to say otherwise.
TEST(WalSyncerTest, AFailedSyncReleasesWhatWaitsAsNotDurableAndIsNeverRetried) {
  HeldSync sync(false);
  sync.Finish(100);
  Released released;
  WalSyncer syncer([&] { return sync.Sync(); });
  syncer.CommitBegins();
  syncer.BatchEnded(released.Named("batch"));
  ASSERT_TRUE(released.WaitFor(1));
  EXPECT_TRUE(syncer.Failed());
  syncer.AfterRead(released.Named("read"));
  syncer.CommitBegins();
  syncer.BatchEnded(released.Named("later batch"));
  ASSERT_TRUE(released.WaitFor(3));
  EXPECT_EQ(released.Got(),
            (std::vector<std::string>{"batch (not durable)", "read (not durable)", "later batch (not durable)"}));
  EXPECT_EQ(sync.Started(), 1);
}

// What was synced before a failure stays durable.
TEST(WalSyncerTest, WhatWasSyncedBeforeAFailureStaysDurable) {
  int syncs = 0;
  Released released;
  WalSyncer syncer([&] { return ++syncs == 1; });
  syncer.CommitBegins();
  syncer.BatchEnded(released.Named("synced"));
  ASSERT_TRUE(released.WaitFor(1));
  syncer.CommitBegins();
  syncer.BatchEnded(released.Named("lost"));
  ASSERT_TRUE(released.WaitFor(2));
  EXPECT_EQ(released.Got(), (std::vector<std::string>{"synced", "lost (not durable)"}));
}

// A disk that does not finish a sync must not let commits pile up: the
// writer waits once it is too far ahead (and its queue fills behind it).
TEST(WalSyncerTest, TheWriterWaitsOnceItIsTooFarAheadOfTheDisk) {
  HeldSync sync;
  Released released;
  WalSyncer syncer([&] { return sync.Sync(); }, WalSyncer::Limits{.unsynced_commits = 2, .waiting = 100});
  syncer.CommitBegins();
  syncer.BatchEnded(released.Named("first"));
  ASSERT_TRUE(sync.WaitStarted(1));
  syncer.CommitBegins();
  syncer.BatchEnded(released.Named("second"));  // two ahead: allowed
  std::atomic<bool> third_returned{false};
  std::thread writer([&] {
    syncer.CommitBegins();
    syncer.BatchEnded(released.Named("third"));
    third_returned = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(third_returned.load()) << "the writer went on three commits ahead of the disk";
  sync.Finish(1);
  writer.join();
  sync.Finish(100);
  ASSERT_TRUE(released.WaitFor(3));
  EXPECT_EQ(released.Got(), (std::vector<std::string>{"first", "second", "third"}));
}

// Nor may answers of reads pile up: a reader waits once too many wait.
TEST(WalSyncerTest, AReaderWaitsOnceTooManyAnswersWait) {
  HeldSync sync;
  sync.Finish(100);
  Released released;
  WalSyncer syncer([&] { return sync.Sync(); }, WalSyncer::Limits{.unsynced_commits = 4, .waiting = 2});
  syncer.CommitBegins();  // a commit under way: every read waits for it
  syncer.AfterRead(released.Named("read 1"));
  syncer.AfterRead(released.Named("read 2"));
  std::atomic<bool> third_returned{false};
  std::thread reader([&] {
    syncer.AfterRead(released.Named("read 3"));
    third_returned = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(third_returned.load()) << "a third answer waited beside two";
  syncer.BatchEnded(released.Named("batch"));
  reader.join();
  ASSERT_TRUE(released.WaitFor(4));
  // The third read finds the commit synced when it wakes and answers on its
  // own thread, so it may come before or after the syncer's answers; those
  // come in order.
  auto got = released.Got();
  EXPECT_EQ(std::erase(got, "read 3"), 1u);
  EXPECT_EQ(got, (std::vector<std::string>{"read 1", "read 2", "batch"}));
}

TEST(WalSyncerTest, StopSyncsAndReleasesWhatWaits) {
  HeldSync sync;
  Released released;
  WalSyncer syncer([&] { return sync.Sync(); });
  syncer.CommitBegins();
  syncer.BatchEnded(released.Named("batch"));
  ASSERT_TRUE(sync.WaitStarted(1));
  std::thread stop([&] { syncer.Stop(); });
  sync.Finish(1);
  stop.join();
  EXPECT_EQ(released.Got(), std::vector<std::string>{"batch"});
}

}  // namespace
}  // namespace natter::sqlite
