#include "chat/send_message.h"

#include <gtest/gtest.h>

#include "chat/history_query.h"
#include "fakes/chat_limits.h"
#include "fakes/temp_db.h"

namespace natter::chat {
namespace {

class SendMessageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    alice = db.AddUser("alice");
    bob = db.AddUser("bob");
    carol = db.AddUser("carol");
    auto direct = CreateDirect(db.txn(), Ctx(alice), db.ids.Next(), limits, bob);
    ASSERT_TRUE(direct.ok());
    conversation = direct->conversation.id;
  }
  Context Ctx(UserId u) { return Context{u, db.clock.NowMs()}; }
  Result<SendResult> Send(UserId from, const std::string& client_id, const std::string& text, ConversationId c = 0) {
    return SendMessage(db.txn(), Ctx(from), limits, SendRequest{c ? c : conversation, client_id, text, {}});
  }

  testing::TempDb db;
  ChatLimits limits = testing::EveryoneMayAdd();
  UserId alice = 0, bob = 0, carol = 0;
  ConversationId conversation = 0;
};

TEST_F(SendMessageTest, AssignsDenseSequenceNumbers) {
  for (int i = 1; i <= 5; ++i) {
    auto r = Send(i % 2 ? alice : bob, "m" + std::to_string(i), "hello " + std::to_string(i));
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->message.seq, i);
    EXPECT_FALSE(r->duplicate);
  }
  auto page = ReadHistory(db.txn(), Ctx(alice), limits, HistoryQuery{conversation, {}, {}, 50});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->messages.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(page->messages[i].seq, i + 1);
}

TEST_F(SendMessageTest, RetryReturnsTheFirstResultAndStoresOnce) {
  auto first = Send(alice, "same", "hi");
  ASSERT_TRUE(first.ok());
  auto again = Send(alice, "same", "hi");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->message.seq, first->message.seq);
  EXPECT_TRUE(again->recipients.empty());  // nothing to fan out again
  auto next = Send(alice, "other", "next");
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->message.seq, 2);  // the retry consumed no sequence number
}

TEST_F(SendMessageTest, SameClientIdFromAnotherSenderIsAnotherMessage) {
  ASSERT_TRUE(Send(alice, "x", "from alice").ok());
  auto r = Send(bob, "x", "from bob");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->duplicate);
  EXPECT_EQ(r->message.seq, 2);
}

TEST_F(SendMessageTest, ReusedClientIdWithOtherTextIsAConflict) {
  ASSERT_TRUE(Send(alice, "x", "one").ok());
  auto r = Send(alice, "x", "two");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kConflict);
}

TEST_F(SendMessageTest, NonMemberSeesTheSameAnswerAsForANonexistentConversation) {
  auto not_member = Send(carol, "c", "let me in");
  auto missing = Send(carol, "c", "let me in", 987654321);
  ASSERT_FALSE(not_member.ok());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(not_member.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(not_member.error().code, missing.error().code);
  EXPECT_EQ(not_member.error().message, missing.error().message);
  auto page = ReadHistory(db.txn(), Ctx(alice), limits, HistoryQuery{conversation, {}, {}, 50});
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->messages.empty());
}

TEST_F(SendMessageTest, RecipientsAreEveryMemberIncludingTheSender) {
  auto r = Send(alice, "a", "hi");
  ASSERT_TRUE(r.ok());
  std::vector<UserId> got;
  for (const auto& recipient : r->recipients) got.push_back(recipient.user);
  std::sort(got.begin(), got.end());
  std::vector<UserId> want{alice, bob};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
}

TEST_F(SendMessageTest, RejectsBadInputBeforeTouchingStorage) {
  limits.max_text_bytes = 10;
  EXPECT_EQ(Send(alice, "a", "").error().code, ErrorCode::kBadRequest);
  EXPECT_EQ(Send(alice, "a", std::string(11, 'x')).error().code, ErrorCode::kTooLarge);
  EXPECT_EQ(Send(alice, "a", "\xff\xfe").error().code, ErrorCode::kBadRequest);
  EXPECT_EQ(Send(alice, "", "x").error().code, ErrorCode::kBadRequest);
  EXPECT_EQ(Send(alice, std::string(65, 'i'), "x").error().code, ErrorCode::kTooLarge);
  auto conv = db.txn().FindConversation(conversation);
  ASSERT_TRUE(conv.ok());
  EXPECT_EQ((*conv)->last_seq, 0);
}

TEST_F(SendMessageTest, ReplyToMustExist) {
  ASSERT_TRUE(Send(alice, "a", "question").ok());
  auto ok = SendMessage(db.txn(), Ctx(bob), limits, SendRequest{conversation, "b", "answer", 1});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->message.reply_to, 1);
  auto bad = SendMessage(db.txn(), Ctx(bob), limits, SendRequest{conversation, "c", "answer", 99});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kNotFound);
}

TEST_F(SendMessageTest, OnlyAdminsPostInChannels) {
  CreateGroupRequest req{ConversationKind::kChannel, "news", {bob}};
  auto channel = CreateGroup(db.txn(), Ctx(alice), db.ids.Next(), limits, req);
  ASSERT_TRUE(channel.ok());
  ConversationId id = channel->conversation.id;
  EXPECT_EQ(Send(bob, "b", "may I?", id).error().code, ErrorCode::kForbidden);
  EXPECT_TRUE(Send(alice, "a", "news!", id).ok());
}

}  // namespace
}  // namespace natter::chat
