// How the pre-send hook's answer is read (docs/webhooks.md): 204 or accept
// keep the text, accept with text rewrites it, reject refuses with the
// reason; anything else is no answer, and the configured default applies.
#include <gtest/gtest.h>

#include "hooks/presend_hook.h"

namespace natter::hooks {
namespace {

push::HttpResponse Answer(int status, std::string body = "") {
  push::HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  if (status == 0) r.error = "Operation timed out";
  return r;
}

class PresendAnswer : public ::testing::Test {
 protected:
  Result<std::string> Read(const push::HttpResponse& answer) {
    return ReadPresendAnswer(answer, call, options, &failure);
  }
  PresendCall call{false, 7, 9, 0, "c1", "hello darn", {}};
  PresendOptions options;
  std::string failure;
};

TEST_F(PresendAnswer, AcceptKeepsOrRewritesTheText) {
  EXPECT_EQ(*Read(Answer(204)), "hello darn");
  EXPECT_EQ(*Read(Answer(200, R"({"action":"accept"})")), "hello darn");
  EXPECT_EQ(*Read(Answer(200, R"({"action":"accept","text":"hello d**n"})")), "hello d**n");
  EXPECT_TRUE(failure.empty());
}

TEST_F(PresendAnswer, ARewriteLongerThanTheRequestsLimitIsNoAnswer) {
  call.max_text_bytes = 12;  // the limit when the request began (a reload may change it)
  EXPECT_EQ(*Read(Answer(200, R"({"action":"accept","text":"twelve bytes"})")), "twelve bytes");
  EXPECT_EQ(*Read(Answer(200, R"({"action":"accept","text":"thirteen byte"})")), "hello darn");  // accept on failure
  EXPECT_FALSE(failure.empty());
}

TEST_F(PresendAnswer, RejectIsForbiddenWithTheReason) {
  auto r = Read(Answer(200, R"({"action":"reject","reason":"no links"})"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kForbidden);
  EXPECT_EQ(r.error().message, "rejected: no links");
  r = Read(Answer(200, R"({"action":"reject","reason":")" + std::string(600, 'x') + "\"}"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "rejected by the server's message policy") << "an overlong reason is not passed on";
  EXPECT_TRUE(failure.empty());
}

TEST_F(PresendAnswer, NoUsableAnswerAppliesTheDefault) {
  const std::vector<push::HttpResponse> unusable = {
      Answer(0),
      Answer(500),
      Answer(302),
      Answer(200, "not json"),
      Answer(200, "[]"),
      Answer(200, R"({"verdict":"accept"})"),
      Answer(200, R"({"action":"maybe"})"),
      Answer(200, R"({"action":"accept","text":42})"),
      Answer(200, R"({"action":"accept","text":""})"),
      Answer(200, R"({"action":"accept","text":"\ud800"})"),
      Answer(200, R"({"action":"accept","text":")" + std::string(20000, 'x') + "\"}"),
  };
  for (const auto& answer : unusable) {
    options.accept_on_failure = true;
    auto accepted = Read(answer);
    ASSERT_TRUE(accepted.ok()) << answer.body;
    EXPECT_EQ(*accepted, "hello darn") << answer.body;
    EXPECT_FALSE(failure.empty()) << answer.body;
    options.accept_on_failure = false;
    auto refused = Read(answer);
    ASSERT_FALSE(refused.ok()) << answer.body;
    EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable) << answer.body;
  }
}

TEST_F(PresendAnswer, AnEmptyRewriteIsAllowedOnlyWithAttachments) {
  call.captions = {"a photo"};
  EXPECT_EQ(*Read(Answer(200, R"({"action":"accept","text":""})")), "");
  EXPECT_TRUE(failure.empty());
}

}  // namespace
}  // namespace natter::hooks
