// Reading what a push from natterd names (libnatter/src/push_payload.h), in
// the shapes APNs and FCM deliver it to an app.
#include "push_payload.h"

#include <gtest/gtest.h>

namespace natter::client {
namespace {

PushTarget Read(std::string_view json) {
  std::string why;
  auto t = ReadPushPayload(json, why);
  EXPECT_TRUE(t.has_value()) << json << ": " << why;
  return t.value_or(PushTarget{});
}

TEST(PushPayload, ApnsAlertBadgeAndClear) {
  auto alert = Read(R"({"aps":{"alert":{"body":"hi"},"badge":3},"natter":{"conversation_id":42,"seq":7}})");
  EXPECT_EQ(alert.conversation_id, 42);
  EXPECT_EQ(alert.seq, 7);
  EXPECT_EQ(alert.kind, "message");
  EXPECT_EQ(alert.badge, 3);
  EXPECT_EQ(Read(R"({"aps":{"badge":4},"natter":{"conversation_id":42,"seq":8}})").kind, "badge");
  auto clear =
      Read(R"({"aps":{"content-available":1},"natter":{"conversation_id":42,"seq":8,"clear":true,"badge":0}})");
  EXPECT_EQ(clear.kind, "clear");
  EXPECT_EQ(clear.badge, 0);
}

TEST(PushPayload, FcmMessageOrItsDataMap) {
  auto message = Read(R"({"data":{"conversation_id":"42","seq":"7","badge":"3","kind":"message"}})");
  EXPECT_EQ(message.conversation_id, 42);
  EXPECT_EQ(message.seq, 7);
  EXPECT_EQ(message.badge, 3);
  auto data = Read(R"({"conversation_id":"42","seq":"9","kind":"clear"})");
  EXPECT_EQ(data.kind, "clear");
  EXPECT_EQ(data.seq, 9);
  EXPECT_EQ(data.badge, -1);
}

TEST(PushPayload, OthersAreRefusedWithAReason) {
  for (const char* bad : {"", "[]", "not json", R"({"aps":{}})", R"({"natter":{"seq":1}})",
                          R"({"natter":{"conversation_id":"x1","seq":1}})", R"({"conversation_id":"1","seq":"1"})",
                          R"({"conversation_id":"12abc","seq":"1","kind":"message"})",
                          R"({"conversation_id":"-5","seq":"1","kind":"message"})"}) {
    std::string why;
    EXPECT_FALSE(ReadPushPayload(bad, why).has_value()) << bad;
    EXPECT_FALSE(why.empty()) << bad;
  }
}

}  // namespace
}  // namespace natter::client
