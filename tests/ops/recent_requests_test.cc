#include "ops/recent_requests.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace natter::ops {
namespace {

TEST(RecentRequests, TheNewestFirstUpToTheRingsSize) {
  for (uint64_t id = 1; id <= 40; ++id) RecordRecentRequest(1000 + id);
  uint64_t ids[kRecentRequests + 4];
  ASSERT_EQ(NewestRequests(ids, kRecentRequests + 4), kRecentRequests);
  for (size_t i = 0; i < kRecentRequests; ++i) EXPECT_EQ(ids[i], 1040 - i) << i;
  ASSERT_EQ(NewestRequests(ids, 3), 3u);
  EXPECT_EQ(ids[0], 1040u);
  EXPECT_EQ(ids[2], 1038u);
}

TEST(RecentRequests, ThreadsRecordAtOnce) {
  std::vector<std::thread> threads;
  for (uint64_t t = 0; t < 4; ++t) {
    threads.emplace_back([t] {
      for (uint64_t i = 0; i < 10000; ++i) RecordRecentRequest((t + 1) << 32 | i);
    });
  }
  for (auto& th : threads) th.join();
  uint64_t ids[kRecentRequests];
  ASSERT_EQ(NewestRequests(ids, kRecentRequests), kRecentRequests);
  // Every slot holds an id one of them recorded near its end.
  for (uint64_t id : ids) {
    EXPECT_GE(id >> 32, 1u);
    EXPECT_LE(id >> 32, 4u);
    EXPECT_GE(id & 0xffffffff, 10000u - 4 * kRecentRequests);
  }
}

}  // namespace
}  // namespace natter::ops
