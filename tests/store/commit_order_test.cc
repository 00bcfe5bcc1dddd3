// Commit order across threads: what runs through a commit's turn runs in the
// order the writer committed, whichever thread gets there first, and a turn
// given up (or dropped with a task that never ran) holds nothing back.
#include "store/commit_order.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>
#include <vector>

#include "common/mutex.h"

namespace natter {
namespace {

// The order steps ran in.
struct Log {
  void Add(int n) {
    MutexLock lock(mu);
    ran.push_back(n);
  }
  std::vector<int> Ran() {
    MutexLock lock(mu);
    return ran;
  }
  Mutex mu;
  std::vector<int> ran GUARDED_BY(mu);
};

TEST(CommitOrderTest, ALaterTurnWaitsForTheEarlierOnes) {
  auto order = std::make_shared<CommitOrder>();
  CommitTurn first = order->Next(), second = order->Next(), third = order->Next();
  Log log;
  third.Then([&] { log.Add(3); });
  second.Then([&] { log.Add(2); });
  EXPECT_TRUE(log.Ran().empty()) << "ran before the first commit's step";
  first.Then([&] { log.Add(1); });
  EXPECT_EQ(log.Ran(), (std::vector<int>{1, 2, 3}));
}

TEST(CommitOrderTest, AGivenUpTurnHoldsNothingBack) {
  auto order = std::make_shared<CommitOrder>();
  Log log;
  {
    CommitTurn dropped = order->Next();  // a write whose answer never ran
    CommitTurn next = order->Next();
    next.Then([&] { log.Add(2); });
    EXPECT_TRUE(log.Ran().empty());
  }
  EXPECT_EQ(log.Ran(), (std::vector<int>{2}));
  CommitTurn silent = order->Next();
  silent.Then(nullptr);  // nothing to publish
  order->Next().Then([&] { log.Add(4); });
  EXPECT_EQ(log.Ran(), (std::vector<int>{2, 4}));
}

TEST(CommitOrderTest, OnlyTheFirstThenOfATurnCountsAndCopiesShareIt) {
  auto order = std::make_shared<CommitOrder>();
  Log log;
  CommitTurn turn = order->Next();
  CommitTurn copy = turn;
  copy.Then([&] { log.Add(1); });
  turn.Then([&] { log.Add(99); });
  order->Next().Then([&] { log.Add(2); });
  EXPECT_EQ(log.Ran(), (std::vector<int>{1, 2}));
}

TEST(CommitOrderTest, AWriteOutsideAnyOrderRunsAtOnce) {
  int ran = 0;
  CommitTurn().Then([&] { ++ran; });
  EXPECT_EQ(ran, 1);
}

// Many threads take turns in scrambled order; steps still run one at a time,
// in commit order.
TEST(CommitOrderTest, TurnsTakenFromManyThreadsRunInCommitOrder) {
  constexpr int kTurns = 2000;
  auto order = std::make_shared<CommitOrder>();
  std::vector<CommitTurn> turns;
  for (int i = 0; i < kTurns; ++i) turns.push_back(order->Next());
  Log log;
  std::atomic<int> running{0}, overlapped{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      // Thread t takes every fourth turn, from the back.
      for (int i = kTurns - 1 - t; i >= 0; i -= 4) {
        turns[i].Then([&, i] {
          if (running.fetch_add(1) != 0) overlapped.fetch_add(1);
          log.Add(i);
          running.fetch_sub(1);
        });
      }
    });
  }
  for (auto& t : threads) t.join();
  std::vector<int> expected(kTurns);
  for (int i = 0; i < kTurns; ++i) expected[i] = i;
  EXPECT_EQ(log.Ran(), expected);
  EXPECT_EQ(overlapped.load(), 0);
}

}  // namespace
}  // namespace natter
