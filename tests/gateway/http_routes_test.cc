#include "gateway/http_routes.h"

#include <gtest/gtest.h>

namespace natter::gateway {
namespace {

TEST(HttpRoutes, MapsPathsToMethods) {
  struct Case {
    const char* verb;
    const char* target;
    const char* method;
  } cases[] = {
      {"POST", "/v1/auth/register", "auth.register"},
      {"POST", "/v1/auth/login", "auth.login"},
      {"POST", "/v1/auth/refresh", "auth.refresh"},
      {"POST", "/v1/auth/logout", "auth.logout"},
      {"GET", "/v1/users/alice", "users.get"},
      {"GET", "/v1/conversations", "conversations.list"},
      {"POST", "/v1/conversations", "conversations.create"},
      {"GET", "/v1/conversations/5", "conversations.get"},
      {"PATCH", "/v1/conversations/5", "conversations.rename"},
      {"GET", "/v1/conversations/5/messages?before=10", "messages.history"},
      {"POST", "/v1/conversations/5/messages", "messages.send"},
      {"POST", "/v1/conversations/5/read", "messages.read"},
      {"POST", "/v1/conversations/5/members", "members.add"},
      {"DELETE", "/v1/conversations/5/members/7", "members.remove"},
      {"PATCH", "/v1/conversations/5/members/7", "members.set_role"},
  };
  for (const auto& c : cases) {
    auto m = MatchRoute(c.verb, c.target, "");
    ASSERT_TRUE(m.ok()) << c.verb << " " << c.target << ": " << m.error().message;
    EXPECT_EQ(m->method->name, c.method) << c.target;
  }
}

TEST(HttpRoutes, PathAndQueryValuesBecomeParams) {
  auto m = MatchRoute("GET", "/v1/conversations/5/messages?before=10&limit=20", "");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->params.at("conversation_id").as_int64(), 5);
  EXPECT_EQ(m->params.at("before").as_int64(), 10);
  EXPECT_EQ(m->params.at("limit").as_int64(), 20);
  auto r = MatchRoute("DELETE", "/v1/conversations/5/members/7", "");
  EXPECT_EQ(r->params.at("user_id").as_int64(), 7);
  auto u = MatchRoute("GET", "/v1/users/12", "");
  EXPECT_EQ(u->params.at("user_id").as_int64(), 12);
}

TEST(HttpRoutes, PathIdsOverrideTheBody) {
  auto m = MatchRoute("POST", "/v1/conversations/5/messages", R"({"conversation_id":6,"text":"hi"})");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->params.at("conversation_id").as_int64(), 5);
  EXPECT_EQ(m->params.at("text").as_string(), "hi");
}

TEST(HttpRoutes, RejectsWhatItCannotRoute) {
  EXPECT_EQ(MatchRoute("GET", "/v2/conversations", "").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(MatchRoute("PUT", "/v1/conversations", "").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(MatchRoute("GET", "/v1/conversations/abc", "").error().code, ErrorCode::kBadRequest);
  EXPECT_EQ(MatchRoute("GET", "/v1/conversations/-1", "").error().code, ErrorCode::kBadRequest);
  EXPECT_EQ(MatchRoute("POST", "/v1/conversations", "[1,2]").error().code, ErrorCode::kBadRequest);
  EXPECT_EQ(MatchRoute("POST", "/v1/conversations", "{bad json").error().code, ErrorCode::kBadRequest);
  // An id is checked before the rest of the path: a malformed one answers 400
  // even where nothing would have matched after it.
  EXPECT_EQ(MatchRoute("GET", "/v1/conversations/abc/foo", "").error().code, ErrorCode::kBadRequest);
  EXPECT_EQ(MatchRoute("GET", "/v1/conversations/abc/x/y/z", "").error().code, ErrorCode::kBadRequest);
  EXPECT_EQ(MatchRoute("GET", "/v1/conversations/1/messages/abc/foo", "").error().message, "malformed seq in the path");
  EXPECT_EQ(MatchRoute("PUT", "/v1/conversations/abc", "").error().message, "malformed conversation_id in the path");
  EXPECT_EQ(MatchRoute("GET", "/v1/conversations/5/foo", "").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(MatchRoute("GET", "/v1/users/abc/def", "").error().code, ErrorCode::kNotFound);
  std::string deep(100, '[');
  EXPECT_EQ(MatchRoute("POST", "/v1/conversations", deep).error().code, ErrorCode::kBadRequest);
}

}  // namespace
}  // namespace natter::gateway
