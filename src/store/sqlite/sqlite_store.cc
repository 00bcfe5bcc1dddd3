// The embedded store: SQLite in WAL mode, one writer thread that commits
// queued writes in groups (many operations, one transaction), a syncer thread
// that makes each group durable (one fsync) while the writer runs the next,
// and reader threads with their own read-only connections.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include <pthread.h>
#include <spdlog/spdlog.h>

#include "common/guarded.h"
#include "common/mutex.h"
#include "store/group_commit.h"
#include "store/run_guarded.h"
#include "store/sqlite/migrations.h"
#include "store/sqlite/sqlite_db.h"
#include "store/sqlite/sqlite_txn.h"
#include "store/sqlite/wal_file.h"
#include "store/sqlite/wal_syncer.h"
#include "store/store.h"
#include "store/work_queue.h"

namespace natter {
namespace {

using sqlite::Database;

void Configure(Database& db, bool writer) {
  // WAL lets readers work beside the writer. synchronous=FULL fsyncs the WAL
  // at every commit: so for the migrations at start; then the store turns it
  // to NORMAL and its syncer (WalSyncer) syncs instead, beside the writer.
  if (writer) {
    // Small pages: a commit group writes every page it touched to the WAL, and
    // sends touch many scattered pages (one per conversation, member, update
    // log). Measured here, 2 KiB pages took 1:1 sends from 21,000 to 28,000/s
    // with history reads no slower. Takes effect on new databases only.
    (void)db.Exec("PRAGMA page_size=2048");
    (void)db.Exec("PRAGMA journal_mode=WAL");
    (void)db.Exec("PRAGMA synchronous=FULL");
    // Checkpoints run on their own thread (CheckpointLoop), never inside a
    // commit that acknowledgements wait for.
    (void)db.Exec("PRAGMA wal_autocheckpoint=0");
    // What a row held before an update or deletion is zeroed, not left in
    // free space: an erased message must leave the file (docs/admin.md).
    (void)db.Exec("PRAGMA secure_delete=ON");
  }
  (void)db.Exec("PRAGMA foreign_keys=ON");
  // A reader's cache starts over whenever it finds that another connection
  // committed, which a serving node's writer does many times a second: a
  // large one fills only while nothing is written (a connect storm's presence
  // reads), and then holds memory no read needs. The writer's stays warm.
  (void)db.Exec(writer ? "PRAGMA cache_size=-16000" : "PRAGMA cache_size=-512");
}

// The embedded database has one natterd: a claim on a push or webhook job
// that is still held at start was made by a process that ended without
// putting it back (a crash, a kill). It goes again now, not when its lease
// ends a minute later; receivers dedupe by event id either way.
void ReleaseClaimsOfAnEndedProcess(Database& db) {
  auto released = db.Exec(
      "UPDATE push_queue SET claimed_until = 0, claim = 0 WHERE claimed_until > 0;"
      "UPDATE webhook_queue SET claimed_until = 0, claim = 0 WHERE claimed_until > 0;");
  if (!released.ok()) spdlog::warn("releasing the claims of an ended process: {}", released.error().message);
}

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(const SqliteOptions& options)
      : options_(options), writes_(options.max_queued_writes), reads_(options.max_queued_reads) {
    writer_db_ = std::make_unique<Database>(options.path, false);
    Configure(*writer_db_, true);
    sqlite::Migrate(*writer_db_);
    BoundLog(*writer_db_);
    ReleaseClaimsOfAnEndedProcess(*writer_db_);
    if (!options.sync_log) wal_file_ = std::make_unique<sqlite::WalFile>(options.path);
    syncer_ = std::make_unique<sqlite::WalSyncer>([this] { return SyncLog(); },
                                                  sqlite::WalSyncer::Limits{.waiting = options.max_queued_reads});
    // From here on a commit returns once SQLite wrote it to the log; the
    // syncer makes it durable before anyone learns of it.
    (void)writer_db_->Exec("PRAGMA synchronous=NORMAL");
    writer_ = std::thread([this] { WriterLoop(); });
    pthread_setname_np(writer_.native_handle(), "store-writer");
    checkpointer_ = std::thread([this] { CheckpointLoop(); });
    pthread_setname_np(checkpointer_.native_handle(), "store-ckpt");
    for (int i = 0; i < options.reader_threads; ++i) {
      auto db = std::make_shared<Database>(options.path, true);
      Configure(*db, false);
      readers_.emplace_back([this, db] { ReaderLoop(*db); });
      pthread_setname_np(readers_.back().native_handle(), "store-reader");
    }
  }

  ~SqliteStore() override { Shutdown(); }

  // One partition: `partition` is always 0.
  void QueueWrite(int, QueuedWrite write) override {
    auto refusal = writes_.Push(write);
    if (refusal == WorkQueue<QueuedWrite>::Refusal::kNone) return;
    write.done(WorkQueue<QueuedWrite>::RefusalError(refusal), CommitTurn());
  }

  void QueueRead(int, QueuedRead read) override {
    auto refusal = reads_.Push(read);
    if (refusal != WorkQueue<QueuedRead>::Refusal::kNone) read.refused(WorkQueue<QueuedRead>::RefusalError(refusal));
  }

  void ForgetOverwritten() override { forget_overwritten_.store(true); }

  size_t QueuedWrites() const override { return writes_.Size(); }
  std::chrono::steady_clock::duration OldestQueuedWrite() const override { return writes_.OldestWait(); }

  void Shutdown() override {
    if (!writes_.Stop()) return;
    reads_.Stop();
    {
      MutexLock lock(mu_);
      stopping_ = true;
    }
    checkpoint_cv_.notify_all();
    if (writer_.joinable()) writer_.join();
    if (checkpointer_.joinable()) checkpointer_.join();
    for (auto& t : readers_) t.join();
    readers_.clear();
    syncer_->Stop();  // the last answers, once what they tell of is on disk
    // The last connection to close checkpoints the log into the database
    // file: not after a failed sync (see CheckpointLoop).
    if (syncer_->Failed()) sqlite3_db_config(writer_db_->handle(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
    // Reads still queued hold their callers' objects (connections, sessions);
    // release them now, while the threads those belong to still exist.
    (void)reads_.TakeRest();
  }

 private:
  // SQLite's side of group commit (store/group_commit.h) on the writer connection.
  class Backend {
   public:
    Backend(SqliteStore& store, Database& db) : store_(store), db_(db), txn_(db) {}

    Status Begin(const std::vector<QueuedWrite>&, const std::vector<int64_t>&) {
      aborted_ = false;
      if (store_.Gone(db_)) return GoneError();
      if (store_.syncer_->Failed()) return NotDurableError();
      return Logged("begin", db_.Exec("BEGIN IMMEDIATE"));
    }
    // The only writer: nothing else holds a conversation.
    bool PutsOff(const QueuedWrite&) const { return false; }

    Status RunOp(QueuedWrite& w) {
      // Prepared once: these run for every operation of every batch.
      if (Status sp = db_.Prepare("SAVEPOINT op").Run(); !sp.ok()) {
        aborted_ = true;  // the op would run with nothing to undo it
        return sp;
      }
      txn_.OperationBegins();
      Status st = RunGuarded(w, txn_);
      // A failed op whose changes cannot be undone, or a savepoint that cannot
      // be closed, must not commit with the batch.
      if (!st.ok()) {
        aborted_ |= !db_.Prepare("ROLLBACK TO op").Run().ok();
        txn_.OperationUndone();
      }
      if (!aborted_) aborted_ |= !db_.Prepare("RELEASE op").Run().ok();
      return st;
    }

    // A failure may also have ended the transaction itself (disk full, I/O
    // error): what remains of the batch must not run outside one.
    bool Usable() { return !aborted_ && !sqlite3_get_autocommit(db_.handle()); }
    Status Commit() {
      store_.syncer_->CommitBegins();
      Status st = Logged("commit", db_.Exec("COMMIT"));
      if (st.ok()) txn_.BatchCommitted();
      // Committed into a file that was deleted meanwhile is not durable:
      // checked after the commit and before anyone is told it succeeded.
      if (st.ok() && store_.Gone(db_)) return GoneError();
      return st;
    }
    void Rollback() {
      if (!sqlite3_get_autocommit(db_.handle())) (void)db_.Exec("ROLLBACK");
      txn_.BatchUndone();
    }
    bool LostRace() { return false; }  // one writer: nobody to race
    void Answer(BatchAnswers answers) {
      store_.syncer_->BatchEnded(
          [answers = std::make_shared<BatchAnswers>(std::move(answers))](bool durable) { answers->Send(durable); });
    }
    // The batch's answers are the syncer's: the log's restart, when due,
    // delays the next batch, not this one's acknowledgements.
    void Answered() { store_.RestartLogIfLong(db_); }

   private:
    static Status Logged(const char* what, Status st) {
      if (!st.ok()) spdlog::error("store: {} failed: {}", what, st.error().message);
      return st;
    }

    SqliteStore& store_;
    Database& db_;
    sqlite::SqliteTxn txn_;
    bool aborted_ = false;
  };

  // The syncer's sync: the log file's, or the one the options give (tests).
  // A failure is reported at once: the writes already answered are not at
  // risk, but every write from now on is refused.
  bool SyncLog() {
    auto started = std::chrono::steady_clock::now();
    bool synced = options_.sync_log ? options_.sync_log() : wal_file_->Sync();
    if (options_.on_sync) {
      options_.on_sync(
          std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count());
    }
    if (!synced) {
      // Waits for a checkpoint under way and keeps every later one from
      // starting (CheckpointLoop) before anyone learns of the failure: none
      // copies a commit that was answered as not durable.
      MutexLock lock(checkpoint_mu_);
      sync_failed_ = true;
    }
    if (!synced) ReportBatch(NotDurableError());
    return synced;
  }

  static Error GoneError() { return Unavailable("storage unavailable: the database file was deleted or replaced"); }

  // Whether the database file was unlinked or replaced while open (SQLite's
  // SQLITE_FCNTL_HAS_MOVED: its link is gone, or the path names another
  // file). Writes would go on succeeding into a file nobody opens again, and
  // the next start would find an empty database: from then on every write is
  // refused, /readyz says so, until the file is restored and natterd restarts.
  bool Gone(Database& db) {
    if (gone_.load(std::memory_order_relaxed)) return true;
    int moved = 0;
    if (sqlite3_file_control(db.handle(), "main", SQLITE_FCNTL_HAS_MOVED, &moved) != SQLITE_OK || !moved) return false;
    if (!gone_.exchange(true)) {
      spdlog::critical(
          "store: {} was deleted or replaced while open; writes are refused from now on. Restore the "
          "file (or move it back) and restart natterd",
          options_.path);
      ReportBatch(GoneError());
    }
    return true;
  }

  void WriterLoop() {
    Backend backend(*this, *writer_db_);
    // Once the file is gone, that (not the batch's generic failure) is why.
    RunGroupCommit(
        writes_, static_cast<size_t>(options_.max_batch), 1, backend, *commit_order_,
        [this](const Status& outcome, size_t ops, int64_t us) {
          ReportBatch(gone_.load() ? Status(GoneError()) : syncer_->Failed() ? Status(NotDurableError()) : outcome);
          if (options_.on_commit) options_.on_commit(ops, us);
        });
  }

  // Keeps the write-ahead log within options_.wal_limit_bytes. The
  // checkpoint thread's passive checkpoints copy pages beside the writer, but
  // under steady writes they never catch up with its end, and SQLite starts
  // the log over only once all of it was copied: the file would grow as long
  // as the load lasts. So the writer, after a batch's answers are posted and
  // when the log is past the bound, asks for a RESTART checkpoint: it copies what the passive
  // ones have not (little) and waits briefly for readers to leave the old log;
  // the next batch then writes from the log's start. journal_size_limit cuts
  // the file back.
  void BoundLog(Database& db) {
    (void)db.Exec(("PRAGMA journal_size_limit=" + std::to_string(options_.wal_limit_bytes)).c_str());
    sqlite3_wal_hook(
        db.handle(),
        [](void* self, sqlite3*, const char*, int frames) {
          static_cast<SqliteStore*>(self)->wal_frames_ = frames;
          return SQLITE_OK;
        },
        this);
    auto page = db.Prepare("PRAGMA page_size");
    if (auto row = page.Step(); row.ok() && *row) page_bytes_ = page.Int(0);
  }

  void RestartLogIfLong(Database& db) {
    if (wal_frames_ * page_bytes_ < options_.wal_limit_bytes) return;
    if (syncer_->Failed()) return;  // see CheckpointLoop
    if (std::chrono::steady_clock::now() < next_restart_try_) return;
    // Readers' transactions are short; a long one is not waited for.
    sqlite3_busy_timeout(db.handle(), 20);
    int rc = sqlite3_wal_checkpoint_v2(db.handle(), "main", SQLITE_CHECKPOINT_RESTART, nullptr, nullptr);
    sqlite3_busy_timeout(db.handle(), sqlite::kBusyTimeoutMs);
    if (rc == SQLITE_OK) {
      wal_frames_ = 0;
      restart_misses_ = 0;
      return;
    }
    // Something in the way (a reader's snapshot, a passive checkpoint still
    // copying, an online backup that holds its snapshot for minutes): tried
    // again later, waiting longer each time, up to a second, so a long
    // reader costs the writer at most 2 % of its time.
    ++restart_misses_;
    const auto wait =
        std::chrono::milliseconds(std::min<int64_t>(1000, int64_t{20} << std::min<int64_t>(restart_misses_ - 1, 6)));
    next_restart_try_ = std::chrono::steady_clock::now() + wait;
    if (restart_misses_ % 300 == 0) {
      spdlog::warn(
          "store: the write-ahead log is past its bound ({} MiB) and could not start over: a long reader "
          "(an online backup?) holds it",
          wal_frames_ * page_bytes_ >> 20);
    }
  }

  // Copies committed WAL pages into the database file ten times a second,
  // beside the writer (PASSIVE never blocks it), so that no commit pays for
  // a checkpoint and the writer's restarts (RestartLogIfLong) find little
  // left to copy.
  void CheckpointLoop() {
    Database db(options_.path, false);
    int truncate_misses = 0;
    for (;;) {
      {
        MutexLock lock(mu_);
        if (lock.WaitFor(checkpoint_cv_, std::chrono::milliseconds(100),
                         [this]() REQUIRES(mu_) { return stopping_; })) {
          break;
        }
      }
      // Also noticed when nothing is written: /readyz tells at once (and
      // again each time, should a batch's outcome have been reported over it).
      if (Gone(db)) {
        ReportBatch(GoneError());
        continue;
      }
      // After a failed sync the log holds commits whose pages the kernel may
      // have dropped; a checkpoint would copy what is left of them into the
      // database file, which a restart's recovery could not undo. Nothing is
      // copied until natterd restarts. Decided and done under checkpoint_mu_,
      // so a sync cannot fail between the two.
      MutexLock lock(checkpoint_mu_);
      if (sync_failed_ || syncer_->Failed()) {
        lock.Unlock();
        ReportBatch(NotDurableError());
        continue;
      }
      (void)db.Exec("PRAGMA wal_checkpoint(PASSIVE)");
      if (forget_overwritten_.exchange(false)) {
        if (TruncateLog(db)) {
          truncate_misses = 0;
        } else {
          forget_overwritten_.store(true);
          // Every reader or commit under way stops it; it tries again each
          // round, and says so when that lasts.
          if (++truncate_misses % 600 == 0) {
            spdlog::warn("store: the write-ahead log could not be emptied for {} s: readers or writes never paused",
                         truncate_misses / 10);
          }
        }
      }
    }
    MutexLock lock(checkpoint_mu_);
    if (!Gone(db) && !sync_failed_ && !syncer_->Failed()) (void)db.Exec("PRAGMA wal_checkpoint(PASSIVE)");
  }

  // A checkpoint that empties the log file, so no older copy of a page stays
  // in it; taken only when no reader is in the way, since waiting for one
  // would hold the writer back. Whether it was.
  static bool TruncateLog(Database& db) {
    sqlite3_busy_timeout(db.handle(), 0);
    bool done = false;
    {
      auto s = db.Prepare("PRAGMA wal_checkpoint(TRUNCATE)");
      auto row = s.Step();
      done = row.ok() && *row && s.Int(0) == 0;
    }
    sqlite3_busy_timeout(db.handle(), sqlite::kBusyTimeoutMs);
    return done;
  }

  void ReaderLoop(Database& db) {
    sqlite::SqliteTxn txn(db);
    QueuedRead read;
    while (reads_.PopOne(read)) {
      // A read transaction pins one snapshot for the whole operation; without
      // one, a catch-up could see half of a commit.
      if (Status begun = db.Exec("BEGIN"); !begun.ok()) {
        spdlog::error("read transaction could not begin: {}", begun.error().message);
        read.refused(Unavailable("storage unavailable"));
      } else {
        ReadReply reply = RunGuarded(read, txn, "store reader");
        (void)db.Exec("COMMIT");  // read only: nothing to lose if it fails
        if (reply) {
          syncer_->AfterRead(
              [request = read.request, reply = std::move(reply)](bool durable) { Reply(request, reply, durable); });
        }
      }
      read = QueuedRead{};  // what it holds goes now, not with the next read
    }
  }

  const SqliteOptions options_;
  std::unique_ptr<Database> writer_db_;
  std::unique_ptr<sqlite::WalFile> wal_file_;  // the syncer's, unless options_.sync_log
  std::unique_ptr<sqlite::WalSyncer> syncer_;
  WorkQueue<QueuedWrite> writes_;
  std::shared_ptr<CommitOrder> commit_order_ = std::make_shared<CommitOrder>();
  std::atomic<bool> gone_{false};  // see Gone()
  // See ForgetOverwritten(). Set at start too: a process that died after an
  // erasure may have left older copies in the log.
  std::atomic<bool> forget_overwritten_{true};
  // The writer thread's own: the log's length after its last commit, in pages.
  int64_t wal_frames_ = 0;
  int64_t page_bytes_ = 2048;
  std::chrono::steady_clock::time_point next_restart_try_{};
  int64_t restart_misses_ = 0;
  WorkQueue<QueuedRead> reads_;
  Mutex checkpoint_mu_;  // held by each checkpoint, and while a failed sync is recorded
  bool sync_failed_ GUARDED_BY(checkpoint_mu_) = false;
  Mutex mu_;  // for the checkpointer's wait
  std::condition_variable checkpoint_cv_;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::thread writer_;
  std::thread checkpointer_;
  std::vector<std::thread> readers_;
};

}  // namespace

std::unique_ptr<Store> OpenSqliteStore(const SqliteOptions& options) { return std::make_unique<SqliteStore>(options); }

}  // namespace natter
