// The fixture of the Store contract suite: one store of the kind named by the
// test parameter ("sqlite", or "postgres" over NATTER_TEST_POSTGRES), empty
// at the start of every test, and synchronous helpers over its callbacks.
#pragma once

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "chat/conversations.h"
#include "chat/send_message.h"
#include "fakes/chat_limits.h"
#include "fakes/temp_db.h"
#include "store/store.h"
#include "store/store_waits.h"

namespace natter::testing {

// The PostgreSQL instances of NATTER_TEST_POSTGRES (libpq URLs, comma separated).
inline std::vector<std::string> PostgresUrls() {
  const char* env = std::getenv("NATTER_TEST_POSTGRES");
  std::vector<std::string> urls;
  if (!env) return urls;
  std::string s = env;
  for (size_t start = 0; start < s.size();) {
    size_t comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    if (comma > start) urls.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return urls;
}

// The "postgres" parameter when instances are configured, none otherwise
// (ctest runs the PostgreSQL suite apart, with instances, and fails it if it
// finds no test).
inline std::vector<std::string> PostgresParams() {
  return PostgresUrls().empty() ? std::vector<std::string>{} : std::vector<std::string>{"postgres"};
}

// Every table gone, so a test starts from an empty, freshly migrated store.
inline void ResetPostgres(const std::string& url) {
  PGconn* conn = PQconnectdb(url.c_str());
  ASSERT_EQ(PQstatus(conn), CONNECTION_OK) << PQerrorMessage(conn);
  PGresult* r = PQexec(conn, "SET client_min_messages = warning; DROP SCHEMA public CASCADE; CREATE SCHEMA public");
  EXPECT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << PQerrorMessage(conn);
  PQclear(r);
  PQfinish(conn);
}

class StoreContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      dir = MakeTempDir("natter-store");
    } else {
      urls = PostgresUrls();
      ASSERT_FALSE(urls.empty());
      for (const auto& url : urls) ResetPostgres(url);
    }
    store = Open();
  }
  void TearDown() override {
    store.reset();
    if (!dir.empty()) std::filesystem::remove_all(dir);
  }

  // Another store over the same data: a second node of a cluster.
  std::unique_ptr<Store> Open() {
    if (GetParam() == "sqlite") return OpenSqliteStore(SqliteOptions{dir + "/natter.db"});
    return OpenPostgresStore(PostgresOptions{urls});
  }

  UserId AddUser(const std::string& handle) {
    UserId id = ids.Next();
    auto r = WriteAccountsSync<bool>(*store, [=](AccountsTxn& txn) -> Result<bool> {
      NATTER_RETURN_IF_ERROR(txn.InsertUser(User{id, handle, "hash", 0}));
      return true;
    });
    EXPECT_TRUE(r.ok()) << r.error().message;
    return id;
  }

  // A new conversation id that places it on `partition`.
  ConversationId NewConversationId(int partition) {
    ConversationId id = ids.Next();
    while (store->PartitionOf(id) != partition) id = ids.Next();
    return id;
  }

  ConversationId AddGroup(UserId owner, std::vector<UserId> members, int partition = 0) {
    ConversationId id = NewConversationId(partition);
    auto r = WriteSync<ConversationId>(*store, partition, [=, this](ConversationTxn& txn) -> Result<ConversationId> {
      NATTER_TRY(auto view, chat::CreateGroup(txn, chat::Context{owner, 1000}, id, limits,
                                              chat::CreateGroupRequest{ConversationKind::kGroup, "g", members}));
      return view.conversation.id;
    });
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : 0;
  }

  Result<chat::SendResult> Send(Store& s, ConversationId conv, UserId from, const std::string& client_id,
                                const std::string& text = "hello") {
    chat::SendRequest req{conv, client_id, text, {}};
    return WriteSync<chat::SendResult>(s, s.ForSend(conv, from, client_id), [=, this](ConversationTxn& txn) {
      return chat::SendMessage(txn, chat::Context{from, 2000}, limits, req);
    });
  }

  // Queues a send without waiting; `done` gets its result on a store thread.
  void SendAsync(Store& s, ConversationId conv, UserId from, const std::string& client_id,
                 std::function<void(Result<chat::SendResult>)> done) {
    chat::SendRequest req{conv, client_id, "hi", {}};
    s.WriteResult<chat::SendResult>(
        s.ForSend(conv, from, client_id), InlineExecutor(),
        [=, this](ConversationTxn& txn) {
          return chat::SendMessage(txn, chat::Context{from, 0}, limits, req);
        },
        [done = std::move(done)](Result<chat::SendResult> r, CommitTurn) { done(std::move(r)); });
  }

  // Waits (at most 30 s) until `count` reaches `n`.
  static bool WaitForCount(const std::atomic<int>& count, int n) {
    for (int i = 0; i < 3000 && count.load() < n; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return count.load() >= n;
  }

  std::string dir;
  std::vector<std::string> urls;
  std::unique_ptr<Store> store;
  ManualClock clock{1'800'000'000'000};
  IdGenerator ids{clock, 2};
  chat::ChatLimits limits = EveryoneMayAdd();
};

// Holds the accounts writer inside an operation until Release() (or 10 s), so
// the writes queued meanwhile commit together as its next batch.
class HeldWriter {
 public:
  // Holds the accounts' writer, or the one of `key`'s conversation.
  explicit HeldWriter(Store& store, std::optional<WriteKey> key = std::nullopt) {
    auto hold = [released = released_] {
      released.wait_for(std::chrono::seconds(10));
      return OkStatus();
    };
    if (key) {
      store.Write(
          *key, InlineExecutor(), [hold](ConversationTxn&) { return hold(); },
          [held = held_](Status st, CommitTurn) { held->set_value(std::move(st)); });
      return;
    }
    store.WriteAccounts(
        InlineExecutor(), [hold](AccountsTxn&) { return hold(); },
        [held = held_](Status st) { held->set_value(std::move(st)); });
  }
  // Lets it go; whether its own operation committed.
  bool Release() {
    release_.set_value();
    return done_.get().ok();
  }

 private:
  std::promise<void> release_;
  std::shared_future<void> released_ = release_.get_future().share();
  std::shared_ptr<std::promise<Status>> held_ = std::make_shared<std::promise<Status>>();
  std::future<Status> done_ = held_->get_future();
};

// The result of a send queued with SendAsync.
inline std::future<Result<chat::SendResult>> Queued(
    std::function<void(std::function<void(Result<chat::SendResult>)>)> send) {
  auto p = std::make_shared<std::promise<Result<chat::SendResult>>>();
  send([p](Result<chat::SendResult> r) { p->set_value(std::move(r)); });
  return p->get_future();
}

// Queues `op` on the writer of `conv`; the future gets its status once its
// batch has ended.
inline std::future<Status> QueueOp(Store& store, ConversationId conv, std::function<Status(ConversationTxn&)> op) {
  auto p = std::make_shared<std::promise<Status>>();
  auto status = p->get_future();
  store.Write(store.For(conv), InlineExecutor(), std::move(op),
              [p](Status st, CommitTurn) { p->set_value(std::move(st)); });
  return status;
}

}  // namespace natter::testing
