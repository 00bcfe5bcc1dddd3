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

TEST(KeyedBuckets, ANewRateReachesKeysSeenAndKeysToComeAndKeepsWhatWasSpent) {
  KeyedBuckets<int> b(1, 10);
  int64_t t = 1'000'000;
  EXPECT_TRUE(b.Take(1, t, 8));  // 2 left
  b.SetRate(100, 3);
  EXPECT_FALSE(b.Take(1, t, 3));          // still 2: spending is not forgiven
  EXPECT_TRUE(b.Take(1, t + 10'000, 3));  // 100/s: one more in 10 ms
  EXPECT_FALSE(b.Take(2, t, 4));          // a new key gets the new size
  EXPECT_TRUE(b.Take(2, t, 3));
  EXPECT_FALSE(b.Take(1, t + 1'000'000, 4));  // refills only to the new size
  b.SetRate(1, 20);
  EXPECT_FALSE(b.Take(3, t, 21));
  EXPECT_TRUE(b.Take(3, t, 20));
}

TEST(TokenBucket, ASmallerSizeCutsWhatIsLeftAndALargerOneFillsOverTime) {
  TokenBucket b(10, 10);
  int64_t t = 1'000'000;
  EXPECT_TRUE(b.TryTake(t));  // 9 left
  b.SetRate(10, 4);
  EXPECT_TRUE(b.TryTake(t, 4));
  EXPECT_FALSE(b.TryTake(t));
  b.SetRate(10, 50);
  EXPECT_FALSE(b.TryTake(t + 1'000'000, 11));  // 10 came in a second
  EXPECT_TRUE(b.TryTake(t + 1'000'000, 10));
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
