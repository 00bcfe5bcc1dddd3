// Consent: an addition by someone who is not a contact, by anyone to a user
// who allows nobody, or back into a conversation the user left or declined,
// is an invitation; accepting it joins, declining it leaves nothing behind
// but the memory of the refusal.
#include "chat/consent.h"

#include <gtest/gtest.h>

#include "chat/conversations.h"
#include "fakes/temp_db.h"

namespace natter::chat {
namespace {

class ConsentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    alice = db.AddUser("alice");
    mallory = db.AddUser("mallory");
    bob = db.AddUser("bob");
  }
  Context Ctx(UserId u) { return Context{u, db.clock.NowMs()}; }
  Result<ConversationView> Create(UserId owner, std::vector<UserId> members, Contacts contacts = {}) {
    return CreateGroup(db.txn(), Ctx(owner), db.ids.Next(), limits,
                       CreateGroupRequest{ConversationKind::kGroup, "FREE CRYPTO", std::move(members), contacts});
  }
  bool IsMember(ConversationId c, UserId u) {
    auto m = db.txn().FindMember(c, u);
    return m.ok() && m->has_value();
  }
  std::vector<PendingInvitation> InvitationsOf(UserId u) {
    auto list = db.txn().ListInvitations(u, 100);
    EXPECT_TRUE(list.ok());
    return list.ok() ? *list : std::vector<PendingInvitation>{};
  }

  testing::TempDb db;
  ChatLimits limits;  // the default: contacts may add, others invite
  UserId alice = 0, mallory = 0, bob = 0;
};

TEST_F(ConsentTest, AStrangersGroupIsAnInvitationNotAMembership) {
  auto made = Create(mallory, {alice});
  ASSERT_TRUE(made.ok()) << made.error().message;
  ConversationId group = made->conversation.id;
  EXPECT_FALSE(IsMember(group, alice));
  EXPECT_EQ(made->members.size(), 1u);  // mallory alone
  EXPECT_EQ(made->invited, std::vector<UserId>{alice});
  ASSERT_EQ(made->invitations.size(), 1u);
  EXPECT_EQ(made->invitations[0].invited_by, mallory);
  // Only mallory's own log knows the group: alice's list and sync stay clean.
  EXPECT_EQ(made->joined, std::vector<UserId>{mallory});
  auto list = ListMyConversations(db.txn(), Ctx(alice), ListCursor{}, limits, 0);
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
  auto pending = InvitationsOf(alice);
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].conversation.id, group);
  EXPECT_EQ(pending[0].conversation.title, "FREE CRYPTO");
  EXPECT_EQ(pending[0].invitation.role, Role::kMember);
  EXPECT_EQ(pending[0].members, 1);
}

TEST_F(ConsentTest, ContactsAreAddedAtOnce) {
  auto made = Create(bob, {alice}, Contacts{alice});
  ASSERT_TRUE(made.ok());
  EXPECT_TRUE(IsMember(made->conversation.id, alice));
  EXPECT_TRUE(made->invited.empty());
  EXPECT_TRUE(InvitationsOf(alice).empty());
}

TEST_F(ConsentTest, EachUsersSettingDecides) {
  ASSERT_TRUE(db.accounts().SetGroupAdds(alice, GroupAdds::kEveryone).ok());
  ASSERT_TRUE(db.accounts().SetGroupAdds(bob, GroupAdds::kNobody).ok());
  auto made = Create(mallory, {alice, bob}, Contacts{bob});
  ASSERT_TRUE(made.ok());
  EXPECT_TRUE(IsMember(made->conversation.id, alice));  // everyone may
  EXPECT_FALSE(IsMember(made->conversation.id, bob));   // nobody may, contact or not
  EXPECT_EQ(made->invited, std::vector<UserId>{bob});
  // The server's default applies only to who never chose.
  limits.default_group_adds = GroupAdds::kNobody;
  auto again = Create(mallory, {alice});
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(IsMember(again->conversation.id, alice));
}

TEST_F(ConsentTest, AcceptingJoinsWithTheRoleOffered) {
  auto made = Create(mallory, {alice});
  ASSERT_TRUE(made.ok());
  ConversationId group = made->conversation.id;
  EXPECT_EQ(AcceptInvitation(db.txn(), Ctx(bob), limits, group).error().code, ErrorCode::kNotFound);
  auto joined = AcceptInvitation(db.txn(), Ctx(alice), limits, group);
  ASSERT_TRUE(joined.ok()) << joined.error().message;
  EXPECT_TRUE(IsMember(group, alice));
  EXPECT_EQ(joined->joined, std::vector<UserId>{alice});
  ASSERT_EQ(joined->events.size(), 1u);
  EXPECT_EQ(joined->events[0].event.kind, EventKind::kMemberJoined);
  EXPECT_EQ(joined->events[0].event.sender_id, mallory);  // who invited
  EXPECT_EQ(joined->events[0].event.target_user, alice);
  EXPECT_TRUE(InvitationsOf(alice).empty());
  auto role = db.txn().FindMember(group, alice);
  ASSERT_TRUE(role.ok() && *role);
  EXPECT_EQ((*role)->role, Role::kMember);
  EXPECT_TRUE(joined->invitations_closed.empty());  // the accept answers for itself
  // Taken once: a second accept finds nothing.
  EXPECT_EQ(AcceptInvitation(db.txn(), Ctx(alice), limits, group).error().code, ErrorCode::kNotFound);
}

TEST_F(ConsentTest, AnInvitationHoldsOnlyWhileItsInviterMayAdd) {
  auto made = Create(mallory, {bob}, Contacts{bob});
  ASSERT_TRUE(made.ok());
  ConversationId group = made->conversation.id;
  ASSERT_TRUE(ChangeRole(db.txn(), Ctx(mallory), limits, group, bob, Role::kAdmin).ok());
  auto invited = AddMembers(db.txn(), Ctx(bob), limits, group, {alice}, Role::kReadOnly, {});
  ASSERT_TRUE(invited.ok());
  ASSERT_EQ(invited->invitations.size(), 1u);
  EXPECT_EQ(invited->invitations[0].role, Role::kReadOnly);
  ASSERT_TRUE(RemoveMember(db.txn(), Ctx(mallory), limits, group, bob).ok());
  auto late = AcceptInvitation(db.txn(), Ctx(alice), limits, group);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, ErrorCode::kForbidden);
  EXPECT_FALSE(IsMember(group, alice));
}

TEST_F(ConsentTest, AnAdditionThatTakesAWaitingInvitationsPlaceSaysSo) {
  auto made = Create(mallory, {alice});
  ASSERT_TRUE(made.ok());
  ConversationId group = made->conversation.id;
  ASSERT_TRUE(db.accounts().SetGroupAdds(alice, GroupAdds::kEveryone).ok());
  auto added = AddMembers(db.txn(), Ctx(mallory), limits, group, {alice}, Role::kMember, {});
  ASSERT_TRUE(added.ok());
  EXPECT_TRUE(IsMember(group, alice));
  EXPECT_EQ(added->invitations_closed, std::vector<UserId>{alice});
  EXPECT_TRUE(InvitationsOf(alice).empty());
}

TEST_F(ConsentTest, ADeclinedGroupCannotAddWithoutANewInvitation) {
  auto made = Create(mallory, {alice});
  ASSERT_TRUE(made.ok());
  ConversationId group = made->conversation.id;
  auto declined = DeclineInvitation(db.txn(), Ctx(alice), group);
  ASSERT_TRUE(declined.ok());
  EXPECT_EQ(declined->invited_by, mallory);
  EXPECT_TRUE(InvitationsOf(alice).empty());
  EXPECT_EQ(DeclineInvitation(db.txn(), Ctx(alice), group).error().code, ErrorCode::kNotFound);
  // Even as a contact now, and even though alice lets everyone add her.
  ASSERT_TRUE(db.accounts().SetGroupAdds(alice, GroupAdds::kEveryone).ok());
  auto again = AddMembers(db.txn(), Ctx(mallory), limits, group, {alice}, Role::kMember, Contacts{alice});
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_FALSE(IsMember(group, alice));
  EXPECT_EQ(again->invited, std::vector<UserId>{alice});
  EXPECT_EQ(again->invitations.size(), 1u);  // a new invitation, told to alice
  EXPECT_TRUE(again->notified.empty());      // the members hear of nothing
  // A pending invitation is not made (or told) twice.
  auto twice = AddMembers(db.txn(), Ctx(mallory), limits, group, {alice}, Role::kMember, Contacts{alice});
  ASSERT_TRUE(twice.ok());
  EXPECT_EQ(twice->invited, std::vector<UserId>{alice});
  EXPECT_TRUE(twice->invitations.empty());
}

TEST_F(ConsentTest, WhoLeftIsAskedBeforeComingBack) {
  auto made = Create(bob, {alice}, Contacts{alice});
  ASSERT_TRUE(made.ok());
  ConversationId group = made->conversation.id;
  ASSERT_TRUE(RemoveMember(db.txn(), Ctx(alice), limits, group, alice).ok());  // she leaves
  auto back = AddMembers(db.txn(), Ctx(bob), limits, group, {alice}, Role::kMember, Contacts{alice});
  ASSERT_TRUE(back.ok());
  EXPECT_FALSE(IsMember(group, alice));
  EXPECT_EQ(back->invited, std::vector<UserId>{alice});
  // Accepting brings her back and forgets the departure.
  ASSERT_TRUE(AcceptInvitation(db.txn(), Ctx(alice), limits, group).ok());
  EXPECT_TRUE(IsMember(group, alice));
  auto departed = db.txn().HasDeparted(group, alice);
  ASSERT_TRUE(departed.ok());
  EXPECT_FALSE(*departed);
}

TEST_F(ConsentTest, ARemovedMemberFollowsTheUsualRule) {
  auto made = Create(bob, {alice}, Contacts{alice});
  ASSERT_TRUE(made.ok());
  ConversationId group = made->conversation.id;
  ASSERT_TRUE(RemoveMember(db.txn(), Ctx(bob), limits, group, alice).ok());
  auto back = AddMembers(db.txn(), Ctx(bob), limits, group, {alice}, Role::kMember, Contacts{alice});
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(IsMember(group, alice));  // she did not choose to go
}

TEST_F(ConsentTest, InvitationsMergeNewestFirstAcrossPartitions) {
  auto at = [](ConversationId c, int64_t ms) {
    PendingInvitation p;
    p.invitation = Invitation{c, 1, 2, Role::kMember, ms};
    p.conversation.id = c;
    return p;
  };
  std::vector<Result<std::vector<PendingInvitation>>> parts;
  parts.push_back(std::vector<PendingInvitation>{at(1, 300), at(2, 100)});
  parts.push_back(Unavailable("partition down"));
  parts.push_back(std::vector<PendingInvitation>{at(3, 200)});
  auto merged = MergeInvitations(std::move(parts), 2);
  ASSERT_TRUE(merged.ok());
  ASSERT_EQ(merged->size(), 2u);
  EXPECT_EQ((*merged)[0].invitation.conversation_id, 1);
  EXPECT_EQ((*merged)[1].invitation.conversation_id, 3);
  std::vector<Result<std::vector<PendingInvitation>>> down;
  down.push_back(Unavailable("partition down"));
  EXPECT_EQ(MergeInvitations(std::move(down), 2).error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace natter::chat
