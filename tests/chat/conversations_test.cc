#include "chat/conversations.h"

#include <gtest/gtest.h>

#include "chat/history_query.h"
#include "chat/receipts.h"
#include "chat/send_message.h"
#include "fakes/chat_limits.h"
#include "fakes/temp_db.h"

namespace natter::chat {
namespace {

class ConversationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    owner = db.AddUser("owner");
    admin = db.AddUser("admin");
    member = db.AddUser("member");
    outsider = db.AddUser("outsider");
    auto g = CreateGroup(db.txn(), Ctx(owner), db.ids.Next(), limits,
                         CreateGroupRequest{ConversationKind::kGroup, "team", {admin, member}});
    ASSERT_TRUE(g.ok()) << g.error().message;
    group = g->conversation.id;
    ASSERT_TRUE(ChangeRole(db.txn(), Ctx(owner), limits, group, admin, Role::kAdmin).ok());
  }
  Context Ctx(UserId u) { return Context{u, db.clock.NowMs()}; }
  std::optional<Role> RoleOf(UserId u) {
    auto m = db.txn().FindMember(group, u);
    if (!m.ok() || !*m) return std::nullopt;
    return (*m)->role;
  }

  testing::TempDb db;
  ChatLimits limits = testing::EveryoneMayAdd();
  UserId owner = 0, admin = 0, member = 0, outsider = 0;
  ConversationId group = 0;
};

TEST_F(ConversationsTest, DirectIsCreatedOncePerPair) {
  auto first = CreateDirect(db.txn(), Ctx(owner), db.ids.Next(), limits, member);
  auto second = CreateDirect(db.txn(), Ctx(member), db.ids.Next(), limits, owner);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(first->conversation.id, second->conversation.id);
  EXPECT_EQ(first->members.size(), 2u);
  EXPECT_EQ(CreateDirect(db.txn(), Ctx(owner), db.ids.Next(), limits, owner).error().code, ErrorCode::kBadRequest);
  EXPECT_EQ(CreateDirect(db.txn(), Ctx(owner), db.ids.Next(), limits, 424242).error().code, ErrorCode::kNotFound);
}

TEST_F(ConversationsTest, CreatorOwnsTheGroup) {
  EXPECT_EQ(RoleOf(owner), Role::kOwner);
  EXPECT_EQ(RoleOf(member), Role::kMember);
}

TEST_F(ConversationsTest, GroupSizeIsLimited) {
  limits.max_group_members = 3;
  auto too_big = CreateGroup(db.txn(), Ctx(owner), db.ids.Next(), limits,
                             CreateGroupRequest{ConversationKind::kGroup, "big", {admin, member, outsider}});
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.error().code, ErrorCode::kTooLarge);
  auto add = AddMembers(db.txn(), Ctx(owner), limits, group, {outsider}, Role::kMember, {});
  ASSERT_FALSE(add.ok());
  EXPECT_EQ(add.error().code, ErrorCode::kTooLarge);
  EXPECT_EQ(RoleOf(outsider), std::nullopt);
}

TEST_F(ConversationsTest, AnEncryptedGroupStopsAtItsOwnSize) {
  // The size check comes before anyone is looked up: ids alone will do.
  std::vector<UserId> many;
  for (int i = 0; i < kMaxEncryptedMembers; ++i) many.push_back(1'000'000 + i);
  CreateGroupRequest req{ConversationKind::kGroup, "big", many};
  req.encrypted = true;
  auto too_big = CreateGroup(db.txn(), Ctx(owner), db.ids.Next(), limits, req);
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.error().code, ErrorCode::kTooLarge);
  EXPECT_NE(too_big.error().message.find("encrypted"), std::string::npos);
  EXPECT_EQ(MaxMembers(true, limits), std::min<int64_t>(limits.max_group_members, kMaxEncryptedMembers));
  EXPECT_EQ(MaxMembers(false, limits), limits.max_group_members);
}

TEST_F(ConversationsTest, PlainMemberCannotManage) {
  EXPECT_EQ(AddMembers(db.txn(), Ctx(member), limits, group, {outsider}, Role::kMember, {}).error().code,
            ErrorCode::kForbidden);
  EXPECT_EQ(ChangeRole(db.txn(), Ctx(member), limits, group, member, Role::kAdmin).error().code, ErrorCode::kForbidden);
  EXPECT_EQ(RemoveMember(db.txn(), Ctx(member), limits, group, admin).error().code, ErrorCode::kForbidden);
  EXPECT_EQ(Rename(db.txn(), Ctx(member), limits, group, "mine").error().code, ErrorCode::kForbidden);
  EXPECT_EQ(RoleOf(member), Role::kMember);
  EXPECT_EQ(RoleOf(admin), Role::kAdmin);
}

TEST_F(ConversationsTest, AdminManagesWeakerMembersOnly) {
  ASSERT_TRUE(AddMembers(db.txn(), Ctx(admin), limits, group, {outsider}, Role::kMember, {}).ok());
  EXPECT_EQ(RoleOf(outsider), Role::kMember);
  EXPECT_EQ(AddMembers(db.txn(), Ctx(admin), limits, group, {outsider}, Role::kAdmin, {}).error().code,
            ErrorCode::kForbidden);
  ASSERT_TRUE(ChangeRole(db.txn(), Ctx(admin), limits, group, outsider, Role::kReadOnly).ok());
  EXPECT_EQ(RoleOf(outsider), Role::kReadOnly);
  ASSERT_TRUE(RemoveMember(db.txn(), Ctx(admin), limits, group, outsider).ok());
  EXPECT_EQ(RoleOf(outsider), std::nullopt);
  EXPECT_EQ(RemoveMember(db.txn(), Ctx(admin), limits, group, owner).error().code, ErrorCode::kForbidden);
}

TEST_F(ConversationsTest, OwnershipIsHandedOverNotDuplicated) {
  EXPECT_EQ(RemoveMember(db.txn(), Ctx(owner), limits, group, owner).error().code, ErrorCode::kForbidden);
  ASSERT_TRUE(ChangeRole(db.txn(), Ctx(owner), limits, group, admin, Role::kOwner).ok());
  EXPECT_EQ(RoleOf(admin), Role::kOwner);
  EXPECT_EQ(RoleOf(owner), Role::kAdmin);
  ASSERT_TRUE(RemoveMember(db.txn(), Ctx(owner), limits, group, owner).ok());  // now may leave
  EXPECT_EQ(RoleOf(owner), std::nullopt);
}

TEST_F(ConversationsTest, OutsiderLearnsNothing) {
  auto got = GetConversation(db.txn(), Ctx(outsider), group);
  auto none = GetConversation(db.txn(), Ctx(outsider), 123456789);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(got.error().message, none.error().message);
  EXPECT_EQ(Rename(db.txn(), Ctx(outsider), limits, group, "x").error().code, ErrorCode::kNotFound);
}

TEST_F(ConversationsTest, ListIsNewestFirstWithUnreadCounts) {
  auto other = CreateGroup(db.txn(), Ctx(owner), db.ids.Next(), limits,
                           CreateGroupRequest{ConversationKind::kGroup, "other", {member}});
  ASSERT_TRUE(other.ok());
  db.clock.Advance(1000);
  auto one = SendMessage(db.txn(), Ctx(owner), limits, SendRequest{group, "1", "one", {}});
  ASSERT_TRUE(one.ok());
  auto two = SendMessage(db.txn(), Ctx(owner), limits, SendRequest{group, "2", "two", {}});
  ASSERT_TRUE(two.ok());
  ASSERT_TRUE(SendMessage(db.txn(), Ctx(member), limits, SendRequest{group, "3", "mine", {}}).ok());
  auto list = ListMyConversations(db.txn(), Ctx(member), ListCursor{}, limits, 0);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].conversation.id, group);
  // Sending moved member's read mark to its own message, so nothing is unread.
  EXPECT_EQ((*list)[0].unread, 0);
  ASSERT_TRUE((*list)[0].last_message.has_value());
  EXPECT_EQ((*list)[0].last_message->text, "mine");

  auto admin_list = ListMyConversations(db.txn(), Ctx(admin), ListCursor{}, limits, 0);
  ASSERT_TRUE(admin_list.ok());
  EXPECT_EQ((*admin_list)[0].unread, 3);
  // System events (the role change in SetUp) are not unread messages.
  ASSERT_TRUE(MarkReceipt(db.txn(), Ctx(admin), limits, group, {}, two->message.seq).ok());
  admin_list = ListMyConversations(db.txn(), Ctx(admin), ListCursor{}, limits, 0);
  EXPECT_EQ((*admin_list)[0].unread, 1);
  // Watermarks never move back, nor past the end.
  ASSERT_TRUE(MarkReceipt(db.txn(), Ctx(admin), limits, group, {}, one->message.seq).ok());
  EXPECT_EQ(ListMyConversations(db.txn(), Ctx(admin), ListCursor{}, limits, 0).value()[0].unread, 1);
  EXPECT_EQ(MarkReceipt(db.txn(), Ctx(admin), limits, group, {}, 99).error().code, ErrorCode::kBadRequest);
}

TEST_F(ConversationsTest, HistoryPagesBothWays) {
  // SetUp's role change is seq 1, a system event in the timeline; messages are 2..8.
  for (int i = 1; i <= 7; ++i) {
    ASSERT_TRUE(SendMessage(db.txn(), Ctx(owner), limits, SendRequest{group, std::to_string(i), "m", {}}).ok());
  }
  auto latest = ReadHistory(db.txn(), Ctx(member), limits, HistoryQuery{group, {}, {}, 3});
  ASSERT_TRUE(latest.ok());
  ASSERT_EQ(latest->messages.size(), 3u);
  EXPECT_EQ(latest->messages.front().seq, 6);
  EXPECT_EQ(latest->messages.back().seq, 8);
  EXPECT_TRUE(latest->has_more);
  EXPECT_EQ(latest->last_seq, 8);
  auto older = ReadHistory(db.txn(), Ctx(member), limits, HistoryQuery{group, 2, {}, 3});
  ASSERT_EQ(older->messages.size(), 1u);
  EXPECT_EQ(older->messages[0].kind, EventKind::kRoleChanged);
  EXPECT_FALSE(older->has_more);
  auto newer = ReadHistory(db.txn(), Ctx(member), limits, HistoryQuery{group, {}, 5, 10});
  ASSERT_EQ(newer->messages.size(), 3u);
  EXPECT_EQ(newer->messages.front().seq, 6);
  EXPECT_FALSE(newer->has_more);
  limits.max_history_page = 2;
  auto capped = ReadHistory(db.txn(), Ctx(member), limits, HistoryQuery{group, {}, {}, 100});
  EXPECT_EQ(capped->messages.size(), 2u);
}

}  // namespace
}  // namespace natter::chat
