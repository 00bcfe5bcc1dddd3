#include "accounts/login_throttle.h"

#include <gtest/gtest.h>

namespace natter::accounts {
namespace {

TEST(LoginThrottle, RefusesAfterTooManyFailuresUntilTheWindowPasses) {
  LoginThrottle t(3, 1000);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(t.Allowed("k", 100));
    t.RecordFailure("k", 100);
  }
  EXPECT_FALSE(t.Allowed("k", 200));
  EXPECT_TRUE(t.Allowed("other", 200));
  EXPECT_TRUE(t.Allowed("k", 1100));
}

TEST(LoginThrottle, SuccessClearsTheCount) {
  LoginThrottle t(2, 1000);
  t.RecordFailure("k", 0);
  t.RecordSuccess("k");
  t.RecordFailure("k", 0);
  EXPECT_TRUE(t.Allowed("k", 0));
}

TEST(LoginThrottle, MemoryIsBounded) {
  LoginThrottle t(1, 1000, 10);
  for (int i = 0; i < 100; ++i) t.RecordFailure("k" + std::to_string(i), 0);
  int refused = 0;
  for (int i = 0; i < 100; ++i) refused += !t.Allowed("k" + std::to_string(i), 1);
  EXPECT_EQ(refused, 10);
}

}  // namespace
}  // namespace natter::accounts
