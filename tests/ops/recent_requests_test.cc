#include "ops/recent_requests.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace natter::ops {
namespace {

TEST(RecentRequests, TheNewestFirstUpToTheRingsSize) {
  for (uint64_t id = 1; id <= 40; ++id) RecordRecentRequest(RequestId{7, 1000 + id});
  RequestId ids[kRecentRequests + 4];
  ASSERT_EQ(NewestRequests(ids, kRecentRequests + 4), kRecentRequests);
  for (size_t i = 0; i < kRecentRequests; ++i) EXPECT_EQ(ids[i], (RequestId{7, 1040 - i})) << i;
  ASSERT_EQ(NewestRequests(ids, 3), 3u);
  EXPECT_EQ(ids[0].lo, 1040u);
  EXPECT_EQ(ids[2].lo, 1038u);
}

TEST(RecentRequests, ThreadsRecordAtOnce) {
  std::vector<std::thread> threads;
  for (uint64_t t = 0; t < 4; ++t) {
    threads.emplace_back([t] {
      for (uint64_t i = 0; i < 10000; ++i) RecordRecentRequest(RequestId{t + 1, (t + 1) << 32 | i});
    });
  }
  for (auto& th : threads) th.join();
  RequestId recent[kRecentRequests];
  ASSERT_EQ(NewestRequests(recent, kRecentRequests), kRecentRequests);
  // Every slot holds an id one of them recorded near its end.
  for (const RequestId& r : recent) {
    uint64_t id = r.lo;
    EXPECT_GE(id >> 32, 1u);
    EXPECT_LE(id >> 32, 4u);
    EXPECT_GE(id & 0xffffffff, 10000u - 4 * kRecentRequests);
  }
}

}  // namespace
}  // namespace natter::ops
