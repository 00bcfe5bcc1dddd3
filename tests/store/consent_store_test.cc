// The consent part of the Store contract: an invitation is put once and kept
// with its conversation (on that conversation's partition), listed newest
// first with the conversation and its member count, found and deleted; a
// departure is remembered until forgotten; a user's group_adds is kept with
// the accounts ('' reads as never chosen); who chose to be in touch is read
// from the conversations a user started, wrote in or was brought into. Run on SQLite and PostgreSQL alike.
#include <algorithm>
#include <tuple>

#include "chat/conversations.h"
#include "store/store_contract.h"

namespace natter::testing {
namespace {

using ConsentStore = StoreContractTest;

TEST_P(ConsentStore, InvitationsAndDeparturesLiveWithTheirConversation) {
  UserId owner = AddUser("owner"), alice = AddUser("alice");
  int last = store->Partitions() - 1;
  ConversationId older = AddGroup(owner, {}, 0), newer = AddGroup(owner, {}, last);
  auto put = [&](ConversationId c, int64_t at) {
    return WriteSync<bool>(*store, store->For(c), [=](ConversationTxn& txn) -> Result<bool> {
      NATTER_TRY(bool first, txn.PutInvitation(Invitation{c, alice, owner, Role::kReadOnly, at}));
      NATTER_TRY(bool again, txn.PutInvitation(Invitation{c, alice, owner, Role::kMember, at + 5}));
      return first && !again;  // the waiting one stays as it was
    });
  };
  auto first = put(older, 1000);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_TRUE(*first);
  ASSERT_TRUE(put(newer, 2000).ok());
  ConversationId third = AddGroup(owner, {}, 0);
  ASSERT_TRUE(put(third, 3000).ok());
  auto first_partition = ReadSync<std::vector<PendingInvitation>>(
      *store, 0, [=](ConversationTxn& txn) { return txn.ListInvitations(alice, 10); });
  ASSERT_TRUE(first_partition.ok());
  ASSERT_GE(first_partition->size(), 2u);
  EXPECT_EQ((*first_partition)[0].conversation.id, third);  // newest first
  for (size_t i = 1; i < first_partition->size(); ++i) {
    EXPECT_GT((*first_partition)[i - 1].invitation.created_at, (*first_partition)[i].invitation.created_at);
  }
  std::vector<PendingInvitation> all;
  for (int p = 0; p < store->Partitions(); ++p) {
    auto listed = ReadSync<std::vector<PendingInvitation>>(
        *store, p, [=](ConversationTxn& txn) { return txn.ListInvitations(alice, 10); });
    ASSERT_TRUE(listed.ok()) << listed.error().message;
    all.insert(all.end(), listed->begin(), listed->end());
  }
  ASSERT_EQ(all.size(), 3u);
  auto found = std::find_if(all.begin(), all.end(), [&](const auto& i) { return i.conversation.id == older; });
  ASSERT_NE(found, all.end());
  EXPECT_EQ(found->invitation.role, Role::kReadOnly);
  EXPECT_EQ(found->invitation.invited_by, owner);
  EXPECT_EQ(found->invitation.created_at, 1000);
  EXPECT_EQ(found->conversation.title, "g");
  EXPECT_EQ(found->members, 1);
  // Found, deleted; a departure is remembered until forgotten.
  using Seen = std::tuple<bool, bool, bool, bool>;
  auto changed = WriteSync<Seen>(*store, store->For(older), [=](ConversationTxn& txn) -> Result<Seen> {
    NATTER_TRY(auto before, txn.FindInvitation(older, alice));
    NATTER_RETURN_IF_ERROR(txn.DeleteInvitation(older, alice));
    NATTER_TRY(auto after, txn.FindInvitation(older, alice));
    NATTER_RETURN_IF_ERROR(txn.SetDeparted(older, alice, true, 3000));
    NATTER_RETURN_IF_ERROR(txn.SetDeparted(older, alice, true, 4000));  // again: still one
    NATTER_TRY(bool departed, txn.HasDeparted(older, alice));
    NATTER_RETURN_IF_ERROR(txn.SetDeparted(older, alice, false, 0));
    NATTER_TRY(bool forgotten, txn.HasDeparted(older, alice));
    return Seen{before.has_value(), after.has_value(), departed, !forgotten};
  });
  ASSERT_TRUE(changed.ok()) << changed.error().message;
  EXPECT_EQ(*changed, (Seen{true, false, true, true}));
}

TEST_P(ConsentStore, ChosenContactsStartedOrWroteInADirectChatOrShareAGroup) {
  UserId a = AddUser("a"), b = AddUser("b"), c = AddUser("c");
  int pair = store->PartitionOfPair(a, b);
  ConversationId direct = NewConversationId(pair);
  auto made = WriteSync<ConversationId>(*store, pair, [=, this](ConversationTxn& txn) -> Result<ConversationId> {
    NATTER_TRY(auto view, chat::CreateDirect(txn, chat::Context{a, 1000}, direct, limits, b));
    return view.conversation.id;
  });
  ASSERT_TRUE(made.ok()) << made.error().message;
  auto chosen = [&](UserId id, std::vector<UserId> others) {
    std::vector<UserId> all;
    for (int p = 0; p < store->Partitions(); ++p) {
      auto r = ReadSync<std::vector<UserId>>(*store, p,
                                             [=](ConversationTxn& txn) { return txn.ChosenContacts(id, others); });
      EXPECT_TRUE(r.ok()) << r.error().message;
      if (r.ok()) all.insert(all.end(), r->begin(), r->end());
    }
    std::sort(all.begin(), all.end());
    return all;
  };
  // a opened the chat: a chose b, b did not choose a (yet).
  EXPECT_EQ(chosen(b, {a, c, b}), std::vector<UserId>{a});
  EXPECT_EQ(chosen(a, {b}), std::vector<UserId>{});
  ASSERT_TRUE(Send(*store, direct, b, "b-1", "hi a").ok());
  EXPECT_EQ(chosen(a, {b}), std::vector<UserId>{b});  // b wrote back
  // A group counts as it is (its members came in by consent)...
  AddGroup(c, {a});
  EXPECT_EQ(chosen(c, {a, b}), std::vector<UserId>{a});
  // ...unless it is large.
  limits.large_conversation_members = 1;
  UserId d = AddUser("d");
  AddGroup(d, {a});
  EXPECT_EQ(chosen(d, {a}), std::vector<UserId>{});
}

TEST_P(ConsentStore, GroupAddsIsKeptWithTheAccount) {
  UserId alice = AddUser("alice");
  auto read = [&]() {
    return ReadAccountsSync<std::optional<User>>(*store, [=](AccountsTxn& txn) { return txn.FindUser(alice); });
  };
  auto before = read();
  ASSERT_TRUE(before.ok() && *before);
  EXPECT_FALSE((*before)->group_adds.has_value());  // never chosen: the server's default
  ASSERT_TRUE(WriteAccountsSync<bool>(*store, [=](AccountsTxn& txn) -> Result<bool> {
                NATTER_RETURN_IF_ERROR(txn.SetGroupAdds(alice, GroupAdds::kNobody));
                return true;
              }).ok());
  auto after = read();
  ASSERT_TRUE(after.ok() && *after);
  EXPECT_EQ((*after)->group_adds, GroupAdds::kNobody);
}

INSTANTIATE_TEST_SUITE_P(Sqlite, ConsentStore, ::testing::Values("sqlite"));
INSTANTIATE_TEST_SUITE_P(Postgres, ConsentStore, ::testing::ValuesIn(PostgresParams()));
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ConsentStore);

}  // namespace
}  // namespace natter::testing
