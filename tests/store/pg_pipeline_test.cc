// pg::Connection's pipeline mode against a real PostgreSQL: answers in the
// order sent, writes whose failure shows only later, and a transaction that
// then commits nothing.
#include "store/postgres/pg_conn.h"
#include "store/postgres/pg_txn.h"
#include "store/store_contract.h"

namespace natter::testing {
namespace {

class PgPipeline : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto urls = PostgresUrls();
    ASSERT_FALSE(urls.empty());
    ResetPostgres(urls[0]);
    conn = std::make_unique<pg::Connection>(urls[0], "test instance");
    ASSERT_TRUE(conn->Exec("CREATE TABLE probe(id bigint PRIMARY KEY, v text NOT NULL)").ok());
  }

  int64_t Count() {
    auto r = conn->Query("SELECT count(*) FROM probe");
    return r.ok() ? r->Int(0, 0) : -1;
  }

  // The plan `session` keeps for `statement`, as EXPLAIN EXECUTE with `args`
  // (SQL literals) shows it there, its lines joined by " / ".
  std::string KeptPlan(pg::Connection& session, const char* statement, const std::string& args) {
    EXPECT_TRUE(conn->Exec("CREATE OR REPLACE FUNCTION kept_plan(statement text, args text) RETURNS SETOF text "
                           "LANGUAGE plpgsql AS $$ BEGIN RETURN QUERY EXECUTE 'EXPLAIN EXECUTE ' || (SELECT name "
                           "FROM pg_prepared_statements WHERE pg_prepared_statements.statement = "
                           "kept_plan.statement) || '(' || args || ')'; END $$")
                    .ok());
    auto plan = session.Query("SELECT string_agg(line, ' / ') FROM kept_plan($1, $2) AS line", {statement, args});
    EXPECT_TRUE(plan.ok()) << plan.error().message;
    return plan.ok() ? plan->Text(0, 0) : std::string();
  }

  std::unique_ptr<pg::Connection> conn;
};

TEST_P(PgPipeline, ReadsSeeTheWritesSentBeforeThem) {
  ASSERT_TRUE(conn->Begin("BEGIN", /*pipelined=*/true).ok());
  ASSERT_TRUE(conn->pipelined());
  ASSERT_TRUE(conn->Defer("INSERT INTO probe VALUES($1, $2)", {1, "a"}).ok());
  auto first = conn->Send("SELECT v FROM probe WHERE id = $1", {1});
  ASSERT_TRUE(conn->Defer("INSERT INTO probe VALUES($1, $2)", {2, "b"}).ok());
  auto second = conn->Send("SELECT count(*) FROM probe", {});
  ASSERT_TRUE(first.ok() && second.ok());
  // Taken out of order: the first answer waits while the second is read.
  auto count = conn->Take(*second);
  auto value = conn->Take(*first);
  ASSERT_TRUE(count.ok() && value.ok());
  EXPECT_EQ(count->Int(0, 0), 2);
  EXPECT_EQ(value->Text(0, 0), "a");
  ASSERT_TRUE(conn->Commit().ok());
  EXPECT_FALSE(conn->pipelined());
  EXPECT_EQ(Count(), 2);
}

TEST_P(PgPipeline, AWriteThatFailsFailsTheReadAfterItAndTheCommit) {
  ASSERT_TRUE(conn->Begin("BEGIN", true).ok());
  ASSERT_TRUE(conn->Defer("INSERT INTO probe VALUES($1, $2)", {1, "a"}).ok());
  // Refused by the server, but nothing waits for its answer yet.
  ASSERT_TRUE(conn->Defer("INSERT INTO probe VALUES($1, $2)", {1, "again"}).ok());
  EXPECT_TRUE(conn->TransactionUsable());
  auto read = conn->Query("SELECT count(*) FROM probe");
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, ErrorCode::kConflict);  // the insert's error, not the skipped read's
  EXPECT_TRUE(conn->pipeline_failed());
  EXPECT_FALSE(conn->TransactionUsable());
  EXPECT_FALSE(conn->Defer("INSERT INTO probe VALUES($1, $2)", {3, "c"}).ok());
  EXPECT_FALSE(conn->Commit().ok());
  EXPECT_EQ(Count(), 0);  // nothing of it committed, and the connection works
}

TEST_P(PgPipeline, ACommitFindsAFailureNothingReadSince) {
  ASSERT_TRUE(conn->Begin("BEGIN", true).ok());
  ASSERT_TRUE(conn->Defer("INSERT INTO probe VALUES($1, $2)", {1, "a"}).ok());
  ASSERT_TRUE(conn->Defer("INSERT INTO probe VALUES($1, $2)", {1, "again"}).ok());
  ASSERT_TRUE(conn->Defer("INSERT INTO probe VALUES($1, $2)", {2, "b"}).ok());
  Status committed = conn->Commit();
  ASSERT_FALSE(committed.ok());
  EXPECT_EQ(conn->last_sqlstate(), "23505");
  EXPECT_TRUE(conn->pipeline_failed());
  EXPECT_EQ(Count(), 0);
  // The next transaction starts clean.
  ASSERT_TRUE(conn->Begin("BEGIN", true).ok());
  EXPECT_FALSE(conn->pipeline_failed());
  ASSERT_TRUE(conn->Defer("INSERT INTO probe VALUES($1, $2)", {2, "b"}).ok());
  ASSERT_TRUE(conn->Commit().ok());
  EXPECT_EQ(Count(), 1);
}

TEST_P(PgPipeline, ALongBatchIsReadAsItGoesAndKeepsEveryWrite) {
  // More writes than the connection leaves unread: it reads their answers
  // on the way, and a failure among the first still fails the batch.
  ASSERT_TRUE(conn->Begin("BEGIN", true).ok());
  for (int i = 0; i < 2500; ++i) ASSERT_TRUE(conn->Defer("INSERT INTO probe VALUES($1, $2)", {i, "v"}).ok());
  auto count = conn->Query("SELECT count(*) FROM probe");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(count->Int(0, 0), 2500);
  ASSERT_TRUE(conn->Commit().ok());

  ASSERT_TRUE(conn->Begin("BEGIN", true).ok());
  ASSERT_TRUE(conn->Defer("INSERT INTO probe VALUES($1, $2)", {0, "taken"}).ok());
  Status later = OkStatus();
  for (int i = 0; i < 2500 && later.ok(); ++i) later = conn->Defer("INSERT INTO probe VALUES($1, $2)", {5000 + i, "v"});
  EXPECT_FALSE(later.ok());  // found while reading on the way
  EXPECT_FALSE(conn->Commit().ok());
  EXPECT_EQ(Count(), 2500);
}

TEST_P(PgPipeline, ATransactionLeftIdleBetweenReadsIsEnded) {
  // A writer that stalls while its batch runs (a paused node) must not keep
  // the batch's row locks: each read ends with a sync, after which the
  // server's idle-in-transaction timeout runs.
  ASSERT_TRUE(conn->Exec("SET idle_in_transaction_session_timeout = '200ms'").ok());
  ASSERT_TRUE(conn->Begin("BEGIN", true).ok());
  ASSERT_TRUE(conn->Defer("INSERT INTO probe VALUES($1, $2)", {1, "a"}).ok());
  ASSERT_TRUE(conn->Query("SELECT count(*) FROM probe").ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  EXPECT_FALSE(conn->Query("SELECT count(*) FROM probe").ok());
  EXPECT_FALSE(conn->Commit().ok());
  pg::Connection other(PostgresUrls()[0], "other");
  auto count = other.Query("SELECT count(*) FROM probe");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(count->Int(0, 0), 0);
}

TEST_P(PgPipeline, AStallAfterLibpqSentALongRunOfWritesIsEndedToo) {
  // libpq sends what it holds once that passes 64 KiB, without a sync; the
  // start of the next operation then adds one, so a writer stalled there
  // cannot hold the transaction open.
  ASSERT_TRUE(conn->Exec("SET idle_in_transaction_session_timeout = '200ms'").ok());
  ASSERT_TRUE(conn->Begin("BEGIN", true).ok());
  std::string body(2000, 'x');
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(conn->Defer("INSERT INTO probe VALUES($1, $2)", {i, body}).ok());
  ASSERT_TRUE(conn->OperationStarts().ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  EXPECT_FALSE(conn->Query("SELECT count(*) FROM probe").ok());
  EXPECT_FALSE(conn->Commit().ok());
  EXPECT_EQ(Count(), 0);
}

TEST_P(PgPipeline, ARollbackUndoesWhatWasSent) {
  ASSERT_TRUE(conn->Begin("BEGIN", true).ok());
  ASSERT_TRUE(conn->Defer("INSERT INTO probe VALUES($1, $2)", {1, "a"}).ok());
  auto pending = conn->Send("SELECT 1", {});
  ASSERT_TRUE(pending.ok());
  conn->Rollback();  // with answers still unread
  EXPECT_FALSE(conn->pipelined());
  EXPECT_EQ(Count(), 0);
}

TEST_P(PgPipeline, OutOfPipelineModeEveryCallRunsAtOnce) {
  ASSERT_TRUE(conn->Begin("BEGIN").ok());
  EXPECT_FALSE(conn->pipelined());
  ASSERT_TRUE(conn->Defer("INSERT INTO probe VALUES($1, $2)", {1, "a"}).ok());
  EXPECT_FALSE(conn->Defer("INSERT INTO probe VALUES($1, $2)", {1, "again"}).ok());  // at once
  conn->Rollback();
  EXPECT_EQ(Count(), 0);
}

// An instance restarted, or an operator ended natter's sessions: the next
// statement on each idle connection must not be the one that finds out.
TEST_P(PgPipeline, ASessionTheServerEndedWhileIdleIsReplacedBeforeTheNextStatement) {
  pg::Connection other(PostgresUrls()[0], "test other");
  auto end_session = [&](pg::Connection& c) {
    auto pid = c.Query("SELECT pg_backend_pid()");
    ASSERT_TRUE(pid.ok());
    // Waits (up to 5 s) until the backend is gone.
    auto ended = other.Query("SELECT pg_terminate_backend($1::int, 5000)", {pid->Int(0, 0)});
    ASSERT_TRUE(ended.ok());
    ASSERT_EQ(ended->Text(0, 0), "t");
  };
  end_session(*conn);
  auto read = conn->Query("SELECT count(*) FROM probe");
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read->Int(0, 0), 0);
  end_session(*conn);
  ASSERT_TRUE(conn->Exec("INSERT INTO probe VALUES(1, 'a')").ok());
  end_session(*conn);
  ASSERT_TRUE(conn->Begin("BEGIN", /*pipelined=*/true).ok());
  ASSERT_TRUE(conn->Defer("INSERT INTO probe VALUES($1, $2)", {2, "b"}).ok());
  ASSERT_TRUE(conn->Commit().ok());
  EXPECT_EQ(Count(), 2);
  // A transaction begun by a plain statement (as the migrations begin
  // theirs) fails with its session rather than go on outside it.
  ASSERT_TRUE(conn->Exec("BEGIN").ok());
  ASSERT_TRUE(conn->Exec("INSERT INTO probe VALUES(3, 'c')").ok());
  end_session(*conn);
  EXPECT_FALSE(conn->Exec("INSERT INTO probe VALUES(4, 'd')").ok());
  EXPECT_EQ(Count(), 2);  // the insert before went with the session
}

TEST_P(PgPipeline, AConnectionAskedToPlanByKeyDoesSoAfterAReconnectToo) {
  auto plan_mode = [](pg::Connection& c) {
    auto r = c.Query("SELECT current_setting('plan_cache_mode') || ' ' || current_setting('enable_seqscan')");
    return r.ok() ? r->Text(0, 0) : r.error().message;
  };
  EXPECT_EQ(plan_mode(*conn), "auto on");  // PostgreSQL's default, for every other connection
  pg::Connection writer(PostgresUrls()[0], "test writer");
  writer.PlanByKey();
  ASSERT_TRUE(writer.EnsureConnected().ok());
  EXPECT_EQ(plan_mode(writer), "force_generic_plan off");
  // The server ends the session; the next connect sets it again.
  EXPECT_FALSE(writer.Query("SELECT pg_terminate_backend(pg_backend_pid())").ok());
  ASSERT_TRUE(writer.broken());
  ASSERT_TRUE(writer.EnsureConnected().ok());
  EXPECT_EQ(plan_mode(writer), "force_generic_plan off");
}

// A writer's plan is made at a statement's first run and kept: one made
// while the table was empty must still find rows by key once it is not.
TEST_P(PgPipeline, APlanByKeyMadeOnAnEmptyTableStillUsesItsIndexOnceTheTableGrew) {
  pg::Connection writer(PostgresUrls()[0], "test writer");
  writer.PlanByKey();
  static constexpr const char* kLookup = "SELECT v FROM probe JOIN unnest($1::bigint[]) AS k(key) ON id = k.key";
  ASSERT_TRUE(writer.Query(kLookup, {"{1,2}"}).ok());  // planned now, on an empty table
  ASSERT_TRUE(conn->Exec("INSERT INTO probe SELECT g, 'x' FROM generate_series(1, 200000) g").ok());
  std::string text = KeptPlan(writer, kLookup, "'{1,2}'");
  EXPECT_EQ(text.find("Seq Scan on probe"), std::string::npos) << text;
  EXPECT_NE(text.find("probe_pkey"), std::string::npos) << text;
}

TEST_P(PgPipeline, LockAheadsMessageLookupsMadeOnAnEmptyTableLookUpEachKey) {
  OpenPostgresStore(PostgresOptions{{PostgresUrls()[0]}}).reset();  // the schema, messages empty
  pg::Connection writer(PostgresUrls()[0], "test writer");
  writer.PlanByKey();
  ASSERT_TRUE(writer.Query(pg::PgTxn::kEarlierSendsSql, {"{1}", "{2}", "{a}"}).ok());  // planned now
  ASSERT_TRUE(writer.Query(pg::PgTxn::kRepliedToSql, {"{1}", "{2}"}).ok());
  ASSERT_TRUE(conn->Exec("INSERT INTO messages(conversation_id, seq, kind, sender_id, client_msg_id, body, "
                         "created_at) SELECT g % 100, g, 'message', 1, 'c' || g, 'x', 0 "
                         "FROM generate_series(1, 200000) g")
                  .ok());
  // Not a hash join over every message that has a client_msg_id (or every message).
  std::string earlier = KeptPlan(writer, pg::PgTxn::kEarlierSendsSql, "'{1,2}', '{1,1}', '{c1,c2}'");
  EXPECT_EQ(earlier.find("Hash"), std::string::npos) << earlier;
  EXPECT_NE(earlier.find("Index Scan using messages_idempotency"), std::string::npos) << earlier;
  std::string replied = KeptPlan(writer, pg::PgTxn::kRepliedToSql, "'{1,2}', '{1,2}'");
  EXPECT_EQ(replied.find("Hash"), std::string::npos) << replied;
  EXPECT_NE(replied.find("messages_pkey"), std::string::npos) << replied;
}

}  // namespace

INSTANTIATE_TEST_SUITE_P(Postgres, PgPipeline, ::testing::ValuesIn(PostgresParams()));
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(PgPipeline);

}  // namespace natter::testing
