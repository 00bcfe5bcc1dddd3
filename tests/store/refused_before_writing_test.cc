// Refusals a client can cause on purpose are decided before the operation
// writes anything. PostgreSQL's pipelined batch runs its operations without
// savepoints: one refused after it wrote makes the whole batch run again, so
// each such refusal would cost every other write of its batch a second run.
// Each test counts the runs of its operation; SQLite and PostgreSQL alike.
#include <atomic>

#include "api/attach_uploads.h"
#include "store/store_contract.h"

namespace natter::testing {
namespace {

using RefusedBeforeWriting = StoreContractTest;

TEST_P(RefusedBeforeWriting, GroupAddsPastTheCapInviteNobody) {
  UserId owner = AddUser("owner"), b = AddUser("b"), c = AddUser("c"), d = AddUser("d"), e = AddUser("e");
  ConversationId conv = AddGroup(owner, {b});
  auto nobody = WriteAccountsSync<bool>(*store, [=](AccountsTxn& txn) -> Result<bool> {
    NATTER_RETURN_IF_ERROR(txn.SetGroupAdds(e, GroupAdds::kNobody));  // e is invited, not added
    return true;
  });
  ASSERT_TRUE(nobody.ok());
  limits.max_group_members = 3;  // two members now: c and d together are one too many
  std::atomic<int> runs{0};
  auto added = WriteSync<bool>(*store, store->For(conv), [&](ConversationTxn& txn) -> Result<bool> {
    ++runs;
    NATTER_TRY(auto view,
               chat::AddMembers(txn, chat::Context{owner, 3000}, limits, conv, {e, c, d}, Role::kMember, {}));
    return !view.invitations.empty();
  });
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.error().code, ErrorCode::kTooLarge);
  EXPECT_EQ(runs.load(), 1);
  auto invited = ReadSync<bool>(*store, store->PartitionOf(conv), [=](ConversationTxn& txn) -> Result<bool> {
    NATTER_TRY(auto found, txn.FindInvitation(conv, e));
    return found.has_value();
  });
  ASSERT_TRUE(invited.ok());
  EXPECT_FALSE(*invited);
}

TEST_P(RefusedBeforeWriting, PreKeysPastTheCapAddNone) {
  UserId alice = AddUser("alice");
  auto device = WriteAccountsSync<DeviceId>(*store, [=](AccountsTxn& txn) -> Result<DeviceId> {
    NATTER_TRY(DeviceId id, txn.AddDevice(DeviceKeys{alice, 0, 10, 77, "ik", SignedPreKey{1, "spk", "sig"}, 1000}));
    NATTER_TRY(int64_t held, txn.AddPreKeys(alice, id, {{1, "k1"}, {2, "k2"}, {3, "k3"}}, 5));
    if (held != 3) return Internal("held " + std::to_string(held));
    return id;
  });
  ASSERT_TRUE(device.ok()) << device.error().message;
  std::atomic<int> runs{0};
  auto past = WriteAccountsSync<int64_t>(*store, [&](AccountsTxn& txn) {
    ++runs;
    return txn.AddPreKeys(alice, *device, {{3, "k3"}, {4, "k4"}, {5, "k5"}, {6, "k6"}}, 5);
  });
  ASSERT_FALSE(past.ok());
  EXPECT_EQ(past.error().code, ErrorCode::kTooLarge);
  EXPECT_EQ(runs.load(), 1);
  // Nothing of it was kept: not the keys, not the highest id published.
  auto within = WriteAccountsSync<int64_t>(*store, [&](AccountsTxn& txn) {
    return txn.AddPreKeys(alice, *device, {{3, "k3"}, {4, "k4"}, {5, "k5"}}, 5);
  });
  ASSERT_TRUE(within.ok()) << within.error().message;
  EXPECT_EQ(*within, 5);
}

MediaUpload ReadyImage(int64_t id, UserId user) {
  MediaUpload u;
  u.id = id;
  u.user_id = user;
  u.size = 100;
  u.declared_mime = "image/jpeg";
  u.state = UploadState::kReady;
  u.created_at = 1000;
  u.expires_at = 9000;
  u.info = R"({"id":)" + std::to_string(id) + R"(,"kind":"image","mime":"image/jpeg"})";
  return u;
}

TEST_P(RefusedBeforeWriting, AttachmentsWithOneRefusedAttachNone) {
  UserId a = AddUser("a"), b = AddUser("b");
  auto inserted = WriteAccountsSync<bool>(*store, [=](AccountsTxn& txn) -> Result<bool> {
    NATTER_RETURN_IF_ERROR(txn.InsertUpload(ReadyImage(1, a)));
    NATTER_RETURN_IF_ERROR(txn.InsertUpload(ReadyImage(2, b)));
    NATTER_RETURN_IF_ERROR(txn.InsertUpload(ReadyImage(3, a)));
    return true;
  });
  ASSERT_TRUE(inserted.ok()) << inserted.error().message;
  std::atomic<int> runs{0};
  auto attach = [&](std::vector<api::AttachmentRef> refs, const std::string& send_key) {
    return WriteAccountsSync<std::vector<media::Attachment>>(*store, [&, refs, send_key](AccountsTxn& txn) {
      ++runs;
      return api::AttachUploads(txn, a, refs, 2000, send_key, false);
    });
  };
  auto state = [&](int64_t id) {
    auto r = ReadAccountsSync<MediaUpload>(*store, [id](AccountsTxn& txn) -> Result<MediaUpload> {
      NATTER_TRY(auto u, txn.FindUpload(id));
      if (!u) return NotFound("gone");
      return std::move(*u);
    });
    EXPECT_TRUE(r.ok());
    return r.ok() ? std::make_pair(r->state, r->attached_to) : std::make_pair(UploadState::kExpired, std::string());
  };

  // A good one before another user's upload.
  auto refused = attach({{1, "", 0}, {2, "", 0}}, "7:m1");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(runs.exchange(0), 1);
  EXPECT_EQ(state(1), std::make_pair(UploadState::kReady, std::string()));

  // Attached to one send, an upload refuses another, and a retry of its own
  // send takes it again.
  ASSERT_TRUE(attach({{1, "", 0}}, "7:m1").ok());
  EXPECT_EQ(state(1), std::make_pair(UploadState::kAttached, std::string("7:m1")));
  runs = 0;
  auto other = attach({{3, "", 0}, {1, "", 0}}, "7:m2");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, ErrorCode::kConflict);
  EXPECT_EQ(runs.load(), 1);
  EXPECT_EQ(state(3), std::make_pair(UploadState::kReady, std::string()));
  auto retried = attach({{1, "", 0}}, "7:m1");
  ASSERT_TRUE(retried.ok()) << retried.error().message;
  ASSERT_EQ(retried->size(), 1u);
  EXPECT_EQ((*retried)[0].id, 1);
}

INSTANTIATE_TEST_SUITE_P(Sqlite, RefusedBeforeWriting, ::testing::Values("sqlite"));
INSTANTIATE_TEST_SUITE_P(Postgres, RefusedBeforeWriting, ::testing::ValuesIn(PostgresParams()));
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(RefusedBeforeWriting);

}  // namespace
}  // namespace natter::testing
