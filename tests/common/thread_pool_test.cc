#include "common/thread_pool.h"

#include <gtest/gtest.h>

#include <future>
#include <stdexcept>

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

}  // namespace
}  // namespace natter
