// The moderation part of the Store contract (docs/admin.md, "Conversations"):
// a mute is kept on the membership and read with it; a ban takes the user out
// (an owner's ownership passes on), is listed, keeps them from being added
// or taking up an invitation, and is lifted once. Run on SQLite and
// PostgreSQL alike (two partitions there).
#include <algorithm>
#include <tuple>

#include "chat/moderation.h"
#include "store/store_contract.h"

namespace natter::testing {
namespace {

class ModerationStore : public StoreContractTest {
 protected:
  template <class T, class Fn>
  Result<T> Write(int partition, Fn fn) {
    return WriteSync<T>(*store, partition, std::move(fn));
  }
};

TEST_P(ModerationStore, AMuteIsReadWithTheMembershipAndRefusesPosting) {
  int last = store->Partitions() - 1;
  UserId alice = AddUser("alice"), bob = AddUser("bob");
  ConversationId g = AddGroup(alice, {bob}, last);
  auto muted = Write<Member>(last, [g, bob](ConversationTxn& txn) { return chat::SilenceMember(txn, g, bob, 5000); });
  ASSERT_TRUE(muted.ok()) << muted.error().message;
  EXPECT_EQ(muted->silenced_until, 5000);
  auto read = ReadSync<std::optional<std::pair<Conversation, Member>>>(
      *store, last, [g, bob](ConversationTxn& txn) { return txn.FindMembership(g, bob); });
  ASSERT_TRUE(read.ok() && *read);
  EXPECT_EQ((*read)->second.silenced_until, 5000);
  EXPECT_FALSE(chat::CheckNotSilenced((*read)->second, 4999).ok());
  EXPECT_TRUE(chat::CheckNotSilenced((*read)->second, 5000).ok());

  auto sent = Send(*store, g, bob, "m1");  // at 2000: muted
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(sent.error().code, ErrorCode::kForbidden);
  EXPECT_TRUE(Send(*store, g, alice, "m2").ok());
  ASSERT_TRUE(Write<Member>(last, [g, bob](ConversationTxn& txn) { return chat::SilenceMember(txn, g, bob, 0); }).ok());
  EXPECT_TRUE(Send(*store, g, bob, "m3").ok());
  auto outsider = Write<Member>(last, [g](ConversationTxn& txn) { return chat::SilenceMember(txn, g, 424242, 1); });
  ASSERT_FALSE(outsider.ok());
  EXPECT_EQ(outsider.error().code, ErrorCode::kNotFound);
}

TEST_P(ModerationStore, ABanTakesTheUserOutAndKeepsThemOut) {
  int last = store->Partitions() - 1;
  UserId alice = AddUser("alice"), bob = AddUser("bob"), carol = AddUser("carol"), mod = AddUser("mod");
  ConversationId g = AddGroup(alice, {bob, carol}, last);
  using Banned = std::optional<chat::ConversationView>;
  auto ban = [&](UserId user) {
    return Write<Banned>(last, [=, this](ConversationTxn& txn) {
      return chat::BanMember(txn, limits, ConversationBan{g, user, mod, 3000, "spam"});
    });
  };
  auto banned = ban(alice);  // the owner: carol or bob owns it now
  ASSERT_TRUE(banned.ok()) << banned.error().message;
  ASSERT_TRUE(banned->has_value());
  std::vector<UserId> members;
  Role heir_role = Role::kMember;
  for (const auto& m : (*banned)->members) {
    members.push_back(m.user_id);
    if (m.role == Role::kOwner) heir_role = m.role;
  }
  std::sort(members.begin(), members.end());
  std::vector<UserId> expected{bob, carol};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(members, expected);
  EXPECT_EQ(heir_role, Role::kOwner) << "the group was left without an owner";

  auto again = ban(alice);  // not a member now: kept, nothing removed
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_FALSE(again->has_value());
  auto listed =
      ReadSync<std::vector<ConversationBan>>(*store, last, [g](ConversationTxn& txn) { return txn.ListBans(g); });
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(std::make_tuple((*listed)[0].user_id, (*listed)[0].banned_by, (*listed)[0].reason),
            std::make_tuple(alice, mod, std::string("spam")));

  UserId owner = 0;
  for (const auto& m : (*banned)->members) {
    if (m.role == Role::kOwner) owner = m.user_id;
  }
  auto add = [&] {
    return Write<chat::ConversationView>(last, [=, this](ConversationTxn& txn) {
      return chat::AddMembers(txn, chat::Context{owner, 4000}, limits, g, {alice}, Role::kMember, {});
    });
  };
  auto refused = add();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kForbidden);

  auto lifted = Write<bool>(last, [g, alice](ConversationTxn& txn) { return chat::LiftBan(txn, g, alice); });
  ASSERT_TRUE(lifted.ok() && *lifted);
  lifted = Write<bool>(last, [g, alice](ConversationTxn& txn) { return chat::LiftBan(txn, g, alice); });
  ASSERT_TRUE(lifted.ok());
  EXPECT_FALSE(*lifted) << "a ban was lifted twice";
  EXPECT_TRUE(add().ok());
}

TEST_P(ModerationStore, ADirectChatHasNoBansOrMutes) {
  UserId alice = AddUser("alice"), bob = AddUser("bob");
  int p = store->PartitionOfPair(alice, bob);
  auto direct = Write<ConversationId>(p, [=, this](ConversationTxn& txn) -> Result<ConversationId> {
    NATTER_TRY(auto view, chat::CreateDirect(txn, chat::Context{alice, 1000}, ids.Next(), limits, bob));
    return view.conversation.id;
  });
  ASSERT_TRUE(direct.ok()) << direct.error().message;
  auto banned = Write<std::optional<chat::ConversationView>>(p, [=, this](ConversationTxn& txn) {
    return chat::BanMember(txn, limits, ConversationBan{*direct, bob, alice, 1, ""});
  });
  ASSERT_FALSE(banned.ok());
  EXPECT_EQ(banned.error().code, ErrorCode::kBadRequest);
}

INSTANTIATE_TEST_SUITE_P(Sqlite, ModerationStore, ::testing::Values("sqlite"));
INSTANTIATE_TEST_SUITE_P(Postgres, ModerationStore, ::testing::ValuesIn(PostgresParams()));
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ModerationStore);

}  // namespace
}  // namespace natter::testing
