#include "store/work_queue.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace natter {
namespace {

using Queue = WorkQueue<int>;

TEST(WorkQueue, RefusesWhenFullAndWhenStopped) {
  Queue q(2);
  int a = 1, b = 2, c = 3;
  EXPECT_EQ(q.Push(a), Queue::Refusal::kNone);
  EXPECT_EQ(q.Push(b), Queue::Refusal::kNone);
  EXPECT_EQ(q.Push(c), Queue::Refusal::kFull);
  EXPECT_TRUE(q.Stop());
  EXPECT_FALSE(q.Stop());
  int d = 4;
  EXPECT_EQ(q.Push(d), Queue::Refusal::kStopping);
}

TEST(WorkQueue, TheOldestWaitIsTheFirstItemsAndZeroWhenEmpty) {
  Queue q(10);
  EXPECT_EQ(q.OldestWait(), std::chrono::steady_clock::duration::zero());
  int first = 1;
  (void)q.Push(first);
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  int second = 2;
  (void)q.Push(second);
  EXPECT_GE(q.OldestWait(), std::chrono::milliseconds(30));
  std::vector<int> batch;
  ASSERT_TRUE(q.PopBatch(batch, 1));
  EXPECT_LT(q.OldestWait(), std::chrono::milliseconds(30));  // the second's wait now
  batch.clear();
  ASSERT_TRUE(q.PopBatch(batch, 1));
  EXPECT_EQ(batch, std::vector<int>{2});
  EXPECT_EQ(q.OldestWait(), std::chrono::steady_clock::duration::zero());
}

TEST(WorkQueue, WritersDrainAfterStopReadersDoNot) {
  Queue writes(10), reads(10);
  for (int i = 0; i < 5; ++i) {
    int w = i, r = i;
    (void)writes.Push(w);
    (void)reads.Push(r);
  }
  writes.Stop();
  reads.Stop();
  std::vector<int> batch;
  ASSERT_TRUE(writes.PopBatch(batch, 3));
  EXPECT_EQ(batch, (std::vector<int>{0, 1, 2}));
  batch.clear();
  ASSERT_TRUE(writes.PopBatch(batch, 3));
  EXPECT_EQ(batch, (std::vector<int>{3, 4}));
  batch.clear();
  EXPECT_FALSE(writes.PopBatch(batch, 3));  // stopped and drained
  int item = -1;
  EXPECT_FALSE(reads.PopOne(item));        // readers stop at once
  EXPECT_EQ(reads.TakeRest().size(), 5u);  // the rest goes to whoever stops
}

// A writer that already holds work tops its batch up without waiting, and
// takes what is queued after a stop too.
TEST(WorkQueue, TakeQueuedFillsABatchUpWithoutWaiting) {
  Queue q(10);
  std::vector<int> batch{100};
  q.TakeQueued(batch, 3);  // nothing queued: returns at once
  EXPECT_EQ(batch, std::vector<int>{100});
  for (int i = 0; i < 4; ++i) {
    int item = i;
    (void)q.Push(item);
  }
  q.TakeQueued(batch, 3);
  EXPECT_EQ(batch, (std::vector<int>{100, 0, 1}));
  q.Stop();
  q.TakeQueued(batch, 5);
  EXPECT_EQ(batch, (std::vector<int>{100, 0, 1, 2, 3}));
}

TEST(WorkQueue, AWaitingThreadWakesForWorkAndForStop) {
  Queue q(10);
  std::vector<int> got;
  std::thread consumer([&] {
    std::vector<int> batch;
    while (q.PopBatch(batch, 10)) {
      got.insert(got.end(), batch.begin(), batch.end());
      batch.clear();
    }
  });
  for (int i = 0; i < 3; ++i) {
    int v = i;
    ASSERT_EQ(q.Push(v), Queue::Refusal::kNone);
  }
  q.Stop();
  consumer.join();  // returns: stop wakes it, and it drained what was queued
  EXPECT_EQ(got, (std::vector<int>{0, 1, 2}));
}

}  // namespace
}  // namespace natter
