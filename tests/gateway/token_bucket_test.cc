#include "gateway/token_bucket.h"

#include <gtest/gtest.h>

namespace natter::gateway {
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

}  // namespace
}  // namespace natter::gateway
