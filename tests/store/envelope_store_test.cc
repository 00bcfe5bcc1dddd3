// End-to-end encrypted conversations in the Store contract (docs/e2ee.md): the
// flag survives a read, a send is addressed to exactly the members' current
// devices, each reader loads the header and its own devices' envelopes, and
// erasing a message takes its envelopes and its edits'. SQLite and PostgreSQL.
#include "chat/message_lifecycle.h"
#include "store/store_contract.h"

namespace natter::testing {
namespace {

class EnvelopeStore : public StoreContractTest {
 protected:
  void SetUp() override {
    StoreContractTest::SetUp();
    if (!store) return;
    alice = AddUser("alice");
    bob = AddUser("bob");
    alice_device = AddDevice(alice, 10);
    bob_device = AddDevice(bob, 20);
    ConversationId id = NewConversationId(0);
    auto r = WriteSync<ConversationId>(*store, 0, [=, this](ConversationTxn& txn) -> Result<ConversationId> {
      chat::CreateGroupRequest req{ConversationKind::kGroup, "g", {bob}};
      req.encrypted = true;
      NATTER_TRY(auto view, chat::CreateGroup(txn, Ctx(alice), id, limits, req));
      return view.conversation.id;
    });
    ASSERT_TRUE(r.ok()) << r.error().message;
    group = *r;
  }

  DeviceId AddDevice(UserId user, SessionId session) {
    DeviceKeys d{user, 0, session, 1, "ik", SignedPreKey{1, "spk", "sig"}, 1000};
    auto r = WriteAccountsSync<DeviceId>(*store, [d](AccountsTxn& txn) { return txn.AddDevice(d); });
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : 0;
  }

  static chat::Context Ctx(UserId user) { return chat::Context{user, 2000}; }

  chat::Context SenderCtx(UserId user, SessionId session) {
    chat::Context ctx{user, 2000};
    ctx.session = session;
    return ctx;
  }

  Result<chat::SendResult> SendEncrypted(UserId from, SessionId session, chat::EncryptedPayload payload,
                                         const std::string& id = "m1") {
    chat::SendRequest req{group, id, "", {}};
    req.encrypted = std::move(payload);
    return WriteSync<chat::SendResult>(*store, store->For(group), [=, this](ConversationTxn& txn) {
      return chat::SendMessage(txn, SenderCtx(from, session), limits, req);
    });
  }

  std::vector<Message> History(UserId reader) {
    auto r = ReadSync<std::vector<Message>>(*store, 0, [=, this](ConversationTxn& txn) -> Result<std::vector<Message>> {
      HistoryQuery q;
      q.conversation_id = group;
      q.after = 0;  // ascending
      q.limit = 50;
      NATTER_TRY(auto messages, txn.History(q));
      NATTER_RETURN_IF_ERROR(txn.LoadEnvelopes(messages, reader));
      return messages;
    });
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : std::vector<Message>{};
  }

  UserId alice = 0, bob = 0;
  DeviceId alice_device = 0, bob_device = 0;
  ConversationId group = 0;
};

TEST_P(EnvelopeStore, TheFlagIsKeptAndEachReaderLoadsTheHeaderAndItsOwnEnvelopes) {
  auto found = ReadSync<std::optional<Conversation>>(
      *store, 0, [=, this](ConversationTxn& txn) { return txn.FindConversation(group); });
  ASSERT_TRUE(found.ok() && *found);
  EXPECT_TRUE((*found)->encrypted);
  chat::EncryptedPayload payload{4, "c2hhcmVk", {Envelope{bob, bob_device, 3, "Ym9i"}}};
  auto sent = SendEncrypted(alice, 10, payload);
  ASSERT_TRUE(sent.ok()) << sent.error().message;
  ASSERT_EQ(sent->message.envelopes.size(), 2u);
  EXPECT_EQ(sent->message.envelopes[0].device_id, alice_device);

  auto for_bob = History(bob);
  ASSERT_EQ(for_bob.size(), 1u);
  const auto& envelopes = for_bob.back().envelopes;
  ASSERT_EQ(envelopes.size(), 2u);
  EXPECT_EQ((std::tuple{envelopes[0].user_id, envelopes[0].device_id, envelopes[0].type, envelopes[0].body}),
            (std::tuple{UserId{0}, alice_device, 4, std::string("c2hhcmVk")}));
  EXPECT_EQ((std::tuple{envelopes[1].user_id, envelopes[1].device_id, envelopes[1].type, envelopes[1].body}),
            (std::tuple{bob, bob_device, 3, std::string("Ym9i")}));
  auto for_alice = History(alice);
  ASSERT_EQ(for_alice.back().envelopes.size(), 1u);  // the header alone
  // Who hears of bob's devices: alice, who shares this encrypted group; not a plain group's members.
  UserId carol = AddUser("carol");
  AddGroup(bob, {carol});
  auto peers = ReadSync<std::vector<UserId>>(
      *store, 0, [=, this](ConversationTxn& txn) { return txn.ListEncryptedPeers(bob, 10); });
  ASSERT_TRUE(peers.ok()) << peers.error().message;
  EXPECT_EQ(*peers, std::vector<UserId>{alice});
}

TEST_P(EnvelopeStore, OnlyTheCurrentDevicesAreAddressed) {
  // Bob's device missing, then one he does not have.
  auto stale = SendEncrypted(alice, 10, chat::EncryptedPayload{4, "eA", {}});
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code, ErrorCode::kStaleDevices);
  EXPECT_EQ(stale.error().details, R"({"devices":[{"user_id":)" + std::to_string(bob) + R"(,"device_ids":[1]}]})");
  stale = SendEncrypted(alice, 10, chat::EncryptedPayload{4, "eA", {Envelope{bob, bob_device + 1, 0, ""}}});
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code, ErrorCode::kStaleDevices);
  // A session without a device cannot send.
  auto keyless = SendEncrypted(alice, 99, chat::EncryptedPayload{4, "eA", {Envelope{bob, bob_device, 0, ""}}});
  ASSERT_FALSE(keyless.ok());
  EXPECT_EQ(keyless.error().code, ErrorCode::kForbidden);
  EXPECT_TRUE(History(bob).empty());  // nothing stored
  // Plain text is refused in an encrypted conversation.
  auto plain = Send(*store, group, alice, "plain");
  ASSERT_FALSE(plain.ok());
  EXPECT_EQ(plain.error().code, ErrorCode::kBadRequest);
}

TEST_P(EnvelopeStore, ErasingAMessageTakesItsEnvelopesAndItsEditsEnvelopes) {
  auto sent = SendEncrypted(alice, 10, chat::EncryptedPayload{0, "", {Envelope{bob, bob_device, 3, "b25l"}}});
  ASSERT_TRUE(sent.ok()) << sent.error().message;
  Seq seq = sent->message.seq;
  auto edited = WriteSync<chat::Appended>(*store, 0, [=, this](ConversationTxn& txn) {
    return chat::ChangeEncrypted(txn, SenderCtx(alice, 10), limits, group, seq, EventKind::kEdit,
                                 chat::EncryptedPayload{0, "", {Envelope{bob, bob_device, 2, "dHdv"}}});
  });
  ASSERT_TRUE(edited.ok()) << edited.error().message;
  auto before = History(bob);
  ASSERT_EQ(before.size(), 2u);  // the message, then its edit
  EXPECT_EQ(before[0].envelopes.size(), 2u);
  EXPECT_TRUE(before[0].edited_at.has_value());
  EXPECT_EQ(before[1].envelopes.size(), 2u);
  auto erased = WriteSync<bool>(*store, 0, [=, this](ConversationTxn& txn) -> Result<bool> {
    NATTER_RETURN_IF_ERROR(txn.EraseMessage(group, seq));
    return true;
  });
  ASSERT_TRUE(erased.ok()) << erased.error().message;
  auto after = History(bob);
  ASSERT_EQ(after.size(), 2u);
  EXPECT_TRUE(after[0].envelopes.empty());
  EXPECT_TRUE(after[1].envelopes.empty());
}

TEST_P(EnvelopeStore, ErasingAUserTakesTheirEncryptedReactionsAndWhatWasAddressedToThem) {
  auto sent = SendEncrypted(alice, 10, chat::EncryptedPayload{0, "", {Envelope{bob, bob_device, 3, "Zm9yYm9i"}}});
  ASSERT_TRUE(sent.ok()) << sent.error().message;
  Seq seq = sent->message.seq;
  auto reacted = WriteSync<chat::Appended>(*store, 0, [=, this](ConversationTxn& txn) {
    return chat::ChangeEncrypted(txn, SenderCtx(bob, 20), limits, group, seq, EventKind::kReaction,
                                 chat::EncryptedPayload{0, "", {Envelope{alice, alice_device, 2, "aGVhcnQ"}}});
  });
  ASSERT_TRUE(reacted.ok()) << reacted.error().message;
  auto touched = ReadSync<std::vector<ConversationId>>(
      *store, 0, [=, this](ConversationTxn& txn) { return txn.ListTouchedConversations(bob); });
  ASSERT_TRUE(touched.ok());
  EXPECT_EQ(*touched, std::vector<ConversationId>{group});
  auto erased = WriteSync<bool>(*store, 0, [=, this](ConversationTxn& txn) -> Result<bool> {
    NATTER_TRY(auto content, chat::EraseContentBy(txn, limits, group, bob, 3000, 0, 100));
    NATTER_RETURN_IF_ERROR(txn.ForgetUserRows(bob));
    return !content.more;
  });
  ASSERT_TRUE(erased.ok()) << erased.error().message;
  auto for_alice = History(alice);
  ASSERT_EQ(for_alice.size(), 2u);               // the message, then bob's reaction
  EXPECT_EQ(for_alice[0].envelopes.size(), 1u);  // alice's own: the header, nothing for bob's device now
  EXPECT_TRUE(for_alice[1].envelopes.empty());   // bob's reaction: gone whole
  EXPECT_EQ(History(bob)[0].envelopes.size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Sqlite, EnvelopeStore, ::testing::Values("sqlite"));
INSTANTIATE_TEST_SUITE_P(Postgres, EnvelopeStore, ::testing::ValuesIn(PostgresParams()));
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(EnvelopeStore);

}  // namespace
}  // namespace natter::testing
