// A pipelined batch's kept-back writes (pg_kept_writes.h) against a real
// PostgreSQL: each goes out before the next statement and before COMMIT, a
// rollback forgets them, and a message's text survives its array literal.
#include "store/postgres/pg_kept_writes.h"

#include "store/postgres/pg_migrations.h"
#include "store/postgres/pg_txn.h"
#include "store/store_contract.h"

namespace natter::testing {
namespace {

class PgKeptWrites : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto urls = PostgresUrls();
    ASSERT_FALSE(urls.empty());
    ResetPostgres(urls[0]);
    conn = std::make_unique<pg::Connection>(urls[0], "test instance");
    pg::Migrate(*conn);
    ASSERT_TRUE(conn->Exec("INSERT INTO conversations(id, kind, created_by, created_at, last_activity) "
                           "VALUES (7, 'group', 1, 0, 0); "
                           "INSERT INTO members(conversation_id, user_id, role, joined_at) "
                           "VALUES (7, 1, 'member', 0), (7, 2, 'member', 0)")
                    .ok());
    conn->OnKeptBack([this] { return kept.SendTo(*conn); }, [this] { kept.Clear(); });
  }
  void TearDown() override {
    if (conn) conn->OnKeptBack(nullptr, nullptr);
  }

  // A send's writes, as PgTxn keeps them.
  void KeepSend(Seq seq, std::string text, std::string client_msg_id) {
    Message m;
    m.conversation_id = 7;
    m.seq = seq;
    m.sender_id = 1;
    m.client_msg_id = std::move(client_msg_id);
    m.text = std::move(text);
    m.created_at = 1000 + seq;
    kept.ConversationSeq(7, seq, 1000 + seq);
    kept.Message(m);
    kept.LogEntry(1, seq, 7, seq);
    kept.LogEntry(2, seq, 7, seq);
    kept.Watermarks(7, 1, seq);
    conn->KeptBack();
  }

  int64_t Number(const char* sql) {
    auto r = conn->Query(sql);
    return r.ok() && r->size() == 1 ? r->Int(0, 0) : -1;
  }

  std::unique_ptr<pg::Connection> conn;
  pg::KeptWrites kept;
};

TEST_P(PgKeptWrites, TheNextStatementSeesEveryKeptWrite) {
  ASSERT_TRUE(conn->Exec("UPDATE members SET read_seq = 5 WHERE user_id = 1").ok());
  ASSERT_TRUE(conn->Begin("BEGIN", /*pipelined=*/true).ok());
  KeepSend(1, "one", "a");
  KeepSend(2, "two", "b");
  EXPECT_EQ(kept.count(), 10u);
  // Nothing went out yet: a read that follows sends them first.
  EXPECT_EQ(Number("SELECT count(*) FROM messages WHERE conversation_id = 7"), 2);
  EXPECT_EQ(Number("SELECT last_seq FROM conversations WHERE id = 7"), 2);
  EXPECT_EQ(Number("SELECT pts FROM user_logs WHERE user_id = 2"), 2);  // each head once, at its last entry
  EXPECT_EQ(Number("SELECT count(*) FROM user_updates"), 4);
  // A watermark only rises: read_seq was 5 already.
  EXPECT_EQ(Number("SELECT read_seq * 10 + delivered_seq FROM members WHERE conversation_id = 7 AND user_id = 1"), 52);
  EXPECT_EQ(Number("SELECT read_seq FROM members WHERE conversation_id = 7 AND user_id = 2"), 0);
  ASSERT_TRUE(conn->Commit().ok());
  EXPECT_EQ(Number("SELECT count(*) FROM messages"), 2);
}

// Each way a statement goes out sends what was kept first, so it sees it.
TEST_P(PgKeptWrites, EveryKindOfStatementGoesOutAfterThem) {
  ASSERT_TRUE(conn->Begin("BEGIN", true).ok());
  KeepSend(1, "one", "a");
  ASSERT_TRUE(conn->Defer("UPDATE messages SET body = 'deferred' WHERE conversation_id = 7 AND seq = 1").ok());
  KeepSend(2, "two", "b");
  auto sent = conn->Send("SELECT count(*) FROM messages", {});
  ASSERT_TRUE(sent.ok());
  KeepSend(3, "three", "c");
  ASSERT_TRUE(conn->Exec("UPDATE messages SET body = 'executed' WHERE conversation_id = 7 AND seq = 3").ok());
  KeepSend(4, "four", "a");  // the idempotency key of seq 1 again: refused
  EXPECT_FALSE(conn->ReadSent().ok());
  auto count = conn->Take(*sent);
  conn->Rollback();

  ASSERT_TRUE(conn->Begin("BEGIN", true).ok());
  KeepSend(1, "one", "a");
  ASSERT_TRUE(conn->Defer("UPDATE messages SET body = 'deferred' WHERE conversation_id = 7 AND seq = 1").ok());
  KeepSend(2, "two", "b");
  sent = conn->Send("SELECT count(*) FROM messages", {});
  ASSERT_TRUE(sent.ok());
  KeepSend(3, "three", "c");
  ASSERT_TRUE(conn->Exec("UPDATE messages SET body = 'executed' WHERE conversation_id = 7 AND seq = 3").ok());
  count = conn->Take(*sent);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(count->Int(0, 0), 2);
  ASSERT_TRUE(conn->ReadSent().ok());
  ASSERT_TRUE(conn->Commit().ok());
  auto bodies = conn->Query("SELECT string_agg(body, ',' ORDER BY seq) FROM messages");
  ASSERT_TRUE(bodies.ok());
  EXPECT_EQ(bodies->Text(0, 0), "deferred,two,executed");
}

// An operation that kept writes has answered ok: if they cannot all go out,
// nothing of the transaction may commit.
TEST_P(PgKeptWrites, WritesThatFailToGoOutFailTheTransaction) {
  ASSERT_TRUE(conn->Begin("BEGIN", true).ok());
  ASSERT_TRUE(conn->Defer("UPDATE conversations SET title = 'changed' WHERE id = 7").ok());
  KeepSend(1, "one", "a");
  conn->OnKeptBack([] { return Status(Internal("out of memory")); }, [this] { kept.Clear(); });
  EXPECT_FALSE(conn->Query("SELECT 1").ok());
  EXPECT_FALSE(conn->TransactionUsable());
  EXPECT_FALSE(conn->Commit().ok());
  conn->OnKeptBack([this] { return kept.SendTo(*conn); }, [this] { kept.Clear(); });
  auto title = conn->Query("SELECT title FROM conversations WHERE id = 7");
  ASSERT_TRUE(title.ok());
  EXPECT_EQ(title->Text(0, 0), "");
}

// The writer's transaction keeps a send's writes only in a pipelined batch
// that asked for it (not in one run again strictly or with savepoints).
TEST_P(PgKeptWrites, AWriterKeepsWritesBackOnlyWhenAskedAndPipelined) {
  pg::PgTxn txn(*conn, nullptr);
  Message m;
  m.conversation_id = 7;
  m.sender_id = 1;
  m.text = "kept";
  for (bool keep : {true, false}) {
    txn.KeepWritesBack(keep);
    ASSERT_TRUE(conn->Begin("BEGIN", /*pipelined=*/true).ok());
    uint64_t sent = conn->writes_sent(), kept_before = txn.writes_kept_back();
    m.seq = keep ? 1 : 2;
    ASSERT_TRUE(txn.InsertMessage(m).ok());
    ASSERT_TRUE(txn.UpdateWatermarks(7, 1, m.seq).ok());
    EXPECT_EQ(conn->writes_sent() - sent, keep ? 0u : 2u);
    EXPECT_EQ(txn.writes_kept_back() - kept_before, 2u);  // counted either way
    ASSERT_TRUE(conn->Commit().ok());
  }
  EXPECT_EQ(Number("SELECT count(*) FROM messages"), 2);
  EXPECT_EQ(Number("SELECT read_seq FROM members WHERE conversation_id = 7 AND user_id = 1"), 2);
}

TEST_P(PgKeptWrites, TheCommitSendsWhatNoStatementFollowed) {
  ASSERT_TRUE(conn->Begin("BEGIN", true).ok());
  KeepSend(1, "one", "a");
  ASSERT_TRUE(conn->Commit().ok());
  EXPECT_EQ(Number("SELECT count(*) FROM messages"), 1);
  EXPECT_EQ(Number("SELECT last_seq FROM conversations WHERE id = 7"), 1);
  EXPECT_TRUE(kept.empty());
}

TEST_P(PgKeptWrites, ARollbackForgetsThem) {
  ASSERT_TRUE(conn->Begin("BEGIN", true).ok());
  KeepSend(1, "one", "a");
  conn->Rollback();  // the next statement, out of the transaction, must not send them
  EXPECT_TRUE(kept.empty());
  EXPECT_EQ(Number("SELECT count(*) FROM messages"), 0);
  EXPECT_EQ(Number("SELECT last_seq FROM conversations WHERE id = 7"), 0);
}

TEST_P(PgKeptWrites, AKeptWriteThatFailsFailsTheCommit) {
  ASSERT_TRUE(conn->Begin("BEGIN", true).ok());
  KeepSend(1, "one", "a");
  KeepSend(1, "the same seq again", "b");  // the message's key is taken
  EXPECT_FALSE(conn->Commit().ok());
  EXPECT_EQ(Number("SELECT count(*) FROM messages"), 0);
  EXPECT_EQ(Number("SELECT count(*) FROM user_updates"), 0);
}

TEST_P(PgKeptWrites, AMessageKeepsEveryCharacterOfItsTextAndANullClientId) {
  const std::vector<std::string> texts = {"quote \" and backslash \\ and \\\" both",
                                          "{braces}, commas, and (parens)",
                                          "NULL",
                                          "",
                                          " spaced ",
                                          "line\nbreak\ttab",
                                          "caf\xc3\xa9 \xf0\x9f\x98\x80"};
  ASSERT_TRUE(conn->Begin("BEGIN", true).ok());
  for (size_t i = 0; i < texts.size(); ++i)
    KeepSend(static_cast<Seq>(i + 1), texts[i], i == 2 ? "" : "id" + std::to_string(i));
  ASSERT_TRUE(conn->Commit().ok());
  auto r = conn->Query("SELECT body, client_msg_id IS NULL FROM messages ORDER BY seq");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), static_cast<int>(texts.size()));
  for (size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ(r->Text(static_cast<int>(i), 0), texts[i]);
    EXPECT_EQ(r->Bool(static_cast<int>(i), 1), i == 2);  // no client id: NULL, not the text "NULL"
  }
}

// A batch of sends queues one push job per conversation, as the upserts one
// by one would have left it, and a reply clears its sender's alert with one
// statement that also queues the clear job. Of several read marks of one
// member in the batch, the highest gives the clear job its seq (one by one,
// the first that covered the alert would have: the member read up to the
// highest all the same).
TEST_P(PgKeptWrites, PushJobsMergePerConversationAndAClearTakesOnlyAnAlertItCovers) {
  ASSERT_TRUE(conn->Exec("INSERT INTO push_queue(conversation_id, user_id, first_seq, last_seq, due_at, attempts) "
                         "VALUES (8, 0, 1, 1, 500, 3), (9, 2, 1, 1, 50, 2); "
                         "INSERT INTO push_shown(conversation_id, user_id, seq) "
                         "VALUES (7, 2, 4), (8, 2, 9), (9, 2, 3), (10, 2, 2)")
                  .ok());
  ASSERT_TRUE(conn->Begin("BEGIN", true).ok());
  kept.PushJob(7, 3, 3, 900);
  kept.PushJob(7, 4, 4, 800);
  kept.PushJob(8, 2, 2, 400);     // sooner than the queued job: its attempts start over
  kept.ClearShown(7, 2, 3, 700);  // below the alert at 4: kept
  kept.ClearShown(7, 2, 5, 710);  // covers it: taken, clear job up to 5
  kept.ClearShown(8, 2, 6, 720);  // below the alert at 9
  kept.ClearShown(7, 1, 5, 730);  // no alert at all
  kept.ClearShown(9, 2, 4, 760);  // replaces the clear job queued before
  kept.ClearShown(10, 2, 3, 740);
  kept.ClearShown(10, 2, 5, 750);  // both cover the alert at 2
  conn->KeptBack();
  EXPECT_EQ(kept.count(), 10u);
  ASSERT_TRUE(conn->Commit().ok());
  auto jobs = conn->Query(
      "SELECT conversation_id, user_id, first_seq, last_seq, due_at, attempts FROM push_queue "
      "ORDER BY conversation_id, user_id");
  ASSERT_TRUE(jobs.ok());
  std::vector<std::vector<int64_t>> got;
  for (int i = 0; i < jobs->size(); ++i) {
    got.push_back({});
    for (int col = 0; col < 6; ++col) got.back().push_back(jobs->Int(i, col));
  }
  EXPECT_EQ(got, (std::vector<std::vector<int64_t>>{{7, 0, 3, 4, 800, 0},
                                                    {7, 2, 5, 5, 710, 0},
                                                    {8, 0, 1, 2, 400, 0},
                                                    {9, 2, 4, 4, 760, 0},
                                                    {10, 2, 5, 5, 750, 0}}));
  EXPECT_EQ(Number("SELECT count(*) FROM push_shown WHERE conversation_id IN (7, 9, 10)"), 0);
  EXPECT_EQ(Number("SELECT seq FROM push_shown WHERE conversation_id = 8"), 9);
}

// Webhook jobs go out in the order queued, each event once, and an event
// queued before is left as it was (a retry's attempts are not reset).
TEST_P(PgKeptWrites, WebhookJobsKeepTheirOrderAndEachEventIsQueuedOnce) {
  ASSERT_TRUE(conn->Exec("INSERT INTO webhook_queue(event_id, type, conversation_id, seq, subject, created_at, "
                         "due_at, attempts) VALUES ('e-old', 'message.created', 7, 1, 0, 10, 20, 4)")
                  .ok());
  auto job = [](std::string id, Seq seq) {
    WebhookJob j;
    j.event_id = std::move(id);
    j.type = "message.created";
    j.conversation_id = 7;
    j.seq = seq;
    j.created_at = 100 + seq;
    j.due_at = 200 + seq;
    return j;
  };
  ASSERT_TRUE(conn->Begin("BEGIN", true).ok());
  kept.Webhook(job("e-3", 3));
  kept.Webhook(job("e-old", 1));
  kept.Webhook(job("e-2 'quoted' {x}", 2));
  kept.Webhook(job("e-3", 3));
  conn->KeptBack();
  ASSERT_TRUE(conn->Commit().ok());
  auto r = conn->Query("SELECT event_id, seq, created_at, due_at, attempts FROM webhook_queue ORDER BY id");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 3);
  EXPECT_EQ(r->Text(0, 0), "e-old");
  EXPECT_EQ(r->Int(0, 4), 4);
  EXPECT_EQ(r->Text(1, 0), "e-3");
  EXPECT_EQ(r->Int(1, 1) * 10000 + r->Int(1, 2) * 10 + r->Int(1, 4), 3 * 10000 + 103 * 10 + 0);
  EXPECT_EQ(r->Int(1, 3), 203);
  EXPECT_EQ(r->Text(2, 0), "e-2 'quoted' {x}");
  EXPECT_EQ(r->Int(2, 1), 2);
}

}  // namespace

INSTANTIATE_TEST_SUITE_P(Postgres, PgKeptWrites, ::testing::ValuesIn(PostgresParams()));
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(PgKeptWrites);

}  // namespace natter::testing
