#include "push/provider_requests.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <map>

namespace natter::push {
namespace {

namespace json = boost::json;
using Next = Verdict::Next;

Notification Alert() {
  Notification n;
  n.title = "alice";
  n.body = "see you at 10";
  n.badge = 3;
  n.conversation_id = 42;
  n.seq = 7;
  return n;
}

TEST(ProviderRequestsTest, ApnsAlertHasTheHeadersAndPayloadAppleWants) {
  ApnsRequest r = BuildApnsRequest(Alert(), "a1b2c3", "com.example.chat");
  EXPECT_EQ(r.path, "/3/device/a1b2c3");
  std::map<std::string, std::string> h(r.headers.begin(), r.headers.end());
  EXPECT_EQ(h["apns-topic"], "com.example.chat");
  EXPECT_EQ(h["apns-push-type"], "alert");
  EXPECT_EQ(h["apns-priority"], "10");
  EXPECT_EQ(h["apns-collapse-id"], "c42");
  EXPECT_FALSE(h.contains("apns-expiration"));  // APNs keeps it until the device comes back
  Notification soon = Alert();
  soon.expires_at = 1'800'000'000;
  ApnsRequest expiring = BuildApnsRequest(soon, "a1b2c3", "t");
  std::map<std::string, std::string> hs(expiring.headers.begin(), expiring.headers.end());
  EXPECT_EQ(hs["apns-expiration"], "1800000000");
  EXPECT_EQ(json::parse(r.body), json::parse(R"({"aps":{"badge":3,"alert":{"body":"see you at 10","title":"alice"},
      "sound":"default","thread-id":"c42"},"natter":{"conversation_id":42,"seq":7}})"));
}

TEST(ProviderRequestsTest, LongPreviewsAreCutAtACharacterBoundary) {
  Notification n = Alert();
  n.body = std::string(1023, 'a') + "\xC3\xA9" + std::string(3000, 'b');  // an é across the cut
  auto apns = json::parse(BuildApnsRequest(n, "t", "t").body);
  std::string body(apns.at("aps").at("alert").at("body").as_string());
  EXPECT_EQ(body, std::string(1023, 'a') + "\xE2\x80\xA6");
  auto fcm = json::parse(BuildFcmMessage(n, "t"));
  EXPECT_EQ(std::string(fcm.at("message").at("notification").at("body").as_string()), body);
}

TEST(ProviderRequestsTest, ApnsBadgeIsASilentAlertAndClearABackgroundPush) {
  Notification badge = Alert();
  badge.kind = Notification::Kind::kBadge;
  ApnsRequest b = BuildApnsRequest(badge, "a1b2c3", "com.example.chat");
  std::map<std::string, std::string> hb(b.headers.begin(), b.headers.end());
  EXPECT_EQ(hb["apns-push-type"], "alert");
  EXPECT_EQ(hb["apns-priority"], "5");
  EXPECT_EQ(json::parse(b.body), json::parse(R"({"aps":{"badge":3},"natter":{"conversation_id":42,"seq":7}})"));

  Notification n = Alert();
  n.kind = Notification::Kind::kClear;
  ApnsRequest r = BuildApnsRequest(n, "a1b2c3", "com.example.chat");
  std::map<std::string, std::string> h(r.headers.begin(), r.headers.end());
  EXPECT_EQ(h["apns-push-type"], "background");
  EXPECT_EQ(h["apns-priority"], "5");
  EXPECT_EQ(json::parse(r.body), json::parse(R"({"aps":{"content-available":1},
      "natter":{"conversation_id":42,"seq":7,"clear":true,"badge":3}})"));
}

TEST(ProviderRequestsTest, FcmMessagesCarryStringDataAndCollapse) {
  auto alert = json::parse(BuildFcmMessage(Alert(), "tok")).as_object().at("message").as_object();
  EXPECT_EQ(alert.at("token"), "tok");
  EXPECT_EQ(alert.at("notification"), json::parse(R"({"body":"see you at 10","title":"alice"})"));
  EXPECT_EQ(alert.at("data"), json::parse(R"({"conversation_id":"42","seq":"7","badge":"3","kind":"message"})"));
  EXPECT_EQ(alert.at("android"), json::parse(R"({"priority":"HIGH","collapse_key":"c42",
      "notification":{"tag":"c42","notification_count":3}})"));

  Notification hidden = Alert();
  hidden.kind = Notification::Kind::kBadge;
  auto badge = json::parse(BuildFcmMessage(hidden, "tok")).as_object().at("message").as_object();
  EXPECT_FALSE(badge.contains("notification"));  // a data message: nothing shown
  EXPECT_EQ(badge.at("data").at("kind"), "badge");
  EXPECT_EQ(badge.at("android").at("priority"), "NORMAL");
}

TEST(ProviderRequestsTest, ApnsAnswersSayWhatToDo) {
  EXPECT_EQ(ReadApnsAnswer(200, "", "").next, Next::kSent);
  EXPECT_EQ(ReadApnsAnswer(410, R"({"reason":"Unregistered","timestamp":1})", "").next, Next::kDropDevice);
  EXPECT_EQ(ReadApnsAnswer(400, R"({"reason":"BadDeviceToken"})", "").next, Next::kDropDevice);
  EXPECT_EQ(ReadApnsAnswer(400, R"({"reason":"PayloadTooLarge"})", "").next, Next::kFail);
  EXPECT_EQ(ReadApnsAnswer(400, R"({"reason":"DeviceTokenNotForTopic"})", "").next, Next::kFail);
  EXPECT_EQ(ReadApnsAnswer(403, R"({"reason":"InvalidProviderToken"})", "").next, Next::kFail);
  EXPECT_EQ(ReadApnsAnswer(403, R"({"reason":"ExpiredProviderToken"})", "").next, Next::kRenewAuth);
  Verdict busy = ReadApnsAnswer(429, R"({"reason":"TooManyRequests"})", "30");
  EXPECT_EQ(busy.next, Next::kRetry);
  EXPECT_EQ(busy.reason, "TooManyRequests");
  EXPECT_EQ(busy.retry_after, std::chrono::seconds(30));
  EXPECT_EQ(ReadApnsAnswer(503, "not json", "").next, Next::kRetry);
  EXPECT_EQ(ReadApnsAnswer(503, "not json", "").reason, "HTTP 503");
}

TEST(ProviderRequestsTest, FcmAnswersSayWhatToDo) {
  auto error = [](int code, const char* status, const char* fcm_code) {
    return std::string(R"({"error":{"code":)") + std::to_string(code) + R"(,"message":"m","status":")" + status +
           R"(","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":")" + fcm_code +
           R"("}]}})";
  };
  EXPECT_EQ(ReadFcmAnswer(200, R"({"name":"projects/p/messages/1"})", "").next, Next::kSent);
  EXPECT_EQ(ReadFcmAnswer(404, error(404, "NOT_FOUND", "UNREGISTERED"), "").next, Next::kDropDevice);
  // INVALID_ARGUMENT drops the token only when it names the token; a message
  // too large is not the device's fault.
  auto invalid = [](const char* field) {
    return std::string(R"({"error":{"code":400,"status":"INVALID_ARGUMENT","details":[
        {"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"INVALID_ARGUMENT"},
        {"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[{"field":")") +
           field + R"(","description":"x"}]}]}})";
  };
  EXPECT_EQ(ReadFcmAnswer(400, invalid("message.token"), "").next, Next::kDropDevice);
  EXPECT_EQ(ReadFcmAnswer(400, invalid("message.android.ttl"), "").next, Next::kFail);
  EXPECT_EQ(ReadFcmAnswer(400, error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT"), "").next, Next::kFail);
  EXPECT_EQ(ReadFcmAnswer(403, error(403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH"), "").next, Next::kFail);
  EXPECT_EQ(ReadFcmAnswer(401, R"({"error":{"code":401,"status":"UNAUTHENTICATED"}})", "").next, Next::kRenewAuth);
  EXPECT_EQ(ReadFcmAnswer(401, error(401, "UNAUTHENTICATED", "THIRD_PARTY_AUTH_ERROR"), "").next, Next::kFail);
  Verdict quota = ReadFcmAnswer(429, error(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED"), "12");
  EXPECT_EQ(quota.next, Next::kRetry);
  EXPECT_EQ(quota.reason, "QUOTA_EXCEEDED");
  EXPECT_EQ(quota.retry_after, std::chrono::seconds(12));
  EXPECT_EQ(ReadFcmAnswer(503, "", "Wed, 21 Oct 2026 07:28:00 GMT").retry_after, std::chrono::seconds(0));
}

}  // namespace
}  // namespace natter::push
