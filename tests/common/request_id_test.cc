#include "common/request_id.h"

#include <gtest/gtest.h>

#include <thread>

#include "common/thread_pool.h"

namespace natter {
namespace {

TEST(Traceparent, TakesTheTraceIdOfAValidHeader) {
  // The example of the W3C Trace Context recommendation.
  auto id = ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->Hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
}

TEST(Traceparent, AcceptsALaterVersionWithMoreFields) {
  auto id = ParseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra");
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->Hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
}

TEST(Traceparent, RefusesWhatTheSpecificationCallsInvalid) {
  for (const char* bad : {
           "", "garbage",
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",    // uppercase
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01",    // zero trace id
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",    // zero parent id
           "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // version ff
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",  // version 00 with more
           "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",   // later version, no dash
           "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",    // dashes out of place
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",    // flags not hex
       }) {
    EXPECT_FALSE(ParseTraceparent(bad).has_value()) << bad;
  }
}

TEST(RequestId, HexRoundTripsAndNewIdsDiffer) {
  RequestId a = NewRequestId(), b = NewRequestId();
  EXPECT_FALSE(a.empty());
  EXPECT_NE(a, b);
  EXPECT_EQ(a.Hex().size(), 32u);
  EXPECT_EQ(ParseRequestIdHex(a.Hex()), a);
  EXPECT_FALSE(ParseRequestIdHex("xyz").has_value());
  EXPECT_EQ(RequestId{}.Hex(), "");
}

TEST(RequestId, ScopesNestAndRestore) {
  RequestId outer{1, 2}, inner{3, 4};
  EXPECT_TRUE(CurrentRequestId().empty());
  {
    ScopedRequestId a(outer);
    EXPECT_EQ(CurrentRequestId(), outer);
    {
      ScopedRequestId b(inner);
      EXPECT_EQ(CurrentRequestId(), inner);
    }
    EXPECT_EQ(CurrentRequestId(), outer);
  }
  EXPECT_TRUE(CurrentRequestId().empty());
}

TEST(RequestId, FollowsWorkHandedToAThreadPool) {
  ThreadPool pool("test", 1, 8);
  RequestId seen{9, 9}, none{9, 9};
  {
    ScopedRequestId scope(RequestId{5, 6});
    ASSERT_TRUE(pool.Submit([&] { seen = CurrentRequestId(); }));
  }
  ASSERT_TRUE(pool.Submit([&] { none = CurrentRequestId(); }));
  pool.Stop();
  EXPECT_EQ(seen, (RequestId{5, 6}));
  EXPECT_TRUE(none.empty());  // work submitted outside a request carries none
}

}  // namespace
}  // namespace natter
