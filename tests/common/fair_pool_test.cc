#include "common/fair_pool.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace natter {
namespace {

// One pool thread held by a first task while the test queues the rest.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  std::vector<std::string> ran;
  int done = 0;

  void Wait() {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return open; });
  }
  void Open() {
    std::lock_guard lock(mu);
    open = true;
    cv.notify_all();
  }
  void Ran(const std::string& what) {
    std::lock_guard lock(mu);
    ran.push_back(what);
    ++done;
    cv.notify_all();
  }
  void WaitDone(int n) {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return done >= n; });
  }
};

TEST(FairPoolTest, AKeyWithMuchQueuedDoesNotStandInFrontOfAnother) {
  ThreadPool pool("fair-test", 1, 64);
  FairPool fair(pool, 16);
  Gate gate;
  ASSERT_EQ(fair.Submit("flood",
                        [&] {
                          gate.Wait();
                          gate.Ran("flood0");
                        }),
            FairPool::Submitted::kQueued);
  for (int i = 1; i < 10; ++i) {
    ASSERT_EQ(fair.Submit("flood", [&, i] { gate.Ran("flood" + std::to_string(i)); }), FairPool::Submitted::kQueued);
  }
  ASSERT_EQ(fair.Submit("polite", [&] { gate.Ran("polite"); }), FairPool::Submitted::kQueued);
  gate.Open();
  gate.WaitDone(11);
  // The running task, then "polite": not behind the flood's other nine.
  std::vector<std::string> first(gate.ran.begin(), gate.ran.begin() + 2);
  EXPECT_EQ(first, (std::vector<std::string>{"flood0", "polite"}));
  pool.Stop();
}

TEST(FairPoolTest, RefusesPastAKeysShareAndPastTheWhole) {
  ThreadPool pool("fair-test", 1, 6);
  FairPool fair(pool, 3);
  Gate gate;
  ASSERT_EQ(fair.Submit("a", [&] { gate.Wait(); }), FairPool::Submitted::kQueued);  // running
  for (int i = 0; i < 3; ++i) EXPECT_EQ(fair.Submit("a", [] {}), FairPool::Submitted::kQueued);
  EXPECT_EQ(fair.Submit("a", [] {}), FairPool::Submitted::kKeyFull);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(fair.Submit("b" + std::to_string(i), [] {}), FairPool::Submitted::kQueued);
  EXPECT_EQ(fair.Submit("c", [] {}), FairPool::Submitted::kFull);
  gate.Open();
  pool.Stop();
}

// What the hashing queue's metrics read: the tasks waiting for the pool
// (not those running) and how long the first of them has waited.
TEST(FairPoolTest, CountsAndAgesWhatWaitsForThePool) {
  ThreadPool pool("fair-test", 1, 6);
  FairPool fair(pool, 3);
  Gate gate;
  EXPECT_EQ(fair.Queued(), 0u);
  EXPECT_EQ(fair.OldestWait(), std::chrono::steady_clock::duration::zero());
  ASSERT_EQ(fair.Submit("a", [&] { gate.Wait(); }), FairPool::Submitted::kQueued);  // running, not waiting
  EXPECT_EQ(fair.Queued(), 0u);
  ASSERT_EQ(fair.Submit("a", [&] { gate.Ran("a"); }), FairPool::Submitted::kQueued);
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  ASSERT_EQ(fair.Submit("b", [&] { gate.Ran("b"); }), FairPool::Submitted::kQueued);
  EXPECT_EQ(fair.Queued(), 2u);
  EXPECT_GE(fair.OldestWait(), std::chrono::milliseconds(30));
  gate.Open();
  gate.WaitDone(2);
  EXPECT_EQ(fair.Queued(), 0u);
  EXPECT_EQ(fair.OldestWait(), std::chrono::steady_clock::duration::zero());
  pool.Stop();
}

}  // namespace
}  // namespace natter
