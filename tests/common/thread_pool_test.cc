#include "common/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
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

// Occupies the pool's one thread until Release(): what is submitted next waits.
class Occupied {
 public:
  explicit Occupied(ThreadPool& pool, std::function<void()> after = {}) {
    // Shared: the task may still be inside set_value() when the wait returns.
    auto started = std::make_shared<std::promise<void>>();
    auto running = started->get_future();
    EXPECT_TRUE(pool.Submit([started, released = release_.get_future().share(), after = std::move(after)] {
      started->set_value();
      released.wait();
      if (after) after();
    }));
    running.wait();
  }
  ~Occupied() { Release(); }
  void Release() {
    if (!released_) release_.set_value();
    released_ = true;
  }

 private:
  std::promise<void> release_;
  bool released_ = false;
};

TEST(ThreadPool, TheOldestWaitIsOfTheTaskQueuedFirst) {
  ThreadPool pool("test-pool", 1, 8);
  EXPECT_EQ(pool.OldestWait(), std::chrono::steady_clock::duration::zero());
  Occupied busy(pool);
  EXPECT_EQ(pool.OldestWait(), std::chrono::steady_clock::duration::zero());  // running is not waiting
  std::promise<void> ran;
  ASSERT_TRUE(pool.Submit([&] { ran.set_value(); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_GE(pool.OldestWait(), std::chrono::milliseconds(30));
  busy.Release();
  ran.get_future().wait();
  EXPECT_EQ(pool.OldestWait(), std::chrono::steady_clock::duration::zero());
}

TEST(ThreadPool, RefusesPastItsBound) {
  ThreadPool pool("test-pool", 1, 1);
  Occupied busy(pool);
  EXPECT_TRUE(pool.Submit([] {}));   // queued
  EXPECT_FALSE(pool.Submit([] {}));  // the queue holds one
}

// Stopping without waiting for the queue: the task under way finishes, the
// queued ones are destroyed unrun (what they hold released), and nothing is
// taken afterwards.
TEST(ThreadPool, StopDiscardingDropsWhatIsQueued) {
  ThreadPool pool("test-pool", 1, 8);
  std::atomic<int> ran{0};
  Occupied busy(pool, [&ran] { ++ran; });
  auto held = std::make_shared<int>(1);
  ASSERT_TRUE(pool.Submit([&ran, held] { ran += 10; }));
  std::thread stopper([&] { pool.StopDiscarding(); });
  // The queued task is gone before the running one ends.
  for (int i = 0; i < 1000 && held.use_count() > 1; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(held.use_count(), 1);
  busy.Release();
  stopper.join();
  EXPECT_EQ(ran.load(), 1);
  EXPECT_FALSE(pool.Submit([] {}));
}

}  // namespace
}  // namespace natter
