// What only a partitioned store must get right: conversations live on the
// instance their id picks, and two nodes (two stores over the same
// instances) writing to one conversation at once keep its sequence dense and
// its sends idempotent.
#include <atomic>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "store/group_commit.h"
#include "store/postgres/pg_conn.h"
#include "store/store_contract.h"

namespace natter::testing {
namespace {

using PostgresPartitions = StoreContractTest;

int64_t CountRows(const std::string& url, const std::string& sql) {
  PGconn* conn = PQconnectdb(url.c_str());
  PGresult* r = PQexec(conn, sql.c_str());
  int64_t n = PQresultStatus(r) == PGRES_TUPLES_OK ? std::atoll(PQgetvalue(r, 0, 0)) : -1;
  PQclear(r);
  PQfinish(conn);
  return n;
}

TEST_P(PostgresPartitions, ConversationsLiveOnTheInstanceTheirIdPicks) {
  ASSERT_EQ(store->Partitions(), 2);
  UserId a = AddUser("a"), b = AddUser("b");
  ConversationId on0 = AddGroup(a, {b}, 0), on1 = AddGroup(a, {b}, 1);
  ASSERT_TRUE(Send(*store, on0, a, "x").ok());
  ASSERT_TRUE(Send(*store, on1, a, "x").ok());
  ASSERT_TRUE(Send(*store, on1, b, "y").ok());
  auto count = [&](int instance, ConversationId c) {
    return CountRows(urls[instance], "SELECT count(*) FROM messages WHERE conversation_id = " + std::to_string(c));
  };
  EXPECT_EQ(count(0, on0), 1);
  EXPECT_EQ(count(1, on0), 0);
  EXPECT_EQ(count(0, on1), 0);
  EXPECT_EQ(count(1, on1), 2);
  // Accounts only on the first instance.
  EXPECT_EQ(CountRows(urls[0], "SELECT count(*) FROM users"), 2);
  EXPECT_EQ(CountRows(urls[1], "SELECT count(*) FROM users"), 0);
  // Each partition keeps its own update log per user: b's pts counts b's
  // changes there (the group's creation, then a's message; b's own send too).
  auto state = ReadSync<UpdateLogState>(*store, 1, [=](ConversationTxn& txn) { return txn.GetUpdateLogState(b); });
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->pts, 3);
  state = ReadSync<UpdateLogState>(*store, 0, [=](ConversationTxn& txn) { return txn.GetUpdateLogState(b); });
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->pts, 2);
}

TEST_P(PostgresPartitions, AWriterWhoseConnectionDiedWhileIdleBeginsOnANewOne) {
  // An instance restarted (here: every session of the store ended by the
  // server) while the writers were idle: their next batches find out at
  // their first read, before anything ran, and start again on a new
  // connection instead of failing.
  UserId a = AddUser("a"), b = AddUser("b");
  ConversationId on0 = AddGroup(a, {b}, 0), on1 = AddGroup(a, {b}, 1);
  ASSERT_TRUE(Send(*store, on0, a, "before0").ok());
  ASSERT_TRUE(Send(*store, on1, a, "before1").ok());
  for (const auto& url : urls) {
    EXPECT_GT(CountRows(url,
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"),
              0);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto sent0 = Send(*store, on0, a, "after0"), sent1 = Send(*store, on1, b, "after1");
  ASSERT_TRUE(sent0.ok()) << sent0.error().message;
  ASSERT_TRUE(sent1.ok()) << sent1.error().message;
  EXPECT_EQ(sent0->message.seq, 2);
  EXPECT_EQ(sent1->message.seq, 2);
  AddUser("c");  // an accounts-only batch too
}

TEST_P(PostgresPartitions, TwoNodesWritingOneConversationKeepSeqDense) {
  auto other = Open();
  UserId a = AddUser("a"), b = AddUser("b");
  ConversationId conv = AddGroup(a, {b}, 1);
  constexpr int kPerNode = 200;
  std::mutex mu;
  std::multiset<Seq> seqs;
  std::atomic<int> failures{0};
  auto run = [&](Store& node, UserId from, const std::string& prefix) {
    std::atomic<int> done{0};
    for (int i = 0; i < kPerNode; ++i) {
      SendAsync(node, conv, from, prefix + std::to_string(i), [&](Result<chat::SendResult> r) {
        if (r.ok()) {
          std::lock_guard lock(mu);
          seqs.insert(r->message.seq);
        } else {
          ++failures;
        }
        ++done;
      });
    }
    WaitForCount(done, kPerNode);
  };
  std::thread t1([&] { run(*store, a, "n1-"); });
  std::thread t2([&] { run(*other, b, "n2-"); });
  t1.join();
  t2.join();
  EXPECT_EQ(failures.load(), 0);
  ASSERT_EQ(seqs.size(), 2u * kPerNode);
  EXPECT_EQ(std::set<Seq>(seqs.begin(), seqs.end()).size(), seqs.size()) << "a seq was given twice";
  EXPECT_EQ(*seqs.begin(), 1);
  EXPECT_EQ(*seqs.rbegin(), 2 * kPerNode);
  EXPECT_EQ(CountRows(urls[1], "SELECT count(*) FROM messages WHERE conversation_id = " + std::to_string(conv)),
            2 * kPerNode);
}

// Another node's batch holds a conversation's row: a writer goes on with its
// other conversations instead of waiting, takes the held one's writes up
// again in order once it is free, and does not spin while it is held.
TEST_P(PostgresPartitions, ABatchPassesOverAConversationAnotherNodeHolds) {
  // Declared before the node, whose writer may still answer into them.
  std::mutex mu;
  std::vector<std::pair<std::string, Seq>> answered;
  std::atomic<int> done{0}, batches{0};
  PostgresOptions options{urls};
  options.writer_threads = 1;  // both conversations' writes meet in one batch
  options.on_commit = [&](size_t, int64_t) { ++batches; };
  auto node = OpenPostgresStore(options);
  UserId a = AddUser("a"), b = AddUser("b");
  ConversationId held = AddGroup(a, {b}, 0), free = AddGroup(a, {b}, 0);

  // Another transaction holds the row, until the end of the test at the latest.
  struct OtherNode {
    explicit OtherNode(const std::string& url) : conn(PQconnectdb(url.c_str())) {}
    ~OtherNode() {
      if (holding) Exec("COMMIT");
      PQfinish(conn);
    }
    bool Exec(const std::string& sql) {
      PGresult* r = PQexec(conn, sql.c_str());
      bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
      PQclear(r);
      return ok;
    }
    PGconn* conn;
    bool holding = false;
  } other(urls[0]);
  ASSERT_TRUE(other.Exec("BEGIN"));
  other.holding = true;
  ASSERT_TRUE(other.Exec("SELECT 1 FROM conversations WHERE id = " + std::to_string(held) + " FOR UPDATE"));

  // The writer waits at a gate until all three sends are queued: one batch.
  std::promise<void> open;
  std::shared_future<void> gate = open.get_future().share();
  node->Write(
      node->For(free), InlineExecutor(),
      [gate](ConversationTxn&) {
        gate.wait_for(std::chrono::seconds(10));
        return OkStatus();
      },
      [](Status, CommitTurn) {});
  auto record = [&](std::string name) {
    return [&, name](Result<chat::SendResult> r) {
      EXPECT_TRUE(r.ok()) << name << ": " << r.error().message;
      std::lock_guard lock(mu);
      answered.emplace_back(name, r.ok() ? r->message.seq : 0);
      ++done;
    };
  };
  SendAsync(*node, held, a, "h1", record("held 1"));
  SendAsync(*node, free, a, "f1", record("free"));
  SendAsync(*node, held, b, "h2", record("held 2"));
  open.set_value();
  ASSERT_TRUE(WaitForCount(done, 1));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(answered.size(), 1u) << "a write to the held conversation was answered while it was held";
    EXPECT_EQ(answered[0], (std::pair<std::string, Seq>{"free", 1}));
  }
  EXPECT_LE(batches.load(), kMaxPassesOver + 2) << "the writer spun while the conversation was held";
  ASSERT_TRUE(other.Exec("COMMIT"));
  other.holding = false;
  ASSERT_TRUE(WaitForCount(done, 3));
  std::lock_guard lock(mu);
  EXPECT_EQ(answered, (std::vector<std::pair<std::string, Seq>>{{"free", 1}, {"held 1", 1}, {"held 2", 2}}));
}

TEST_P(PostgresPartitions, TheRowsEverySendUpdatesAreVacuumedByCountOnEveryInstance) {
  for (const auto& url : urls) {
    for (const char* table : {"conversations", "user_logs", "members"}) {
      EXPECT_EQ(CountRows(url, std::string("SELECT count(*) FROM pg_class WHERE relname = '") + table +
                                   "' AND 'autovacuum_vacuum_threshold=1000' = ANY(reloptions) "
                                   "AND 'autovacuum_vacuum_scale_factor=0' = ANY(reloptions)"),
                1)
          << table << " on " << url;
    }
  }
}

TEST_P(PostgresPartitions, SameClientMsgIdOnTwoNodesIsStoredOnce) {
  auto other = Open();
  UserId a = AddUser("a"), b = AddUser("b");
  ConversationId conv = AddGroup(a, {b}, 1);
  for (int round = 0; round < 20; ++round) {
    std::string id = "retry-" + std::to_string(round);
    Result<chat::SendResult> r1 = Internal("unset"), r2 = Internal("unset");
    std::thread t1([&] { r1 = Send(*store, conv, a, id); });
    std::thread t2([&] { r2 = Send(*other, conv, a, id); });
    t1.join();
    t2.join();
    ASSERT_TRUE(r1.ok()) << r1.error().message;
    ASSERT_TRUE(r2.ok()) << r2.error().message;
    EXPECT_EQ(r1->message.seq, r2->message.seq);
    EXPECT_NE(r1->duplicate, r2->duplicate);
  }
  EXPECT_EQ(CountRows(urls[1], "SELECT count(*) FROM messages WHERE conversation_id = " + std::to_string(conv)), 20);
  EXPECT_EQ(CountRows(urls[1], "SELECT max(seq) FROM messages WHERE conversation_id = " + std::to_string(conv)), 20);
}

TEST_P(PostgresPartitions, ConnectionsKilledMidBatchLoseNoAcknowledgedSend) {
  UserId a = AddUser("a"), b = AddUser("b");
  ConversationId conv = AddGroup(a, {b}, 1);
  constexpr int kSends = 600;
  std::mutex mu;
  std::map<std::string, Seq> acked;
  std::atomic<int> done{0}, failed{0};
  // Waves of sends, each cut while its batches run, until one cut a batch:
  // a quick writer may finish a wave between two cuts.
  int waves = 0;
  for (; waves < 10 && failed.load() == 0; ++waves) {
    for (int i = 0; i < kSends; ++i) {
      std::string id = "k" + std::to_string(waves) + "-" + std::to_string(i);
      SendAsync(*store, conv, a, id, [&, id](Result<chat::SendResult> r) {
        if (r.ok()) {
          std::lock_guard lock(mu);
          acked[id] = r->message.seq;
        } else {
          EXPECT_EQ(r.error().code, ErrorCode::kUnavailable) << r.error().message;
          ++failed;
        }
        ++done;
      });
    }
    for (int round = 0; round < 20 && done.load() < (waves + 1) * kSends; ++round) {
      CountRows(urls[1],
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = 'natter' "
                "AND pid <> pg_backend_pid() AND backend_type = 'client backend'");
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    WaitForCount(done, (waves + 1) * kSends);
    ASSERT_EQ(done.load(), (waves + 1) * kSends);
  }
  EXPECT_GT(failed.load(), 0) << "no batch was cut in " << waves << " waves: the test proved nothing";
  // Every acknowledged send is stored with its seq; the sequence has no gap.
  std::string where = " FROM messages WHERE conversation_id = " + std::to_string(conv);
  int64_t stored = CountRows(urls[1], "SELECT count(*)" + where);
  EXPECT_EQ(CountRows(urls[1], "SELECT coalesce(max(seq), 0)" + where), stored);
  EXPECT_GE(stored, static_cast<int64_t>(acked.size()));
  std::map<std::string, Seq> kept;
  PGconn* reader = PQconnectdb(urls[1].c_str());
  PGresult* rows = PQexec(reader, ("SELECT client_msg_id, seq" + where).c_str());
  for (int i = 0; i < PQntuples(rows); ++i) kept[PQgetvalue(rows, i, 0)] = std::atoll(PQgetvalue(rows, i, 1));
  PQclear(rows);
  PQfinish(reader);
  for (const auto& [id, seq] : acked) EXPECT_EQ(kept.contains(id) ? kept[id] : 0, seq) << id;
  // And the store recovers: a retry of every send answers (the lost ones now
  // stored, the stored ones as duplicates).
  for (int i = 0; i < kSends; i += 50) {
    Result<chat::SendResult> r = Internal("unset");
    for (int attempt = 0; attempt < 20; ++attempt) {
      r = Send(*store, conv, a, "k0-" + std::to_string(i), "hi");
      if (r.ok()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
}

TEST_P(PostgresPartitions, TwoNodesCreatingOneDirectChatGetTheSameOne) {
  auto other = Open();
  for (int round = 0; round < 10; ++round) {
    UserId a = AddUser("a" + std::to_string(round)), b = AddUser("b" + std::to_string(round));
    // Both nodes look for the pair's chat on its partition, find none, and
    // insert: the second hits the unique key, runs again and finds the first.
    int partition = store->PartitionOfPair(a, b);
    auto create = [&](Store& node, UserId from, UserId to) {
      ConversationId id = ids.Next();
      while (node.PartitionOf(id) != partition) id = ids.Next();
      return WriteSync<ConversationId>(
          node, WriteKey(partition), [=, this](ConversationTxn& txn) -> Result<ConversationId> {
            NATTER_TRY(auto view, chat::CreateDirect(txn, chat::Context{from, 0}, id, limits, to));
            return view.conversation.id;
          });
    };
    Result<ConversationId> r1 = Internal("unset"), r2 = Internal("unset");
    std::thread t1([&] { r1 = create(*store, a, b); });
    std::thread t2([&] { r2 = create(*other, b, a); });
    t1.join();
    t2.join();
    ASSERT_TRUE(r1.ok()) << r1.error().message;
    ASSERT_TRUE(r2.ok()) << r2.error().message;
    EXPECT_EQ(*r1, *r2);
  }
}

TEST_P(PostgresPartitions, AStatementPastItsTimeIsUnavailableNotInternal) {
  pg::Connection conn(urls[0], "partition 0");
  ASSERT_TRUE(conn.EnsureConnected().ok());
  ASSERT_TRUE(conn.Exec("SET statement_timeout = '50ms'").ok());
  auto slow = conn.Query("SELECT pg_sleep(2)");
  ASSERT_FALSE(slow.ok());
  EXPECT_EQ(slow.error().code, ErrorCode::kUnavailable) << slow.error().message;
  EXPECT_EQ(slow.error().message, "storage partition 0 timed out");
  EXPECT_TRUE(conn.Query("SELECT 1").ok());  // the connection is still good
}

TEST_P(PostgresPartitions, AChangedInstanceListIsRefusedAtStart) {
  std::vector<std::string> reversed(urls.rbegin(), urls.rend());
  EXPECT_THROW(OpenPostgresStore(PostgresOptions{reversed}), std::runtime_error);
  EXPECT_THROW(OpenPostgresStore(PostgresOptions{{urls[0]}}), std::runtime_error);
  EXPECT_NE(Open(), nullptr);  // the list it was created with still opens
}

TEST_P(PostgresPartitions, APreKeyPublishThatWaitedForAnotherNodesCountsItsKeys) {
  // The count comes after the device's lock: counted in the statement that
  // waited for it, another node's keys added meanwhile would be missed.
  UserId alice = AddUser("alice");
  auto device = WriteAccountsSync<DeviceId>(*store, [=](AccountsTxn& txn) {
    return txn.AddDevice(DeviceKeys{alice, 0, 10, 77, "ik", SignedPreKey{1, "spk", "sig"}, 1000});
  });
  ASSERT_TRUE(device.ok()) << device.error().message;
  pg::Connection other(urls[0], "another node");  // publishing keys 1-3, holding the device
  ASSERT_TRUE(other.Exec("BEGIN").ok());
  ASSERT_TRUE(other
                  .Query("SELECT prekey_high FROM e2ee_devices WHERE user_id = $1 AND device_id = $2 "
                         "FOR NO KEY UPDATE",
                         {alice, *device})
                  .ok());
  ASSERT_TRUE(other
                  .Query("INSERT INTO e2ee_prekeys(user_id, device_id, prekey_id, public_key) "
                         "SELECT $1, $2, g, 'k' FROM generate_series(1, 3) g",
                         {alice, *device})
                  .ok());
  ASSERT_TRUE(
      other.Query("UPDATE e2ee_devices SET prekey_high = 3 WHERE user_id = $1 AND device_id = $2", {alice, *device})
          .ok());
  auto publish = std::async(std::launch::async, [&] {
    return WriteAccountsSync<int64_t>(*store, [&](AccountsTxn& txn) {
      return txn.AddPreKeys(alice, *device, {{4, "k4"}, {5, "k5"}, {6, "k6"}}, 5);
    });
  });
  // Once the publish waits for the device's lock, the other node commits.
  const std::string waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'";
  for (int i = 0; i < 500 && CountRows(urls[0], waiting) < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(CountRows(urls[0], waiting), 1);
  ASSERT_TRUE(other.Exec("COMMIT").ok());
  auto added = publish.get();
  ASSERT_FALSE(added.ok()) << "holds " << *added;  // 3 + 3 > 5
  EXPECT_EQ(added.error().code, ErrorCode::kTooLarge);
  EXPECT_EQ(CountRows(urls[0], "SELECT count(*) FROM e2ee_prekeys"), 3);
}

INSTANTIATE_TEST_SUITE_P(Postgres, PostgresPartitions, ::testing::ValuesIn(PostgresParams()));
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(PostgresPartitions);

}  // namespace
}  // namespace natter::testing
