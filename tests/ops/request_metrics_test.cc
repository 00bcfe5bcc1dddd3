#include "ops/request_metrics.h"

#include <gtest/gtest.h>

namespace natter::ops {
namespace {

TEST(RequestMetrics, CountsByMethodAndCodeAndStartsTheAlertedCodesAtZero) {
  RequestMetrics m;
  m.SetMethodNames({"ping", "messages.send", "auth.login"});
  m.Record(1, std::nullopt, 1500);
  m.Record(1, std::nullopt, 300);
  m.Record(1, ErrorCode::kForbidden, 100);
  m.Record(2, ErrorCode::kTokenExpired, 100);
  m.Record(99, std::nullopt, 1);  // past the table: ignored
  std::string out;
  m.Render(out);
  EXPECT_NE(out.find("natter_requests_total{method=\"messages.send\",code=\"ok\"} 2\n"), std::string::npos) << out;
  EXPECT_NE(out.find("natter_requests_total{method=\"messages.send\",code=\"forbidden\"} 1\n"), std::string::npos);
  EXPECT_NE(out.find("natter_requests_total{method=\"auth.login\",code=\"token_expired\"} 1\n"), std::string::npos);
  // A method never called has only the series alerts need, at 0; no latency.
  EXPECT_NE(out.find("natter_requests_total{method=\"ping\",code=\"ok\"} 0\n"), std::string::npos);
  EXPECT_NE(out.find("natter_requests_total{method=\"ping\",code=\"internal\"} 0\n"), std::string::npos);
  EXPECT_NE(out.find("natter_requests_total{method=\"ping\",code=\"unavailable\"} 0\n"), std::string::npos);
  EXPECT_EQ(out.find("natter_requests_total{method=\"ping\",code=\"forbidden\"}"), std::string::npos);
  EXPECT_EQ(out.find("natter_request_duration_seconds_count{method=\"ping\"}"), std::string::npos);
  EXPECT_NE(out.find("natter_request_duration_seconds_bucket{method=\"messages.send\",le=\"0.0025\"} 3\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("natter_request_duration_seconds_count{method=\"messages.send\"} 3\n"), std::string::npos);
  EXPECT_EQ(m.Count(1, std::nullopt), 2u);
}

}  // namespace
}  // namespace natter::ops
