// The embedded store's own behaviour, beyond the Store contract: answers come
// back on the caller's executor and publish in commit order; a savepoint that
// cannot be undone fails its whole batch, and the pts its operations took are
// taken again; reads past the queue's bound are refused at once.
#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <future>
#include <thread>

#include "common/mutex.h"
#include "fakes/held_sync.h"
#include "fakes/temp_db.h"
#include "store/sqlite/sqlite_txn.h"
#include "store/store.h"

namespace natter::testing {
namespace {

// Tasks wait until the test runs them, on its own thread (a busy worker).
class ManualExecutor final : public Executor {
 public:
  void Post(std::function<void()> task) override {
    MutexLock lock(mu_);
    tasks_.push_back(std::move(task));
    cv_.notify_all();
  }
  // Waits (at most 10 s) until `n` tasks are queued.
  bool WaitForTasks(size_t n) {
    MutexLock lock(mu_);
    return lock.WaitFor(cv_, std::chrono::seconds(10), [&]() REQUIRES(mu_) { return tasks_.size() >= n; });
  }
  void RunAll() {
    std::deque<std::function<void()>> tasks;
    {
      MutexLock lock(mu_);
      tasks.swap(tasks_);
    }
    for (auto& task : tasks) task();
  }

 private:
  Mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_ GUARDED_BY(mu_);
};

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
  // Holds the writer inside a batch of its own until `released`, so that
  // what is queued meanwhile forms the next batch; returns once it holds.
  std::future<Status> HoldWriter(std::shared_future<void> released) {
    auto answer = std::make_shared<std::promise<Status>>();
    auto held = answer->get_future();
    std::promise<void> holding;
    store->WriteAccounts(
        InlineExecutor(),
        [released, &holding](AccountsTxn&) -> Status {
          holding.set_value();
          released.wait_for(std::chrono::seconds(10));
          return OkStatus();
        },
        [answer](Status st) { answer->set_value(st); });
    holding.get_future().wait();
    return held;
  }
  // Queues an op that fails after writing, once its savepoint is gone: its
  // writes cannot be undone alone, so its whole batch fails.
  std::future<Status> QueueUnundoableFailure() {
    auto answer = std::make_shared<std::promise<Status>>();
    auto failed = answer->get_future();
    store->WriteAccounts(
        InlineExecutor(),
        [this](AccountsTxn& txn) -> Status {
          auto& db = dynamic_cast<sqlite::SqliteTxn&>(txn).database();
          EXPECT_TRUE(db.Exec("RELEASE op").ok());  // nothing left to roll back to
          NATTER_RETURN_IF_ERROR(txn.InsertUser(User{ids.Next(), "half-written", "h", 0}));
          return Conflict("fails after writing");
        },
        [answer](Status st) { answer->set_value(st); });
    return failed;
  }
  // Appends an entry to `user`'s update log; `pts` gets its number.
  std::future<Status> QueueAppend(UserId user, int64_t& pts) {
    auto answer = std::make_shared<std::promise<Status>>();
    auto appended = answer->get_future();
    store->Write(
        WriteKey(), InlineExecutor(),
        [user, &pts](ConversationTxn& txn) -> Status {
          NATTER_TRY(pts, txn.AppendUserUpdate(user, 1, 1));
          return OkStatus();
        },
        [answer](Status st, CommitTurn) { answer->set_value(st); });
    return appended;
  }
  // Queues the insert of user `handle`; its answer, whenever it comes (the
  // promise is shared with the callback, which may run after the test body).
  std::future<Status> QueueInsertUser(const std::string& handle) {
    auto answer = std::make_shared<std::promise<Status>>();
    auto answered = answer->get_future();
    store->WriteAccounts(
        InlineExecutor(),
        [this, handle](AccountsTxn& txn) {
          return txn.InsertUser(User{ids.Next(), handle, "h", 0});
        },
        [answer](Status st) { answer->set_value(st); });
    return answered;
  }
  bool UserExists(const std::string& handle) {
    std::promise<bool> found;
    store->ReadAccountsResult<bool>(
        InlineExecutor(), [&](AccountsTxn& txn) { return Result<bool>(txn.FindUserByHandle(handle)->has_value()); },
        [&](Result<bool> r) { found.set_value(r.ok() && *r); });
    return found.get_future().get();
  }

  std::string dir = MakeTempDir("natter-sqlite-store");
  std::unique_ptr<Store> store;
  ManualClock clock{1'800'000'000'000};
  IdGenerator ids{clock, 1};
};

// A write's answer runs on the executor its caller gave, not on the writer
// thread; what it publishes through its commit turn goes out in commit order
// even when a later commit's answer runs first (its worker was free).
TEST_F(SqliteStoreTest, AnswersRunOnTheCallersExecutorAndPublishInCommitOrder) {
  Open({});
  ManualExecutor busy_worker, free_worker;
  std::atomic<int> answered{0};
  std::vector<std::thread::id> answered_on;
  std::vector<int> published;
  auto write = [&](ManualExecutor& ex, int n) {
    store->Write(
        WriteKey(), ex, [](ConversationTxn&) { return OkStatus(); },
        [&, n](Status st, CommitTurn turn) {
          EXPECT_TRUE(st.ok());
          ++answered;
          answered_on.push_back(std::this_thread::get_id());
          turn.Then([&published, n] { published.push_back(n); });
        });
  };
  write(busy_worker, 1);
  write(free_worker, 2);
  ASSERT_TRUE(busy_worker.WaitForTasks(1));
  ASSERT_TRUE(free_worker.WaitForTasks(1));
  EXPECT_EQ(answered.load(), 0) << "an answer ran on the store's thread";
  free_worker.RunAll();  // the later commit is answered first...
  EXPECT_EQ(answered.load(), 1);
  EXPECT_TRUE(published.empty()) << "published before the commit before it";
  busy_worker.RunAll();  // ...and publishes once the earlier one has
  EXPECT_EQ(published, (std::vector<int>{1, 2}));
  ASSERT_EQ(answered_on.size(), 2u);
  EXPECT_EQ(answered_on[0], std::this_thread::get_id());
  EXPECT_EQ(answered_on[1], std::this_thread::get_id());
}

// An op fails after writing, and its savepoint is gone, so ROLLBACK TO
// fails: its writes cannot be undone alone. They must not commit with the
// batch; the batch fails and nothing of it is acknowledged.
TEST_F(SqliteStoreTest, AFailedOpThatCannotBeUndoneFailsItsWholeBatch) {
  Open({});
  std::promise<void> release;
  auto first = HoldWriter(release.get_future().share());
  std::promise<Status> neighbour;
  store->WriteAccounts(
      InlineExecutor(),
      [this](AccountsTxn& txn) {
        return txn.InsertUser(User{ids.Next(), "neighbour", "h", 0});
      },
      [&](Status st) { neighbour.set_value(st); });
  auto broken = QueueUnundoableFailure();
  release.set_value();
  EXPECT_TRUE(first.get().ok());  // its batch was done before theirs
  EXPECT_FALSE(broken.get().ok());
  Status n = neighbour.get_future().get();
  ASSERT_FALSE(n.ok()) << "acknowledged, but its batch could not commit cleanly";
  EXPECT_EQ(n.error().code, ErrorCode::kUnavailable);
  EXPECT_FALSE(UserExists("half-written")) << "a failed op's writes were committed";
  EXPECT_FALSE(UserExists("neighbour"));
  // The writer goes on with the next batch.
  std::promise<Status> after;
  store->WriteAccounts(
      InlineExecutor(),
      [this](AccountsTxn& txn) {
        return txn.InsertUser(User{ids.Next(), "after", "h", 0});
      },
      [&](Status st) { after.set_value(st); });
  EXPECT_TRUE(after.get_future().get().ok());
  EXPECT_TRUE(UserExists("after"));
}

// The writer remembers each user's last pts; what a batch that failed had
// appended is not in the file, and the next entry takes that number again.
TEST_F(SqliteStoreTest, ABatchThatFailedGivesBackThePtsItsOperationsTook) {
  Open({});
  const UserId user = 4242;
  int64_t first = 0, undone = 0, next = 0;
  ASSERT_TRUE(QueueAppend(user, first).get().ok());
  EXPECT_EQ(first, 1);
  std::promise<void> release;
  auto held = HoldWriter(release.get_future().share());
  auto appended = QueueAppend(user, undone);
  auto broken = QueueUnundoableFailure();
  release.set_value();
  EXPECT_TRUE(held.get().ok());
  EXPECT_FALSE(broken.get().ok());
  Status st = appended.get();
  ASSERT_FALSE(st.ok()) << "acknowledged, but its batch could not commit cleanly";
  EXPECT_EQ(undone, 2);  // taken, then undone with the batch
  ASSERT_TRUE(QueueAppend(user, next).get().ok());
  EXPECT_EQ(next, 2);
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
  store->ReadAccountsResult<int>(
      InlineExecutor(),
      [&, released](AccountsTxn&) -> Result<int> {
        reading.set_value();
        released.wait_for(std::chrono::seconds(10));
        return 0;
      },
      [](Result<int> r) { EXPECT_TRUE(r.ok()) << "the first read was refused"; });
  reading.get_future().wait();  // the only reader is busy
  std::atomic<int> ran{0}, refused{0};
  std::optional<Error> refusal;
  for (int i = 0; i < 5; ++i) {
    store->ReadAccountsResult<int>(
        InlineExecutor(),
        [&](AccountsTxn&) -> Result<int> {
          ++ran;
          return 0;
        },
        [&](Result<int> r) {
          if (r.ok()) return;
          ++refused;
          refusal = r.error();
        });
  }
  EXPECT_EQ(refused.load(), 3);
  ASSERT_TRUE(refusal);
  EXPECT_EQ(refusal->code, ErrorCode::kUnavailable);
  release.set_value();
  for (int i = 0; i < 200 && ran.load() < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(ran.load(), 2);
}

// The writer's commit returns once SQLite wrote the batch to its log, before
// the disk has it; the syncer makes it durable. Until then neither the
// write's caller nor a read that saw the commit is answered: a power loss
// meanwhile would take back what they were told.
TEST_F(SqliteStoreTest, NeitherAWriteNorAReadThatSawItIsAnsweredBeforeTheLogIsSynced) {
  auto sync = std::make_shared<HeldSync>();
  SqliteOptions options;
  options.sync_log = [sync] { return sync->Sync(); };
  Open(options);
  // Shared with the callbacks: a failed ASSERT leaves them to the store's
  // teardown, after this body's locals are gone.
  auto found = std::make_shared<std::promise<Result<bool>>>();
  auto read_ran = std::make_shared<std::promise<void>>();
  auto read_answer = found->get_future();
  auto ran = read_ran->get_future();
  auto write_answer = QueueInsertUser("on-disk-later");
  ASSERT_TRUE(sync->WaitStarted(1));  // committed: its sync is under way
  store->ReadAccountsResult<bool>(
      InlineExecutor(),
      [read_ran](AccountsTxn& txn) -> Result<bool> {
        NATTER_TRY(auto user, txn.FindUserByHandle("on-disk-later"));
        read_ran->set_value();
        return user.has_value();
      },
      [found](Result<bool> r) { found->set_value(std::move(r)); });
  ASSERT_EQ(ran.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(sync->Started(), 1) << "a second sync began while the first was held";
  EXPECT_EQ(read_answer.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout)
      << "a read was answered with a commit that is not on disk yet";
  EXPECT_EQ(write_answer.wait_for(std::chrono::seconds(0)), std::future_status::timeout)
      << "a write was answered before its commit was on disk";
  sync->Finish(1);
  ASSERT_EQ(write_answer.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_TRUE(write_answer.get().ok());
  ASSERT_EQ(read_answer.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  Result<bool> read = read_answer.get();
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_TRUE(*read) << "the read did not see the commit it waited for";
}

// A failed sync may have lost what the batch wrote: the write is answered
// `unavailable` though its commit returned, /readyz is told, and the store
// refuses every write (and any read that may see an unsynced commit) until
// natterd restarts: a later sync that succeeds would not prove the lost
// pages reached the disk.
TEST_F(SqliteStoreTest, AFailedSyncFailsWhatWaitedAndEveryWriteAfter) {
  auto syncs = std::make_shared<std::atomic<int>>(0);
  SqliteOptions options;
  options.sync_log = [syncs] {
    ++*syncs;
    return false;
  };
  Open(options);
  std::atomic<int> ran{0};
  auto insert = [&](const std::string& handle) {
    std::promise<Status> answered;
    store->WriteAccounts(
        InlineExecutor(),
        [&, handle](AccountsTxn& txn) {
          ++ran;
          return txn.InsertUser(User{ids.Next(), handle, "h", 0});
        },
        [&](Status st) { answered.set_value(st); });
    return answered.get_future().get();
  };
  Status first = insert("never-durable");
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(store->WriteTrouble(), "");
  Status later = insert("after-the-failure");
  ASSERT_FALSE(later.ok());
  EXPECT_EQ(later.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(ran.load(), 1) << "a write ran after a sync failed";
  EXPECT_EQ(syncs->load(), 1) << "a sync was tried again after one failed";
  std::promise<Result<bool>> found;
  store->ReadAccountsResult<bool>(
      InlineExecutor(), [](AccountsTxn&) -> Result<bool> { return true; },
      [&](Result<bool> r) { found.set_value(std::move(r)); });
  Result<bool> read = found.get_future().get();
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(store->WriteTrouble(), "");
}

// After a failed sync the log may hold commits the disk lost part of. No
// checkpoint may copy what is left of them into the database file, not the
// checkpointer's, nor the one SQLite makes when its last connection closes:
// a restart's recovery could not undo that.
TEST_F(SqliteStoreTest, AFailedSyncStopsCheckpointsCopyingTheLogIntoTheDatabase) {
  auto failing = std::make_shared<std::atomic<bool>>(false);
  SqliteOptions options;
  options.sync_log = [failing] { return !failing->load(); };
  Open(options);
  // Whether `handle` is in the database file alone, without its log: what
  // checkpoints copied there.
  int copies = 0;
  auto in_database_file = [&](const std::string& handle) {
    const std::string copy = dir + "/copy-" + std::to_string(++copies) + ".db";
    std::filesystem::copy_file(dir + "/natter.db", copy);
    sqlite::Database db(copy, false);
    try {
      auto count = db.Prepare(("SELECT count(*) FROM users WHERE handle = '" + handle + "'").c_str());
      auto row = count.Step();
      return row.ok() && *row && count.Int(0) == 1;
    } catch (const std::logic_error&) {
      return false;  // not even the schema was copied yet
    }
  };
  ASSERT_TRUE(QueueInsertUser("synced").get().ok());
  bool copied = false;
  for (int i = 0; i < 200 && !(copied = in_database_file("synced")); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(copied) << "the checkpointer never copied a synced commit";
  // A read transaction begun before the failing commit keeps every
  // checkpoint short of it until the failure is known (its answer comes
  // after); on a real disk, the checkpoint's own fsync would fail meanwhile.
  auto pin = std::make_unique<sqlite::Database>(dir + "/natter.db", true);
  ASSERT_TRUE(pin->Exec("BEGIN").ok());
  ASSERT_TRUE(pin->Exec("SELECT count(*) FROM users").ok());
  failing->store(true);
  ASSERT_FALSE(QueueInsertUser("only-in-the-log").get().ok());
  pin.reset();  // the store's writer is the last connection to close again
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // five of the checkpointer's rounds
  store.reset();
  EXPECT_FALSE(in_database_file("only-in-the-log"))
      << "a commit that failed its sync was checkpointed into the database file";
}

// Stopping the store while a sync is under way still answers the writes
// that wait for it, once it returns.
TEST_F(SqliteStoreTest, StoppingWhileASyncIsUnderWayAnswersWhatWaitsForIt) {
  auto sync = std::make_shared<HeldSync>();
  SqliteOptions options;
  options.sync_log = [sync] { return sync->Sync(); };
  Open(options);
  auto answer = QueueInsertUser("last-one");
  ASSERT_TRUE(sync->WaitStarted(1));
  std::thread stop([this] { store->Shutdown(); });
  EXPECT_EQ(answer.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout);
  sync->Finish(1);
  stop.join();
  ASSERT_EQ(answer.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  EXPECT_TRUE(answer.get().ok());
}

// A disk that never finishes a sync: the writer stops a few commits ahead
// of it, its queue fills, and new writes are refused at once (`unavailable`)
// instead of being committed and held in memory without end. Once the disk
// answers, everything queued is answered.
TEST_F(SqliteStoreTest, ADiskThatNeverFinishesASyncFillsTheQueueInsteadOfMemory) {
  auto sync = std::make_shared<HeldSync>();
  SqliteOptions options;
  options.sync_log = [sync] { return sync->Sync(); };
  options.max_batch = 1;  // a commit per write
  options.max_queued_writes = 2;
  Open(options);
  auto ran = std::make_shared<std::atomic<int>>(0);
  auto answers = std::make_shared<std::vector<std::promise<Status>>>(8);
  std::vector<std::future<Status>> answered;
  for (auto& p : *answers) answered.push_back(p.get_future());
  auto write = [&](int i) {
    store->WriteAccounts(
        InlineExecutor(),
        [ran](AccountsTxn&) {
          ++*ran;
          return OkStatus();
        },
        [answers, i](Status st) { (*answers)[i].set_value(st); });
  };
  auto ran_reaches = [&](int n) {
    for (int i = 0; i < 1000 && ran->load() < n; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return ran->load() >= n;
  };
  // Four commits ahead of the disk are allowed; the fifth write's commit
  // makes the writer wait.
  for (int i = 0; i < 5; ++i) {
    write(i);
    ASSERT_TRUE(ran_reaches(i + 1));
  }
  write(5);
  write(6);                                                     // the queue's two places
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // time to take them, were it allowed
  EXPECT_EQ(ran->load(), 5) << "the writer went on committing while the disk synced nothing";
  write(7);
  ASSERT_EQ(answered[7].wait_for(std::chrono::seconds(10)), std::future_status::ready);
  Status refused = answered[7].get();
  ASSERT_FALSE(refused.ok()) << "a write was queued beyond the queue's bound";
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(answered[0].wait_for(std::chrono::seconds(0)), std::future_status::timeout);
  sync->Finish(1000);
  for (int i = 0; i < 7; ++i) {
    ASSERT_EQ(answered[i].wait_for(std::chrono::seconds(10)), std::future_status::ready) << i;
    EXPECT_TRUE(answered[i].get().ok()) << i;
  }
}

// A read or a completion that throws (a bug) is answered `internal` and
// logged; the store's threads live on and serve what comes next.
TEST_F(SqliteStoreTest, AThrowingReadOrCallbackLeavesTheThreadsServing) {
  SqliteOptions options;
  options.reader_threads = 1;
  Open(options);
  std::promise<Result<int>> answered;
  store->ReadResult<int>(
      0, InlineExecutor(), [](ConversationTxn&) -> Result<int> { throw std::runtime_error("bug in a read"); },
      [&](Result<int> r) { answered.set_value(std::move(r)); });
  Result<int> r = answered.get_future().get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInternal);

  std::promise<void> thrown;
  store->WriteAccounts(
      InlineExecutor(), [](AccountsTxn&) { return OkStatus(); },
      [&](Status) {
        thrown.set_value();
        throw std::runtime_error("bug in a completion");
      });
  thrown.get_future().wait();
  EXPECT_TRUE(QueueInsertUser("survivor").get().ok());
  EXPECT_TRUE(UserExists("survivor"));  // the one reader still serves
}

// Writes that never pause (queued faster than they commit) must not grow the
// write-ahead log without end: passive checkpoints alone never catch up with
// its end, and SQLite starts a log over only once all of it was copied.
TEST_F(SqliteStoreTest, TheWriteAheadLogStaysBoundedUnderWritesThatNeverPause) {
  SqliteOptions options;
  options.max_batch = 4;  // many small commits, as under load
  options.wal_limit_bytes = 256 << 10;
  Open(options);
  constexpr int kWrites = 3000;
  std::atomic<int> done{0}, failed{0};
  std::promise<void> all;
  for (int w = 0; w < kWrites; ++w) {
    store->Write(
        WriteKey(), InlineExecutor(),
        [w](ConversationTxn& txn) -> Status {
          // Rows of 40 users far apart: pages scattered over the file.
          for (int u = 0; u < 40; ++u) {
            NATTER_TRY(int64_t pts, txn.AppendUserUpdate(UserId{u} * 1'000'003 + 7, 1, w + 1));
            (void)pts;
          }
          return OkStatus();
        },
        [&](Status st, CommitTurn) {
          if (!st.ok()) ++failed;
          if (++done == kWrites) all.set_value();
        });
  }
  // A restart cuts the file back: its largest size is watched as it goes.
  std::uintmax_t wal = 0;
  auto finished = all.get_future();
  while (finished.wait_for(std::chrono::milliseconds(1)) != std::future_status::ready) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(dir + "/natter.db-wal", ec);
    if (!ec) wal = std::max(wal, size);
    ASSERT_LT(wal, 1u << 30);
  }
  EXPECT_EQ(failed.load(), 0);
  // The bound, plus what these commits (about 80 KiB a millisecond here) add
  // while a passive checkpoint is in the way of a restart; without the
  // restarts it grows past 100 MiB.
  EXPECT_LT(wal, 24u * options.wal_limit_bytes) << "the log grew to " << (wal >> 10) << " KiB";
}

// A reader that holds its snapshot for long (an online backup does, for
// minutes) keeps the log from starting over. The writer must not wait for it
// at every commit: it tries again later and later. 1,000 commits waiting
// 20 ms each would take 20 s.
TEST_F(SqliteStoreTest, AReaderHoldingItsSnapshotDoesNotSlowEveryCommit) {
  SqliteOptions options;
  options.max_batch = 1;
  options.wal_limit_bytes = 16 << 10;  // past it from the first commits on
  Open(options);
  sqlite::Database reader(dir + "/natter.db", true);
  ASSERT_TRUE(reader.Exec("BEGIN").ok());
  auto snapshot = reader.Prepare("SELECT count(*) FROM users");
  ASSERT_TRUE(snapshot.Step().ok());  // the read transaction now holds its snapshot
  constexpr int kWrites = 1000;
  std::atomic<int> done{0};
  std::promise<void> all;
  const auto started = std::chrono::steady_clock::now();
  for (int w = 0; w < kWrites; ++w) {
    store->Write(
        WriteKey(), InlineExecutor(),
        [w](ConversationTxn& txn) -> Status {
          NATTER_TRY(int64_t pts, txn.AppendUserUpdate(UserId{w % 50} + 1, 1, w + 1));
          (void)pts;
          return OkStatus();
        },
        [&](Status st, CommitTurn) {
          EXPECT_TRUE(st.ok());
          if (++done == kWrites) all.set_value();
        });
  }
  ASSERT_EQ(all.get_future().wait_for(std::chrono::seconds(60)), std::future_status::ready);
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_LT(took, std::chrono::seconds(10)) << "the writer waited for the reader at each commit";
  (void)reader.Exec("COMMIT");
}

// SQLite's words name tables and files: they go to the log, and the caller
// gets a typed error in generic words (storage that fails is `unavailable`,
// not a server bug).
TEST(SqliteErrorTest, StorageFailuresAreUnavailableInGenericWords) {
  for (int rc : {SQLITE_READONLY, SQLITE_FULL, SQLITE_IOERR, SQLITE_CANTOPEN, SQLITE_CORRUPT, SQLITE_BUSY}) {
    Error e = sqlite::SqliteError(nullptr, rc);
    EXPECT_EQ(e.code, ErrorCode::kUnavailable) << rc;
    EXPECT_EQ(e.message, "storage is unavailable") << rc;
  }
  Error conflict = sqlite::SqliteError(nullptr, SQLITE_CONSTRAINT);
  EXPECT_EQ(conflict.code, ErrorCode::kConflict);
  EXPECT_EQ(conflict.message.find("constraint"), std::string::npos) << conflict.message;
  Error bug = sqlite::SqliteError(nullptr, SQLITE_MISUSE);
  EXPECT_EQ(bug.code, ErrorCode::kInternal);
  EXPECT_EQ(bug.message, "internal error");
}

}  // namespace
}  // namespace natter::testing
