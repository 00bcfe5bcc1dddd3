// The media part of the Store contract: an upload goes uploading -> ready ->
// attached once, only for its owner and before it expires; usage counts what
// a user holds; a message keeps its attachments until it is deleted. Run on
// SQLite and PostgreSQL alike.
#include "store/store_contract.h"

namespace natter::testing {
namespace {

using MediaStore = StoreContractTest;

MediaUpload Upload(int64_t id, UserId user, int64_t size, int64_t created_at, int64_t expires_at) {
  MediaUpload u;
  u.id = id;
  u.user_id = user;
  u.size = size;
  u.declared_mime = "image/jpeg";
  u.filename = "cat.jpg";
  u.created_at = created_at;
  u.expires_at = expires_at;
  return u;
}

TEST_P(MediaStore, AnUploadIsFinishedOnceAndAttachedOnlyByItsOwnerBeforeItExpires) {
  UserId a = AddUser("a"), b = AddUser("b");
  auto r = WriteAccountsSync<std::vector<bool>>(*store, [=](AccountsTxn& txn) -> Result<std::vector<bool>> {
    NATTER_RETURN_IF_ERROR(txn.InsertUpload(Upload(1, a, 100, 1000, 5000)));
    NATTER_RETURN_IF_ERROR(txn.InsertUpload(Upload(2, a, 200, 1000, 5000)));
    std::vector<bool> out;
    NATTER_TRY(bool early, txn.AttachUpload(1, a, 2000, "7:m1"));  // still uploading
    NATTER_TRY(bool finished, txn.FinishUpload(1, R"({"kind":"image"})", 9000));
    NATTER_TRY(bool again, txn.FinishUpload(1, "{}", 9000));
    NATTER_TRY(bool by_other, txn.AttachUpload(1, b, 2000, "7:m1"));
    NATTER_TRY(bool expired, txn.AttachUpload(1, a, 9500, "7:m1"));
    NATTER_TRY(bool attached, txn.AttachUpload(1, a, 2000, "7:m1"));
    NATTER_TRY(bool retried, txn.AttachUpload(1, a, 99999, "7:m1"));    // the same send; attached never expires
    NATTER_TRY(bool other_send, txn.AttachUpload(1, a, 2000, "7:m2"));  // one upload, one message
    return std::vector<bool>{early, finished, again, by_other, expired, attached, retried, other_send};
  });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, (std::vector<bool>{false, true, false, false, false, true, true, false}));

  auto found = ReadAccountsSync<std::optional<MediaUpload>>(*store, [](AccountsTxn& txn) { return txn.FindUpload(1); });
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->state, UploadState::kAttached);
  EXPECT_EQ((*found)->expires_at, 0);
  EXPECT_EQ((*found)->info, R"({"kind":"image"})");
  EXPECT_EQ((*found)->filename, "cat.jpg");
  EXPECT_EQ((*found)->size, 100);
}

TEST_P(MediaStore, UsageCountsRecentUploadsAndBytesNotExpired) {
  UserId a = AddUser("a"), b = AddUser("b");
  auto r = WriteAccountsSync<std::vector<int64_t>>(*store, [=](AccountsTxn& txn) -> Result<std::vector<int64_t>> {
    NATTER_RETURN_IF_ERROR(txn.InsertUpload(Upload(1, a, 100, 1000, 3000)));  // expires at 3000
    NATTER_RETURN_IF_ERROR(txn.InsertUpload(Upload(2, a, 200, 2000, 8000)));
    NATTER_RETURN_IF_ERROR(txn.InsertUpload(Upload(3, a, 400, 2500, 8000)));
    NATTER_RETURN_IF_ERROR(txn.InsertUpload(Upload(4, b, 800, 2500, 8000)));
    NATTER_TRY(bool ok, txn.FinishUpload(3, "{}", 8000));
    NATTER_TRY(bool attached, txn.AttachUpload(3, a, 4000, "1:x"));
    if (!ok || !attached) return Internal("not finished");
    NATTER_TRY(auto usage, txn.GetMediaUsage(a, 2000, 4000));
    NATTER_TRY(auto expired, txn.ListExpiredUploads(4000, 10));
    NATTER_RETURN_IF_ERROR(txn.DeleteUpload(1));
    NATTER_TRY(auto after, txn.ListExpiredUploads(4000, 10));
    NATTER_TRY(auto later, txn.ListExpiredUploads(100000, 10));  // 2 and b's 4; the attached 3 never
    return std::vector<int64_t>{usage.uploads_since,
                                usage.bytes,
                                static_cast<int64_t>(expired.size()),
                                expired.empty() ? 0 : expired[0].id,
                                static_cast<int64_t>(after.size()),
                                static_cast<int64_t>(later.size())};
  });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, (std::vector<int64_t>{2, 600, 1, 1, 0, 2}));
}

TEST_P(MediaStore, AMessageKeepsItsAttachmentsUntilItIsDeleted) {
  UserId a = AddUser("a"), b = AddUser("b");
  ConversationId conv = AddGroup(a, {b});
  chat::SendRequest req{conv, "m1", "", {}};
  req.attachments = R"([{"id":"7","kind":"image"}])";
  auto sent = WriteSync<chat::SendResult>(*store, store->For(conv), [=, this](ConversationTxn& txn) {
    return chat::SendMessage(txn, chat::Context{a, 2000}, limits, req);
  });
  ASSERT_TRUE(sent.ok()) << sent.error().message;
  Seq seq = sent->message.seq;
  auto read = [&] {
    auto m = ReadSync<std::optional<Message>>(*store, store->PartitionOf(conv),
                                              [=](ConversationTxn& txn) { return txn.FindMessage(conv, seq); });
    EXPECT_TRUE(m.ok() && m->has_value());
    return m.ok() && m->has_value() ? (*m)->attachments : "missing";
  };
  EXPECT_EQ(read(), req.attachments);
  auto erased = WriteSync<bool>(*store, store->For(conv), [=](ConversationTxn& txn) -> Result<bool> {
    NATTER_RETURN_IF_ERROR(txn.EraseMessage(conv, seq));
    return true;
  });
  ASSERT_TRUE(erased.ok());
  EXPECT_EQ(read(), "");
}

TEST_P(MediaStore, TheCatalogCountsUsesAndForgetsAnObjectAtItsLast) {
  const std::string sha(64, 'c');
  auto r = WriteAccountsSync<std::vector<int64_t>>(*store, [&](AccountsTxn& txn) -> Result<std::vector<int64_t>> {
    std::vector<int64_t> out;
    NATTER_TRY(auto none, txn.RefObject(sha));
    out.push_back(none.value_or(-1));
    NATTER_TRY(int64_t first, txn.AddObject(sha, 7));
    NATTER_TRY(int64_t second, txn.AddObject(sha, 9));  // written meanwhile: the first stays
    NATTER_TRY(auto third, txn.RefObject(sha));
    out.insert(out.end(), {first, second, third.value_or(-1)});
    NATTER_TRY(bool other_generation, txn.UnrefObject(sha, 9));
    out.push_back(other_generation);
    for (int i = 0; i < 3; ++i) {
      NATTER_TRY(bool last, txn.UnrefObject(sha, 7));
      out.push_back(last);
    }
    NATTER_TRY(auto gone, txn.RefObject(sha));
    NATTER_TRY(int64_t again, txn.AddObject(sha, 11));  // stored anew: a new generation
    NATTER_TRY(bool unknown, txn.UnrefObject(std::string(64, 'd'), 1));
    out.insert(out.end(), {gone.value_or(-1), again, unknown});
    return out;
  });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, (std::vector<int64_t>{-1, 7, 7, 7, 0, 0, 0, 1, -1, 11, 0}));
}

TEST_P(MediaStore, ReleasesOfDeletedMessagesComeDueInOrder) {
  auto r = WriteSync<std::vector<std::vector<int64_t>>>(
      *store, WriteKey(0), [](ConversationTxn& txn) -> Result<std::vector<std::vector<int64_t>>> {
        NATTER_RETURN_IF_ERROR(txn.AddMediaRelease(5, 1000));
        NATTER_RETURN_IF_ERROR(txn.AddMediaRelease(5, 2000));  // released once
        NATTER_RETURN_IF_ERROR(txn.AddMediaRelease(6, 3000));
        NATTER_TRY(auto early, txn.ListDueMediaReleases(1500, 10));
        NATTER_TRY(auto all, txn.ListDueMediaReleases(5000, 10));
        NATTER_RETURN_IF_ERROR(txn.DeleteMediaRelease(5));
        NATTER_TRY(auto left, txn.ListDueMediaReleases(5000, 10));
        return std::vector<std::vector<int64_t>>{early, all, left};
      });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, (std::vector<std::vector<int64_t>>{{5}, {5, 6}, {6}}));
}

TEST_P(MediaStore, AConditionalDeleteTakesOnlyWhatIsStillAsItWasRead) {
  UserId a = AddUser("a");
  const int64_t now = 1'764'000'000'000;  // real times: past 32 bits
  auto r = WriteAccountsSync<std::vector<bool>>(*store, [=](AccountsTxn& txn) -> Result<std::vector<bool>> {
    NATTER_RETURN_IF_ERROR(txn.InsertUpload(Upload(1, a, 100, now, now + 5000)));
    NATTER_TRY(bool ok, txn.FinishUpload(1, "{}", now + 5000));
    if (!ok) return Internal("not finished");
    NATTER_TRY(bool wrong_state, txn.DeleteUploadIf(1, UploadState::kUploading, 0));
    NATTER_TRY(bool not_expired, txn.DeleteUploadIf(1, UploadState::kReady, now + 4000));
    NATTER_TRY(bool expired, txn.DeleteUploadIf(1, UploadState::kReady, now + 6000));
    NATTER_TRY(bool second, txn.DeleteUploadIf(1, UploadState::kReady, now + 6000));  // another node, after
    return std::vector<bool>{wrong_state, not_expired, expired, second};
  });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, (std::vector<bool>{false, false, true, false}));
}

INSTANTIATE_TEST_SUITE_P(Sqlite, MediaStore, ::testing::Values("sqlite"));
INSTANTIATE_TEST_SUITE_P(Postgres, MediaStore, ::testing::ValuesIn(PostgresParams()));
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(MediaStore);

}  // namespace
}  // namespace natter::testing
