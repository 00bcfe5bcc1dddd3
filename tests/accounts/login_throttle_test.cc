#include "accounts/login_throttle.h"

#include <gtest/gtest.h>

namespace natter::accounts {
namespace {

using Outcome = LoginThrottle::Outcome;

bool Attempt(LoginThrottle& t, const std::string& account, const std::string& address, int64_t now, Outcome outcome) {
  LoginThrottle::Reservation held;
  if (!t.Reserve(account, address, now, held)) return false;
  t.Finish(account, address, held, outcome, now);
  return true;
}

TEST(LoginThrottle, RefusesAfterTooManyFailuresUntilTheWindowPasses) {
  LoginThrottle t(3, 1000);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(Attempt(t, "h:k", "a:1", 100, Outcome::kFailed));
  EXPECT_FALSE(Attempt(t, "h:k", "a:2", 200, Outcome::kFailed));      // the account is used up
  EXPECT_FALSE(Attempt(t, "h:other", "a:1", 200, Outcome::kFailed));  // and so is the address
  EXPECT_TRUE(Attempt(t, "h:other", "a:2", 200, Outcome::kFailed));
  EXPECT_TRUE(Attempt(t, "h:k", "a:1", 1100, Outcome::kFailed));
}

TEST(LoginThrottle, ANewLimitAppliesToFailuresAlreadyCounted) {
  LoginThrottle t(5, 1000);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(Attempt(t, "h:k", "a:" + std::to_string(i), 100, Outcome::kFailed));
  t.SetMaxFailures(3);
  EXPECT_FALSE(Attempt(t, "h:k", "a:9", 200, Outcome::kFailed));
  t.SetMaxFailures(4);
  EXPECT_TRUE(Attempt(t, "h:k", "a:9", 200, Outcome::kFailed));
  EXPECT_FALSE(Attempt(t, "h:k", "a:8", 200, Outcome::kFailed));
}

// The defect this guards against: the limit was checked before hashing and
// failures counted after it, so a burst of simultaneous guesses was checked
// whole. Attempts in progress now count.
TEST(LoginThrottle, AttemptsInProgressCountAgainstTheLimit) {
  LoginThrottle t(3, 1000);
  LoginThrottle::Reservation held[3];
  for (auto& h : held) EXPECT_TRUE(t.Reserve("h:k", "a:1", 0, h));
  LoginThrottle::Reservation more;
  EXPECT_FALSE(t.Reserve("h:k", "a:2", 0, more));
  // An attempt that was never checked (storage failed) gives its place back.
  t.Finish("h:k", "a:1", held[0], Outcome::kUndecided, 0);
  EXPECT_TRUE(t.Reserve("h:k", "a:2", 0, more));
  t.Finish("h:k", "a:2", more, Outcome::kFailed, 0);
  t.Finish("h:k", "a:1", held[1], Outcome::kFailed, 0);
  t.Finish("h:k", "a:1", held[2], Outcome::kFailed, 0);
  EXPECT_FALSE(t.Reserve("h:k", "a:3", 0, more));
}

TEST(LoginThrottle, SuccessClearsTheAccountNotTheAddress) {
  LoginThrottle t(2, 1000);
  EXPECT_TRUE(Attempt(t, "h:k", "a:1", 0, Outcome::kFailed));
  EXPECT_TRUE(Attempt(t, "h:k", "a:1", 0, Outcome::kSucceeded));
  EXPECT_TRUE(Attempt(t, "h:y", "a:1", 0, Outcome::kFailed));
  EXPECT_FALSE(Attempt(t, "h:z", "a:1", 0, Outcome::kFailed));  // a:1 kept its first failure
  EXPECT_TRUE(Attempt(t, "h:k", "a:8", 0, Outcome::kFailed));
  EXPECT_TRUE(Attempt(t, "h:k", "a:9", 0, Outcome::kFailed));  // h:k's first failure was cleared
  EXPECT_FALSE(Attempt(t, "h:k", "a:7", 0, Outcome::kFailed));
}

TEST(LoginThrottle, MemoryIsBounded) {
  LoginThrottle t(1, 1000, 10);
  for (int i = 0; i < 100; ++i) Attempt(t, "h:" + std::to_string(i), "a:" + std::to_string(i), 0, Outcome::kFailed);
  int refused = 0;
  for (int i = 0; i < 100; ++i) refused += !Attempt(t, "h:" + std::to_string(i), "a:x", 1, Outcome::kUndecided);
  EXPECT_EQ(refused, 5);  // the first five attempts' two keys filled the table
}

}  // namespace
}  // namespace natter::accounts
