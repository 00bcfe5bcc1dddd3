#include "common/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <memory>
#include <stdexcept>
#include <thread>

namespace natter {
namespace {

// A task that throws (a bug) is logged; the pool's thread runs the next one
// instead of ending the process.
TEST(ThreadPool, ATaskThatThrowsLeavesThePoolServing) {
  ThreadPool pool("test-pool", 1, 8);
  ASSERT_TRUE(pool.Submit([] { throw std::runtime_error("bug in a task"); }));
  std::promise<int> next;
  ASSERT_TRUE(pool.Submit([&] { next.set_value(7); }));
  auto f = next.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(f.get(), 7);
}

TEST(ThreadPool, RefusesPastItsBound) {
  ThreadPool pool("test-pool", 1, 1);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> started;
  ASSERT_TRUE(pool.Submit([&, released] {
    started.set_value();
    released.wait();
  }));
  started.get_future().wait();
  EXPECT_TRUE(pool.Submit([] {}));   // queued
  EXPECT_FALSE(pool.Submit([] {}));  // the queue holds one
  release.set_value();
}

// Stopping without waiting for the queue: the task under way finishes, the
// queued ones are destroyed unrun (what they hold released), and nothing is
// taken afterwards.
TEST(ThreadPool, StopDiscardingDropsWhatIsQueued) {
  ThreadPool pool("test-pool", 1, 8);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> started;
  std::atomic<int> ran{0};
  ASSERT_TRUE(pool.Submit([&, released] {
    started.set_value();
    released.wait();
    ++ran;
  }));
  started.get_future().wait();
  auto held = std::make_shared<int>(1);
  ASSERT_TRUE(pool.Submit([&ran, held] { ran += 10; }));
  std::thread stopper([&] { pool.StopDiscarding(); });
  // The queued task is gone before the running one ends.
  for (int i = 0; i < 1000 && held.use_count() > 1; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(held.use_count(), 1);
  release.set_value();
  stopper.join();
  EXPECT_EQ(ran.load(), 1);
  EXPECT_FALSE(pool.Submit([] {}));
}

}  // namespace
}  // namespace natter
