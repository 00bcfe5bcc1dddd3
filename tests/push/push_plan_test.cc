// The push policy (push/push_plan.h) on its own: who is due a push for which
// message, which of their devices get it, and what it says.
#include "push/push_plan.h"

#include <gtest/gtest.h>

namespace natter::push {
namespace {

constexpr UserId kAlice = 1, kBob = 2, kCarol = 3;

Message Msg(Seq seq, UserId sender, std::string text, int64_t created_at = 1000) {
  Message m;
  m.conversation_id = 50;
  m.seq = seq;
  m.sender_id = sender;
  m.text = std::move(text);
  m.created_at = created_at;
  return m;
}

PushDevice Device(UserId user, SessionId session) {
  PushDevice d;
  d.user_id = user;
  d.session_id = session;
  d.platform = "apns";
  d.token = "t" + std::to_string(session);
  return d;
}

TEST(PushPlan, EachMemberIsDueTheNewestMessageNotTheirsNorReadNorAlreadyShown) {
  std::vector<Message> messages = {Msg(1, kAlice, "one"), Msg(2, kBob, "two"), Msg(3, kAlice, "three"),
                                   Msg(4, kBob, "four")};
  messages[3].deleted = true;  // a tombstone is nothing to announce
  std::vector<PushRecipient> recipients = {
      {kAlice, 0, 0, 0},     // newest not hers: 2
      {kBob, 0, 0, 0},       // 3
      {kCarol, 3, 0, 0},     // read everything
      {kCarol + 1, 0, 0, 3}  // already alerted of 3
  };
  auto due = DuePushes(recipients, messages, 5000);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].recipient.user_id, kAlice);
  EXPECT_EQ(due[0].message->seq, 2);
  EXPECT_EQ(due[1].recipient.user_id, kBob);
  EXPECT_EQ(due[1].message->seq, 3);
}

TEST(PushPlan, ASenderTheRecipientBlockedAlertsNothing) {
  std::vector<Message> messages = {Msg(1, kAlice, "one"), Msg(2, kCarol, "from carol")};
  std::vector<PushRecipient> recipients = {{kBob, 0, 0, 0}, {kAlice, 0, 0, 0}};
  // Bob blocked Carol: Alice's earlier message is his newest due; Alice, who
  // did not, is alerted of Carol's.
  auto due = DuePushes(recipients, messages, 5000, {{kBob, kCarol}});
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ((std::pair{due[0].recipient.user_id, due[0].message->seq}), (std::pair{kBob, Seq{1}}));
  EXPECT_EQ((std::pair{due[1].recipient.user_id, due[1].message->seq}), (std::pair{kAlice, Seq{2}}));
  // Blocked Alice as well: nothing is due for him.
  due = DuePushes({{kBob, 0, 0, 0}}, messages, 5000, {{kBob, kCarol}, {kBob, kAlice}});
  EXPECT_TRUE(due.empty());
}

TEST(PushPlan, AMuteThatHasNotEndedSilencesTheAlert) {
  std::vector<Message> messages = {Msg(1, kAlice, "hi")};
  auto due = DuePushes({{kBob, 0, 6000, 0}, {kCarol, 0, 4000, 0}}, messages, 5000);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_TRUE(due[0].muted);
  EXPECT_FALSE(due[1].muted);
  std::unordered_map<UserId, int64_t> unread = {{kBob, 7}};
  auto items = PlanPushes(due, {Device(kBob, 20)}, PushContext{nullptr, &unread, nullptr});
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].notification.kind, Notification::Kind::kBadge);
  EXPECT_EQ(items[0].notification.badge, 7);
  EXPECT_EQ(items[0].notification.body, "");
}

TEST(PushPlan, ADeviceThatWasLiveSinceTheMessageGetsNothing) {
  std::vector<Message> messages = {Msg(1, kAlice, "hi", 1000)};
  auto due = DuePushes({{kBob, 0, 0, 0}}, messages, 5000);
  PushDevice live = Device(kBob, 20), saw = Device(kBob, 21), away = Device(kBob, 22);
  live.live_nodes = 4;
  saw.last_live_at = 1000;  // went away after the message came
  away.last_live_at = 999;
  auto items = PlanPushes(due, {live, saw, away}, PushContext{});
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].device.session_id, 22);
}

TEST(PushPlan, LiveOnANodeThatIsGoneDoesNotCount) {
  std::vector<Message> messages = {Msg(1, kAlice, "hi", 1000)};
  auto due = DuePushes({{kBob, 0, 0, 0}}, messages, 5000);
  PushDevice on_gone_node = Device(kBob, 20), on_running_node = Device(kBob, 21);
  on_gone_node.live_nodes = 1 << 2;
  on_running_node.live_nodes = 1 << 3;
  PushContext ctx;
  ctx.alive_nodes = (1 << 1) | (1 << 3);
  auto items = PlanPushes(due, {on_gone_node, on_running_node}, ctx);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].device.session_id, 20);
}

TEST(PushPlan, AlertsLastAWeekAndClearsADay) {
  std::vector<Message> messages = {Msg(1, kAlice, "hi")};
  auto due = DuePushes({{kBob, 0, 0, 0}}, messages, 5000);
  PushContext ctx;
  ctx.now_ms = 1'700'000'000'000;
  auto items = PlanPushes(due, {Device(kBob, 20)}, ctx);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].notification.expires_at, 1'700'000'000 + 7 * 24 * 3600);
  Notification clear = ClearNotification(50, 3, 0, ctx.now_ms);
  EXPECT_EQ(clear.kind, Notification::Kind::kClear);
  EXPECT_EQ(clear.expires_at, 1'700'000'000 + 24 * 3600);
}

TEST(PushPlan, PreviewsNameTheSenderAndGroupUnlessHidden) {
  Conversation group;
  group.kind = ConversationKind::kGroup;
  group.title = "Climbing";
  Conversation direct;
  direct.kind = ConversationKind::kDirect;
  std::unordered_map<UserId, std::string> names = {{kAlice, "alice"}};
  std::vector<Message> messages = {Msg(1, kAlice, "tomorrow at 9?")};
  auto due = DuePushes({{kBob, 0, 0, 0}}, messages, 5000);
  PushDevice shown = Device(kBob, 20), hidden = Device(kBob, 21);
  hidden.show_preview = false;
  auto in_group = PlanPushes(due, {shown, hidden}, PushContext{&group, nullptr, &names});
  ASSERT_EQ(in_group.size(), 2u);
  EXPECT_EQ(in_group[0].notification.title, "Climbing");
  EXPECT_EQ(in_group[0].notification.body, "alice: tomorrow at 9?");
  EXPECT_EQ(in_group[1].notification.title, "");
  EXPECT_EQ(in_group[1].notification.body, "New message");
  auto in_direct = PlanPushes(due, {shown}, PushContext{&direct, nullptr, &names});
  ASSERT_EQ(in_direct.size(), 1u);
  EXPECT_EQ(in_direct[0].notification.title, "alice");
  EXPECT_EQ(in_direct[0].notification.body, "tomorrow at 9?");
  EXPECT_EQ(in_direct[0].notification.conversation_id, 50);
  EXPECT_EQ(in_direct[0].notification.seq, 1);
}

TEST(PushPlan, AnEncryptedConversationsAlertNamesNeitherSenderNorTitle) {
  Conversation group;
  group.kind = ConversationKind::kGroup;
  group.title = "Climbing";
  group.encrypted = true;
  std::unordered_map<UserId, std::string> names = {{kAlice, "alice"}};
  std::vector<Message> messages = {Msg(1, kAlice, "")};  // Due points into it
  auto due = DuePushes({{kBob, 0, 0, 0}}, messages, 5000);
  auto out = PlanPushes(due, {Device(kBob, 20)}, PushContext{&group, nullptr, &names});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].notification.title, "");
  EXPECT_EQ(out[0].notification.body, "New message");
}

}  // namespace
}  // namespace natter::push
