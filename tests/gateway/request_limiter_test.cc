#include "gateway/request_limiter.h"

#include <gtest/gtest.h>

namespace natter::gateway {
namespace {

GatewayOptions Rates(double per_second, double burst, double typing) {
  GatewayOptions o;
  o.requests_per_second = per_second;
  o.request_burst = burst;
  o.typing_per_second = typing;
  return o;
}

TEST(RequestLimiter, NewRatesChangeTheSharedBudgetsAndTellConnectionsByGeneration) {
  RequestLimiter limiter(Rates(1, 5, 0.5));
  int64_t t = 1'000'000;
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(limiter.TakeHttp(7, "10.0.0.1", t));
  EXPECT_EQ(limiter.generation(), 0u);

  limiter.SetRates(Rates(1, 10, 2));
  EXPECT_EQ(limiter.generation(), 1u);
  EXPECT_TRUE(limiter.TakeHttp(7, "10.0.0.1", t));                               // what was left
  EXPECT_FALSE(limiter.TakeHttp(7, "10.0.0.1", t));                              // a larger size gives nothing at once
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(limiter.TakeHttp(8, "10.0.0.1", t));  // a new user: the new size

  limiter.SetRates(Rates(1, 2, 0.5));
  EXPECT_EQ(limiter.generation(), 2u);
  EXPECT_TRUE(limiter.TakeAnonymous("10.0.0.2", t));
  EXPECT_TRUE(limiter.TakeAnonymous("10.0.0.2", t));
  EXPECT_FALSE(limiter.TakeAnonymous("10.0.0.2", t));
  auto rates = limiter.connection_rates();
  EXPECT_EQ(rates.requests_per_second, 1);
  EXPECT_EQ(rates.request_burst, 2);
  EXPECT_EQ(rates.typing_per_second, 0.5);
}

}  // namespace
}  // namespace natter::gateway
