// The erasure part of the Store contract (docs/admin.md): the accounts keep
// an erased user's row and nothing else of theirs but the audit log; each
// partition finds every conversation they touched (left ones too), their live
// messages a slice at a time and their reactions, and forgets the rest of
// their rows. Run on SQLite and PostgreSQL alike (two partitions there).
#include <algorithm>
#include <tuple>

#include "chat/message_lifecycle.h"
#include "store/store_contract.h"

namespace natter::testing {
namespace {

class ErasureStore : public StoreContractTest {
 protected:
  // Every partition's conversations `user` touched, in id order.
  std::vector<ConversationId> ReadAllPartitions(UserId user) {
    std::vector<ConversationId> all;
    for (int p = 0; p < store->Partitions(); ++p) {
      auto part = ReadSync<std::vector<ConversationId>>(
          *store, p, [=](ConversationTxn& txn) { return txn.ListTouchedConversations(user); });
      EXPECT_TRUE(part.ok()) << part.error().message;
      if (part.ok()) all.insert(all.end(), part->begin(), part->end());
    }
    std::sort(all.begin(), all.end());
    return all;
  }
};

TEST_P(ErasureStore, AnErasedAccountKeepsOnlyItsRow) {
  UserId alice = AddUser("alice"), bob = AddUser("Bob");
  auto set_up = WriteAccountsSync<bool>(*store, [=](AccountsTxn& txn) -> Result<bool> {
    NATTER_TRY(bool profiled, txn.SetProfile(bob, "Bob Smith", "", 0, 0));
    NATTER_RETURN_IF_ERROR(txn.InsertSession(Session{21, bob, "Bob's phone", false, 1}));
    NATTER_RETURN_IF_ERROR(txn.InsertSession(Session{22, bob, "Bob's tablet", false, 1}));
    NATTER_RETURN_IF_ERROR(txn.InsertSession(Session{31, alice, "phone", false, 1}));
    NATTER_RETURN_IF_ERROR(txn.InsertRefreshToken(RefreshTokenRecord{"bob-refresh", 21, false}));
    NATTER_RETURN_IF_ERROR(txn.PutPushDevice(PushDevice{22, bob, "fcm", "bob-token", "", "production", "en", 1}));
    NATTER_RETURN_IF_ERROR(txn.SetBlocked(bob, alice, true, 1));
    NATTER_RETURN_IF_ERROR(txn.SetBlocked(alice, bob, true, 1));
    NATTER_RETURN_IF_ERROR(txn.SetServerRole(bob, ServerRole::kModerator));
    NATTER_RETURN_IF_ERROR(txn.LinkExternalUser("https://id.example", "bob-sub", bob, 1));
    NATTER_TRY(int64_t by_bob, txn.InsertReport(Report{0, 1, bob, alice, 0, 0, "spam", "bob's words", ""}));
    NATTER_TRY(int64_t of_bob, txn.InsertReport(Report{0, 1, alice, bob, 5, 1, "spam", "", "bob's message"}));
    for (auto [id, owner, state] : {std::tuple{501, bob, UploadState::kAttached},
                                    {502, bob, UploadState::kReady},
                                    {503, bob, UploadState::kUploading},
                                    {504, alice, UploadState::kAttached}}) {
      NATTER_RETURN_IF_ERROR(txn.InsertUpload(MediaUpload{id, owner, 10, "image/jpeg", "bob.jpg", state, 1,
                                                          state == UploadState::kAttached ? 0 : 99999, ""}));
    }
    return profiled && by_bob == 1 && of_bob == 2;
  });
  ASSERT_TRUE(set_up.ok() && *set_up) << (set_up.ok() ? "not set up" : set_up.error().message);

  // What an export reads of the accounts.
  using Listed = std::pair<std::vector<MediaUpload>, std::vector<Report>>;
  auto listed = ReadAccountsSync<Listed>(*store, [=](AccountsTxn& txn) -> Result<Listed> {
    NATTER_TRY(auto uploads, txn.ListUploadsOf(bob));
    NATTER_TRY(auto reports, txn.ListReportsBy(bob));
    return Listed{std::move(uploads), std::move(reports)};
  });
  ASSERT_TRUE(listed.ok()) << listed.error().message;
  std::vector<int64_t> upload_ids;
  for (const auto& up : listed->first) upload_ids.push_back(up.id);
  EXPECT_EQ(upload_ids, (std::vector<int64_t>{501, 502, 503}));
  ASSERT_EQ(listed->second.size(), 1u);
  EXPECT_EQ(listed->second[0].text, "bob's words");

  auto erase = [&] {
    return WriteAccountsSync<std::vector<SessionId>>(
        *store, [=](AccountsTxn& txn) { return txn.EraseAccount(bob, 7000, 9000); });
  };
  auto ended = erase();
  ASSERT_TRUE(ended.ok()) << ended.error().message;
  std::sort(ended->begin(), ended->end());
  EXPECT_EQ(*ended, (std::vector<SessionId>{21, 22}));

  struct Left {
    std::optional<User> user, by_old_handle;
    std::optional<Session> session, others_session;
    std::optional<RefreshTokenRecord> refresh;
    std::optional<PushDevice> device;
    BlockState blocks;
    std::optional<UserId> external;
    std::optional<Report> by_bob, of_bob;
    std::optional<MediaUpload> ready, uploading;
  };
  auto left = ReadAccountsSync<Left>(*store, [=](AccountsTxn& txn) -> Result<Left> {
    Left l;
    NATTER_TRY(l.user, txn.FindUser(bob));
    NATTER_TRY(l.by_old_handle, txn.FindUserByHandle("bob"));
    NATTER_TRY(l.session, txn.FindSession(21));
    NATTER_TRY(l.others_session, txn.FindSession(31));
    NATTER_TRY(l.refresh, txn.FindRefreshToken("bob-refresh"));
    NATTER_TRY(l.device, txn.FindPushDevice(22));
    NATTER_TRY(l.blocks, txn.BlocksBetween(alice, bob));
    NATTER_TRY(l.external, txn.FindExternalUser("https://id.example", "bob-sub"));
    NATTER_TRY(l.by_bob, txn.FindReport(1));
    NATTER_TRY(l.of_bob, txn.FindReport(2));
    NATTER_TRY(l.ready, txn.FindUpload(502));
    NATTER_TRY(l.uploading, txn.FindUpload(503));
    return l;
  });
  ASSERT_TRUE(left.ok()) << left.error().message;
  ASSERT_TRUE(left->user);
  const User& u = *left->user;
  EXPECT_EQ(u.handle, "~erased-" + std::to_string(bob));
  EXPECT_EQ(std::make_tuple(u.password_hash, u.display_name, u.erased_at, u.suspended_at),
            std::make_tuple(std::string(), std::string(), int64_t{7000}, int64_t{7000}));
  EXPECT_EQ(u.server_role, ServerRole::kNone);
  EXPECT_FALSE(left->by_old_handle);
  EXPECT_FALSE(left->session);
  EXPECT_TRUE(left->others_session);
  EXPECT_FALSE(left->refresh);
  EXPECT_FALSE(left->device);
  EXPECT_FALSE(left->blocks.a_blocked_b || left->blocks.b_blocked_a);
  EXPECT_FALSE(left->external);
  ASSERT_TRUE(left->by_bob && left->of_bob);
  EXPECT_EQ(left->by_bob->text, "");
  EXPECT_EQ(left->by_bob->reason, "spam");  // the moderators' record stays
  EXPECT_EQ(left->of_bob->message_text, "");
  ASSERT_TRUE(left->ready && left->uploading);
  EXPECT_EQ(left->ready->expires_at, 7000);
  EXPECT_EQ(left->uploading->expires_at, 7000);
  // The attached upload is released after the grace period; alice's is not.
  auto due = ReadSync<std::vector<int64_t>>(*store, 0,
                                            [](ConversationTxn& txn) { return txn.ListDueMediaReleases(9000, 10); });
  ASSERT_TRUE(due.ok());
  EXPECT_EQ(*due, std::vector<int64_t>{501});

  // Again: nothing more ends, the first erasure's time stays.
  ended = erase();
  ASSERT_TRUE(ended.ok());
  EXPECT_TRUE(ended->empty());
  auto again = ReadAccountsSync<std::optional<User>>(*store, [=](AccountsTxn& txn) { return txn.FindUser(bob); });
  ASSERT_TRUE(again.ok() && *again);
  EXPECT_EQ((*again)->erased_at, 7000);
}

TEST_P(ErasureStore, EveryConversationTheUserTouchedIsFoundAndEmptied) {
  UserId alice = AddUser("alice"), bob = AddUser("bob"), carol = AddUser("carol");
  int last = store->Partitions() - 1;
  ConversationId owned = AddGroup(bob, {alice, carol}, 0);  // bob owns it
  ConversationId left = AddGroup(alice, {bob}, last);       // bob writes, then leaves
  ConversationId invited = AddGroup(alice, {carol}, last);  // bob only has an invitation
  ConversationId untouched = AddGroup(alice, {carol}, 0);
  ASSERT_TRUE(WriteSync<bool>(*store, store->For(owned), [=](ConversationTxn& txn) -> Result<bool> {
                NATTER_RETURN_IF_ERROR(txn.UpdateRole(owned, carol, Role::kAdmin));
                return true;
              }).ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Send(*store, owned, bob, "o" + std::to_string(i), "secret").ok());
  auto alices = Send(*store, owned, alice, "a1", "hello");
  ASSERT_TRUE(alices.ok());
  Seq alices_seq = alices->message.seq;
  ASSERT_TRUE(Send(*store, left, bob, "l1", "secret too").ok());
  ASSERT_TRUE(WriteSync<bool>(*store, store->For(left), [=](ConversationTxn& txn) -> Result<bool> {
                NATTER_RETURN_IF_ERROR(txn.DeleteMember(left, bob));
                NATTER_RETURN_IF_ERROR(txn.SetDeparted(left, bob, true, 3000));
                NATTER_TRY(int64_t pts, txn.AppendUserUpdate(bob, left, 1));
                return pts > 0;
              }).ok());
  ASSERT_TRUE(WriteSync<bool>(*store, store->For(invited), [=](ConversationTxn& txn) -> Result<bool> {
                NATTER_TRY(bool put, txn.PutInvitation(Invitation{invited, bob, alice, Role::kMember, 3000}));
                return put;
              }).ok());
  // A reaction through the timeline: a row, and an event naming the emoji.
  ASSERT_TRUE(WriteSync<chat::Appended>(*store, store->For(owned), [=, this](ConversationTxn& txn) {
                return chat::React(txn, chat::Context{bob, 2000}, limits, owned, alices_seq, "👍");
              }).ok());

  // What an export reads of a conversation: their live messages, paged, and reactions.
  using Read = std::pair<std::vector<Message>, std::vector<std::pair<Seq, std::string>>>;
  auto read = ReadSync<Read>(*store, store->PartitionOf(owned), [=](ConversationTxn& txn) -> Result<Read> {
    NATTER_TRY(auto first_page, txn.ListMessagesBy(owned, bob, 0, 2));
    if (first_page.size() != 2) return Internal("a page of two was not two");
    NATTER_TRY(auto rest, txn.ListMessagesBy(owned, bob, first_page.back().seq, 2));
    first_page.insert(first_page.end(), rest.begin(), rest.end());
    NATTER_TRY(auto reactions, txn.ListReactionsBy(owned, bob));
    return Read{std::move(first_page), std::move(reactions)};
  });
  ASSERT_TRUE(read.ok()) << read.error().message;
  ASSERT_EQ(read->first.size(), 3u);
  EXPECT_EQ(read->first[2].text, "secret");
  EXPECT_EQ(read->second, (std::vector<std::pair<Seq, std::string>>{{alices_seq, "👍"}}));

  auto touched = ReadAllPartitions(bob);
  EXPECT_EQ(touched, (std::vector<ConversationId>{owned, left, invited}));
  (void)untouched;

  auto slice = [&](ConversationId id, Seq after, int max) {
    return WriteSync<chat::ErasedContent>(*store, store->For(id), [=, this](ConversationTxn& txn) {
      return chat::EraseContentBy(txn, limits, id, bob, 5000, after, max);
    });
  };
  auto first = slice(owned, 0, 2);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(std::make_tuple(first->erased.size(), first->more, first->events.size()),
            std::make_tuple(size_t{2}, true, size_t{2}));
  auto second = slice(owned, first->erased.back().seq, 2);
  ASSERT_TRUE(second.ok());
  // The last message, then the reaction taken back.
  EXPECT_EQ(std::make_tuple(second->erased.size(), second->more, second->events.size()),
            std::make_tuple(size_t{1}, false, size_t{2}));
  EXPECT_EQ(second->erased[0].text, "secret");  // as it was, for its attachments
  EXPECT_EQ(second->events.back().event.kind, EventKind::kReaction);
  EXPECT_EQ(second->events.back().event.target_seq, alices_seq);

  auto gone = WriteSync<std::optional<chat::ConversationView>>(
      *store, store->For(owned),
      [=, this](ConversationTxn& txn) { return chat::ExpelMember(txn, limits, owned, bob, 5000); });
  ASSERT_TRUE(gone.ok() && *gone) << (gone.ok() ? "not a member" : gone.error().message);
  auto roles = std::vector<std::pair<UserId, Role>>{};
  for (const auto& m : (*gone)->members) roles.emplace_back(m.user_id, m.role);
  std::sort(roles.begin(), roles.end());
  // The admin who joined first owns it now.
  EXPECT_EQ(roles, (std::vector<std::pair<UserId, Role>>{{alice, Role::kMember}, {carol, Role::kOwner}}));

  auto history = ReadSync<std::vector<Message>>(*store, store->PartitionOf(owned), [=](ConversationTxn& txn) {
    return txn.History(HistoryQuery{owned, std::nullopt, Seq{0}, 100});
  });
  ASSERT_TRUE(history.ok());
  for (const auto& m : *history) {
    EXPECT_EQ(m.text.find("secret"), std::string::npos) << m.seq;
    if (m.kind == EventKind::kMessage && m.sender_id == bob) {
      EXPECT_TRUE(m.deleted) << m.seq;
    }
    if (m.seq == alices_seq) {
      EXPECT_TRUE(m.reactions.empty());
    }
    if (m.kind == EventKind::kReaction) {
      EXPECT_EQ(m.text, "") << "the emoji of reaction event " << m.seq;
    }
  }

  ASSERT_TRUE(slice(left, 0, 10).ok());
  for (int p = 0; p < store->Partitions(); ++p) {
    ASSERT_TRUE(WriteSync<bool>(*store, p, [=](ConversationTxn& txn) -> Result<bool> {
                  NATTER_RETURN_IF_ERROR(txn.ForgetUserRows(bob));
                  return true;
                }).ok());
  }
  // Nothing is left to find: not the invitation, not the left group's message.
  EXPECT_EQ(ReadAllPartitions(bob), std::vector<ConversationId>{});
  auto departed = ReadSync<bool>(*store, store->PartitionOf(left),
                                 [=](ConversationTxn& txn) { return txn.HasDeparted(left, bob); });
  ASSERT_TRUE(departed.ok());
  EXPECT_FALSE(*departed);
  auto log = ReadSync<std::vector<UserUpdate>>(*store, store->PartitionOf(left),
                                               [=](ConversationTxn& txn) { return txn.UserUpdatesSince(bob, 0, 10); });
  ASSERT_TRUE(log.ok());
  EXPECT_TRUE(log->empty());
}

INSTANTIATE_TEST_SUITE_P(Sqlite, ErasureStore, ::testing::Values("sqlite"));
INSTANTIATE_TEST_SUITE_P(Postgres, ErasureStore, ::testing::ValuesIn(PostgresParams()));
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ErasureStore);

}  // namespace
}  // namespace natter::testing
