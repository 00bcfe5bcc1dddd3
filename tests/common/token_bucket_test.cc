#include "common/token_bucket.h"

#include <gtest/gtest.h>

namespace natter {
namespace {

TEST(TokenBucket, AllowsABurstThenTheRate) {
  TokenBucket b(10, 5);  // 10/s, burst 5
  int64_t t = 1'000'000;
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(b.TryTake(t));
  EXPECT_FALSE(b.TryTake(t));
  EXPECT_FALSE(b.TryTake(t + 50'000));  // half a token
  EXPECT_TRUE(b.TryTake(t + 100'000));  // one token after 100 ms
  EXPECT_FALSE(b.TryTake(t + 100'000));
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(b.TryTake(t + 10'000'000));  // refills only to the burst
  EXPECT_FALSE(b.TryTake(t + 10'000'000));
}

TEST(KeyedBuckets, KeysHaveTheirOwnBudgetAndManyTokensAreTakenWholeOrNot) {
  KeyedBuckets<int> b(1, 10);  // 1/s, burst 10
  int64_t t = 1'000'000;
  EXPECT_TRUE(b.Take(1, t, 8));
  EXPECT_FALSE(b.Take(1, t, 3));  // 2 left: none taken
  EXPECT_TRUE(b.Take(1, t, 2));
  EXPECT_TRUE(b.Take(2, t, 10));  // another key
  EXPECT_TRUE(b.Take(1, t + 1'000'000));
}

TEST(KeyedBuckets, MemoryIsBoundedByForgettingRefilledBuckets) {
  KeyedBuckets<int> b(1, 1, 2);
  int64_t t = 1'000'000;
  EXPECT_TRUE(b.Take(1, t));
  EXPECT_TRUE(b.Take(2, t));
  EXPECT_TRUE(b.Take(3, t));              // the table is full and nothing refilled: not held
  EXPECT_FALSE(b.Take(1, t));             // key 1 is still held and empty
  EXPECT_TRUE(b.Take(4, t + 2'000'000));  // 1 and 2 refilled and were forgotten
  EXPECT_TRUE(b.Take(1, t + 2'000'000));
}

}  // namespace
}  // namespace natter
