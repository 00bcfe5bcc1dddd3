// The embedded store's own failure handling, beyond the Store contract: a
// savepoint that cannot be undone fails its whole batch, and reads past the
// queue's bound are refused at once.
#include <gtest/gtest.h>

#include <future>

#include "fakes/temp_db.h"
#include "store/sqlite/sqlite_txn.h"
#include "store/store.h"

namespace natter::testing {
namespace {

class SqliteStoreTest : public ::testing::Test {
 protected:
  void TearDown() override {
    store.reset();
    std::filesystem::remove_all(dir);
  }
  void Open(SqliteOptions options) {
    options.path = dir + "/natter.db";
    store = OpenSqliteStore(options);
  }
  bool UserExists(const std::string& handle) {
    std::promise<bool> found;
    store->Read([&](StoreTxn& txn) { found.set_value(txn.FindUserByHandle(handle)->has_value()); },
                [&](Error) { found.set_value(false); });
    return found.get_future().get();
  }

  std::string dir = MakeTempDir("natter-sqlite-store");
  std::unique_ptr<Store> store;
  ManualClock clock{1'800'000'000'000};
  IdGenerator ids{clock, 1};
};

// An op fails after writing, and its savepoint is gone, so ROLLBACK TO
// fails: its writes cannot be undone alone. They must not commit with the
// batch; the batch fails and nothing of it is acknowledged.
TEST_F(SqliteStoreTest, AFailedOpThatCannotBeUndoneFailsItsWholeBatch) {
  Open({});
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<Status> first, broken;
  std::promise<void> holding;
  // Hold the writer inside a batch of its own, so that the next two are
  // queued together and form the next batch.
  store->Write(
      [released, &holding](StoreTxn&) -> Status {
        holding.set_value();
        released.wait_for(std::chrono::seconds(10));
        return OkStatus();
      },
      [&](Status st) { first.set_value(st); });
  holding.get_future().wait();
  std::promise<Status> neighbour;
  store->Write(
      [this](StoreTxn& txn) {
        return txn.InsertUser(User{ids.Next(), "neighbour", "h", 0});
      },
      [&](Status st) { neighbour.set_value(st); });
  store->Write(
      [this](StoreTxn& txn) -> Status {
        auto& db = dynamic_cast<sqlite::SqliteTxn&>(txn).database();
        EXPECT_TRUE(db.Exec("RELEASE op").ok());  // nothing left to roll back to
        NATTER_RETURN_IF_ERROR(txn.InsertUser(User{ids.Next(), "half-written", "h", 0}));
        return Conflict("fails after writing");
      },
      [&](Status st) { broken.set_value(st); });
  release.set_value();
  EXPECT_TRUE(first.get_future().get().ok());  // its batch was done before theirs
  EXPECT_FALSE(broken.get_future().get().ok());
  Status n = neighbour.get_future().get();
  ASSERT_FALSE(n.ok()) << "acknowledged, but its batch could not commit cleanly";
  EXPECT_EQ(n.error().code, ErrorCode::kUnavailable);
  EXPECT_FALSE(UserExists("half-written")) << "a failed op's writes were committed";
  EXPECT_FALSE(UserExists("neighbour"));
  // The writer goes on with the next batch.
  std::promise<Status> after;
  store->Write(
      [this](StoreTxn& txn) {
        return txn.InsertUser(User{ids.Next(), "after", "h", 0});
      },
      [&](Status st) { after.set_value(st); });
  EXPECT_TRUE(after.get_future().get().ok());
  EXPECT_TRUE(UserExists("after"));
}

// Reads wait in a bounded queue: a read that finds it full is answered
// `unavailable` at once, on the caller's thread, and never runs.
TEST_F(SqliteStoreTest, ReadsPastTheQueueBoundAreRefused) {
  SqliteOptions options;
  options.reader_threads = 1;
  options.max_queued_reads = 2;
  Open(options);
  std::promise<void> release, reading;
  std::shared_future<void> released = release.get_future().share();
  store->Read(
      [&, released](StoreTxn&) {
        reading.set_value();
        released.wait_for(std::chrono::seconds(10));
      },
      [](Error) { ADD_FAILURE() << "the first read was refused"; });
  reading.get_future().wait();  // the only reader is busy
  std::atomic<int> ran{0}, refused{0};
  std::optional<Error> refusal;
  for (int i = 0; i < 5; ++i) {
    store->Read([&](StoreTxn&) { ++ran; },
                [&](Error e) {
                  ++refused;
                  refusal = e;
                });
  }
  EXPECT_EQ(refused.load(), 3);
  ASSERT_TRUE(refusal);
  EXPECT_EQ(refusal->code, ErrorCode::kUnavailable);
  release.set_value();
  for (int i = 0; i < 200 && ran.load() < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(ran.load(), 2);
}

// A read or a completion that throws (a bug) is answered `internal` and
// logged; the store's threads live on and serve what comes next.
TEST_F(SqliteStoreTest, AThrowingReadOrCallbackLeavesTheThreadsServing) {
  SqliteOptions options;
  options.reader_threads = 1;
  Open(options);
  std::promise<Result<int>> answered;
  store->ReadResult<int>([](StoreTxn&) -> Result<int> { throw std::runtime_error("bug in a read"); },
                         [&](Result<int> r) { answered.set_value(std::move(r)); });
  Result<int> r = answered.get_future().get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInternal);

  std::promise<void> thrown;
  store->Write([](StoreTxn&) { return OkStatus(); },
               [&](Status) {
                 thrown.set_value();
                 throw std::runtime_error("bug in a completion");
               });
  thrown.get_future().wait();
  std::promise<Status> after;
  store->Write(
      [this](StoreTxn& txn) {
        return txn.InsertUser(User{ids.Next(), "survivor", "h", 0});
      },
      [&](Status st) { after.set_value(st); });
  EXPECT_TRUE(after.get_future().get().ok());
  EXPECT_TRUE(UserExists("survivor"));  // the one reader still serves
}

}  // namespace
}  // namespace natter::testing
