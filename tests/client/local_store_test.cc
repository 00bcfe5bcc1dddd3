#include "local_store.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "fakes/temp_db.h"

namespace natter::client {
namespace {

class LocalStoreRetentionTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = std::make_unique<LocalStore>(dir_); }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Add(int64_t conversation, int64_t seq, int64_t created_at, const char* kind = "message") {
    store_->ApplyEntry({{"conversation_id", conversation},
                        {"seq", seq},
                        {"kind", kind},
                        {"sender_id", 7},
                        {"text", "m" + std::to_string(seq)},
                        {"created_at", created_at}});
  }
  std::vector<int64_t> Seqs(int64_t conversation) {
    std::vector<int64_t> out;
    for (const auto& e : store_->History(conversation, std::nullopt, 100)) {
      out.push_back(e.as_object().at("seq").as_int64());
    }
    return out;
  }

  std::string dir_ = testing::MakeTempDir("natter-local-store");
  std::unique_ptr<LocalStore> store_;
};

TEST_F(LocalStoreRetentionTest, KeepsTheNewestEntriesOfEachConversation) {
  for (int64_t seq = 1; seq <= 30; ++seq) Add(1, seq, seq * 1000);
  for (int64_t seq = 1; seq <= 5; ++seq) Add(2, seq, seq * 1000);
  store_->Compact(10, 0, 2);  // one conversation: the other is not touched
  EXPECT_EQ(Seqs(1).size(), 30u);
  store_->Compact(10, 0);
  EXPECT_EQ(Seqs(1), (std::vector<int64_t>{21, 22, 23, 24, 25, 26, 27, 28, 29, 30}));
  EXPECT_EQ(Seqs(2).size(), 5u);
}

TEST_F(LocalStoreRetentionTest, DropsOldEntriesButEachConversationsNewestMessage) {
  for (int64_t seq = 1; seq <= 30; ++seq) Add(1, seq, seq * 1000);
  for (int64_t seq = 1; seq <= 4; ++seq) Add(2, seq, seq * 1000);
  Add(2, 5, 5000, "reaction");  // an event is no preview: the newest message is seq 4
  store_->Compact(0, 25'000);
  EXPECT_EQ(Seqs(1), (std::vector<int64_t>{25, 26, 27, 28, 29, 30}));
  EXPECT_EQ(Seqs(2), (std::vector<int64_t>{4}));
}

TEST_F(LocalStoreRetentionTest, ForgetsMySentMessagesWithTheirEntriesButNotPendingOnes) {
  for (int64_t seq = 1; seq <= 20; ++seq) Add(1, seq, seq * 1000);
  store_->AddToOutbox({"old", 1, "hi", std::nullopt, "", 0, ""});
  store_->MarkSent("old", 2);
  store_->AddToOutbox({"new", 1, "hi", std::nullopt, "", 0, ""});
  store_->MarkSent("new", 19);
  store_->AddToOutbox({"waiting", 1, "hi", std::nullopt, "", 0, ""});
  store_->Compact(5, 0);
  EXPECT_FALSE(store_->FindOutbox("old"));
  EXPECT_TRUE(store_->FindOutbox("new"));
  EXPECT_EQ(store_->PendingOutbox().size(), 1u);
}

}  // namespace
}  // namespace natter::client

namespace natter::client {
namespace {

TEST(LocalStoreSchema, AnOutboxOfTheVersionBeforePosterFramesIsKept) {
  std::string dir = testing::MakeTempDir("natter-local-store-v2");
  {
    // What version 2 wrote: outbox files without `thumb_of`, one waiting.
    sqlite::Database db((std::filesystem::path(dir) / "natter-client.db").string(), false);
    ASSERT_TRUE(db.Exec("CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                        "CREATE TABLE outbox (client_msg_id TEXT PRIMARY KEY, conversation_id INTEGER, text TEXT, "
                        "reply_to INTEGER, state TEXT, seq INTEGER NOT NULL DEFAULT 0, "
                        "error TEXT NOT NULL DEFAULT '', created INTEGER);"
                        "CREATE TABLE outbox_files (client_msg_id TEXT, idx INTEGER, path TEXT, mime TEXT, "
                        "filename TEXT, caption TEXT, size INTEGER, media_id INTEGER NOT NULL DEFAULT 0, "
                        "upload_url TEXT NOT NULL DEFAULT '', etags TEXT NOT NULL DEFAULT '', "
                        "ready INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (client_msg_id, idx)) WITHOUT ROWID;"
                        "INSERT INTO outbox VALUES('m1', 5, 'hi', NULL, 'pending', 0, '', 1);"
                        "INSERT INTO outbox_files VALUES('m1', 0, '/tmp/a.bin', 'application/octet-stream', "
                        "'a.bin', '', 10, 77, '/v1/uploads/77', '', 0);"
                        "PRAGMA user_version = 2;")
                    .ok());
  }
  auto store = std::make_unique<LocalStore>(dir);
  auto e = store->FindOutbox("m1");
  ASSERT_TRUE(e);
  ASSERT_EQ(e->files.size(), 1u);
  EXPECT_EQ((std::tuple{e->files[0].media_id, e->files[0].upload_url, e->files[0].thumb_of}),
            (std::tuple{77, std::string("/v1/uploads/77"), -1}));
  store.reset();
  std::filesystem::remove_all(dir);
}

TEST(LocalStoreSchema, AVersion3StoreKeepsItsConversationsAndLearnsWhichAreEncrypted) {
  std::string dir = testing::MakeTempDir("natter-local-store-v3");
  {
    // Version 3: conversations without `encrypted`, one with an entry.
    sqlite::Database db((std::filesystem::path(dir) / "natter-client.db").string(), false);
    ASSERT_TRUE(db.Exec("CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                        "CREATE TABLE conversations (id INTEGER PRIMARY KEY, kind TEXT, title TEXT, "
                        "last_seq INTEGER, large INTEGER, my_role TEXT, last_activity INTEGER);"
                        "INSERT INTO conversations VALUES(5, 'group', 'team', 1, 0, 'owner', 1000);"
                        "PRAGMA user_version = 3;")
                    .ok());
  }
  auto store = std::make_unique<LocalStore>(dir);
  EXPECT_TRUE(store->HasConversation(5));
  EXPECT_FALSE(store->IsEncrypted(5));
  EXPECT_EQ(store->Kind(5), "group");
  store->UpsertConversation({{"id", 6}, {"kind", "direct"}, {"encrypted", true}}, "member");
  EXPECT_TRUE(store->IsEncrypted(6));
  // The flag is never taken away (a conversation cannot stop being encrypted):
  // not by a listing without it, a resync, or a removal.
  store->UpsertConversation({{"id", 6}, {"kind", "direct"}, {"encrypted", false}}, "");
  EXPECT_TRUE(store->IsEncrypted(6));
  store->ClearSyncedState();
  store->RemoveConversation(6);
  store->UpsertConversation({{"id", 6}, {"kind", "direct"}, {"encrypted", false}}, "");
  EXPECT_TRUE(store->IsEncrypted(6));
  EXPECT_TRUE(store->Conversations(1)[0].as_object().at("encrypted").as_bool());
  store.reset();
  std::filesystem::remove_all(dir);
}

// The encrypted set is kept in memory (every entry applied asks): it follows
// what is committed, a batch rolled back, a reopened store and ClearAll.
TEST(LocalStoreSchema, TheEncryptedSetInMemoryFollowsTheFile) {
  std::string dir = testing::MakeTempDir("natter-local-store-encrypted");
  auto store = std::make_unique<LocalStore>(dir);
  EXPECT_FALSE(store->IsEncrypted(7));  // read (empty) and kept
  {
    LocalStore::Batch rolled_back(*store);
    store->UpsertConversation({{"id", 7}, {"kind", "group"}, {"encrypted", true}}, "member");
    EXPECT_TRUE(store->IsEncrypted(7));
  }
  EXPECT_FALSE(store->IsEncrypted(7)) << "a rolled-back mark stayed in memory";
  {
    LocalStore::Batch committed(*store);
    store->UpsertConversation({{"id", 8}, {"kind", "group"}, {"encrypted", true}}, "member");
    committed.Commit();
  }
  EXPECT_TRUE(store->IsEncrypted(8));
  store = std::make_unique<LocalStore>(dir);
  EXPECT_TRUE(store->IsEncrypted(8));
  EXPECT_FALSE(store->IsEncrypted(7));
  store->ClearAll();
  EXPECT_FALSE(store->IsEncrypted(8));
  store.reset();
  std::filesystem::remove_all(dir);
}

TEST(LocalStoreSchema, AVersion2StoreFromBeforeAttachmentsKeepsItsOutbox) {
  std::string dir = testing::MakeTempDir("natter-local-store-v2-old");
  {
    // Version 2 as first released: no outbox_files at all.
    sqlite::Database db((std::filesystem::path(dir) / "natter-client.db").string(), false);
    ASSERT_TRUE(db.Exec("CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                        "CREATE TABLE outbox (client_msg_id TEXT PRIMARY KEY, conversation_id INTEGER, text TEXT, "
                        "reply_to INTEGER, state TEXT, seq INTEGER NOT NULL DEFAULT 0, "
                        "error TEXT NOT NULL DEFAULT '', created INTEGER);"
                        "INSERT INTO outbox VALUES('m2', 5, 'still here', NULL, 'pending', 0, '', 1);"
                        "INSERT INTO kv VALUES('user_id', '42');"
                        "PRAGMA user_version = 2;")
                    .ok());
  }
  auto store = std::make_unique<LocalStore>(dir);
  auto e = store->FindOutbox("m2");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->text, "still here");
  EXPECT_TRUE(e->files.empty());
  EXPECT_EQ(store->Get("user_id").value_or(""), "42");
  store.reset();
  // Opened again (now version 3), it is the same.
  store = std::make_unique<LocalStore>(dir);
  EXPECT_TRUE(store->FindOutbox("m2"));
  store.reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace natter::client
