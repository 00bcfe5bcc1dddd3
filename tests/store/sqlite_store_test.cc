// The SQLite store's threading contract: writes from many threads are
// committed in groups, each op isolated by its savepoint, and `done` only
// after the commit.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "chat/send_message.h"
#include "fakes/temp_db.h"
#include "store/store.h"

namespace natter {
namespace {

class Waiter {
 public:
  void Done() {
    std::lock_guard lock(mu_);
    ++done_;
    cv_.notify_all();
  }
  bool WaitFor(int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(30), [&] { return done_ >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int done_ = 0;
};

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = testing::MakeTempDir("natter-store");
    store = OpenSqliteStore(SqliteOptions{dir + "/natter.db"});
  }
  void TearDown() override {
    store.reset();
    std::filesystem::remove_all(dir);
  }
  std::string dir;
  std::unique_ptr<Store> store;
  ManualClock clock{1'800'000'000'000};
  IdGenerator ids{clock, 2};
};

TEST_F(SqliteStoreTest, ConcurrentSendsGetDenseUniqueSequenceNumbers) {
  UserId a = ids.Next(), b = ids.Next();
  ConversationId conv = 0;
  Waiter setup;
  store->WriteResult<ConversationId>(
      [&](StoreTxn& txn) -> Result<ConversationId> {
        NATTER_RETURN_IF_ERROR(txn.InsertUser(User{a, "a", "h", 0}));
        NATTER_RETURN_IF_ERROR(txn.InsertUser(User{b, "b", "h", 0}));
        NATTER_TRY(auto view, chat::CreateDirect(txn, chat::Context{a, 0}, ids.Next(), chat::ChatLimits{}, b));
        return view.conversation.id;
      },
      [&](Result<ConversationId> r) {
        ASSERT_TRUE(r.ok());
        conv = *r;
        setup.Done();
      });
  ASSERT_TRUE(setup.WaitFor(1));

  constexpr int kThreads = 8, kPerThread = 200;
  std::mutex mu;
  std::set<Seq> seqs;
  std::atomic<int> failures{0};
  Waiter waiter;
  chat::ChatLimits limits;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        chat::SendRequest req{conv, std::to_string(t) + "-" + std::to_string(i), "hello", {}};
        store->WriteResult<chat::SendResult>(
            [=, &limits](StoreTxn& txn) { return chat::SendMessage(txn, chat::Context{t % 2 ? a : b, 0}, limits, req); },
            [&](Result<chat::SendResult> r) {
              if (r.ok()) {
                std::lock_guard lock(mu);
                seqs.insert(r->message.seq);
              } else {
                ++failures;
              }
              waiter.Done();
            });
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(waiter.WaitFor(kThreads * kPerThread));
  EXPECT_EQ(failures.load(), 0);
  ASSERT_EQ(seqs.size(), static_cast<size_t>(kThreads * kPerThread));
  EXPECT_EQ(*seqs.begin(), 1);
  EXPECT_EQ(*seqs.rbegin(), kThreads * kPerThread);
}

TEST_F(SqliteStoreTest, AFailingOpDoesNotUndoItsBatch) {
  // Queue a good write, a failing one and another good one back to back, so
  // the writer very likely commits them in one batch.
  Waiter waiter;
  std::vector<ErrorCode> codes(3);
  std::vector<bool> oks(3);
  for (int i = 0; i < 3; ++i) {
    UserId id = ids.Next();
    store->Write(
        [id, i](StoreTxn& txn) -> Status {
          NATTER_RETURN_IF_ERROR(txn.InsertUser(User{id, "user" + std::to_string(i), "h", 0}));
          if (i == 1) return Conflict("made to fail after writing");
          return OkStatus();
        },
        [&, i](Status st) {
          oks[i] = st.ok();
          if (!st.ok()) codes[i] = st.error().code;
          waiter.Done();
        });
  }
  ASSERT_TRUE(waiter.WaitFor(3));
  EXPECT_TRUE(oks[0]);
  EXPECT_FALSE(oks[1]);
  EXPECT_EQ(codes[1], ErrorCode::kConflict);
  EXPECT_TRUE(oks[2]);
  Waiter read;
  std::vector<bool> found(3);
  store->Read([&](StoreTxn& txn) {
    for (int i = 0; i < 3; ++i) {
      auto u = txn.FindUserByHandle("user" + std::to_string(i));
      found[i] = u.ok() && u->has_value();
    }
    read.Done();
  });
  ASSERT_TRUE(read.WaitFor(1));
  EXPECT_TRUE(found[0]);
  EXPECT_FALSE(found[1]);  // its own savepoint was rolled back
  EXPECT_TRUE(found[2]);
}

TEST_F(SqliteStoreTest, DataSurvivesReopening) {
  Waiter waiter;
  store->Write([&](StoreTxn& txn) { return txn.InsertUser(User{ids.Next(), "kept", "h", 0}); },
               [&](Status st) {
                 EXPECT_TRUE(st.ok());
                 waiter.Done();
               });
  ASSERT_TRUE(waiter.WaitFor(1));
  store.reset();
  store = OpenSqliteStore(SqliteOptions{dir + "/natter.db"});
  Waiter read;
  bool found = false;
  store->Read([&](StoreTxn& txn) {
    auto u = txn.FindUserByHandle("KEPT");  // handles compare case-insensitively
    found = u.ok() && u->has_value();
    read.Done();
  });
  ASSERT_TRUE(read.WaitFor(1));
  EXPECT_TRUE(found);
}

TEST_F(SqliteStoreTest, HandleTakenIsAConflict) {
  Waiter waiter;
  std::vector<Status> results;
  std::mutex mu;
  for (const char* handle : {"dup", "DUP"}) {
    store->Write([&, handle](StoreTxn& txn) { return txn.InsertUser(User{ids.Next(), handle, "h", 0}); },
                 [&](Status st) {
                   std::lock_guard lock(mu);
                   results.push_back(std::move(st));
                   waiter.Done();
                 });
  }
  ASSERT_TRUE(waiter.WaitFor(2));
  int conflicts = 0;
  for (auto& r : results) conflicts += !r.ok() && r.error().code == ErrorCode::kConflict;
  EXPECT_EQ(conflicts, 1);
}

}  // namespace
}  // namespace natter
