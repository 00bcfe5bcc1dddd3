// The scale store: PostgreSQL instances, each one partition. Conversations are
// spread over them by id (Store::PartitionOf); accounts live on the first.
// Each partition has writer threads, each with its own queue (a conversation
// always on the same one), which commit queued writes in groups (many
// operations, one transaction, one commit), and reader threads; every thread
// owns its connections, so nothing here blocks an I/O thread.
#include <algorithm>
#include <thread>
#include <vector>

#include <pthread.h>
#include <spdlog/spdlog.h>

#include "common/guarded.h"
#include "store/group_commit.h"
#include "store/postgres/pg_conn.h"
#include "store/postgres/pg_migrations.h"
#include "store/postgres/pg_txn.h"
#include "store/run_guarded.h"
#include "store/store.h"
#include "store/work_queue.h"

namespace natter {
namespace {

using pg::Connection;

// How often a batch that lost a deadlock or serialization race is run again.
constexpr int kMaxBatchAttempts = 5;

std::string Label(int partition) { return "postgres partition " + std::to_string(partition); }

// One instance: its queues and threads.
class Partition {
 public:
  size_t QueuedWrites() const {
    size_t n = 0;
    for (const auto& q : queues_) n += q->Size();
    return n;
  }
  std::chrono::steady_clock::duration OldestQueuedWrite() const {
    std::chrono::steady_clock::duration oldest{};
    for (const auto& q : queues_) oldest = std::max(oldest, q->OldestWait());
    return oldest;
  }

  Partition(const PostgresOptions& options, int index)
      : options_(options), index_(index), conninfo_(options.instances[index]), reads_(options.max_queued_reads) {
    for (int i = 0; i < std::max(1, options.writer_threads); ++i) {
      queues_.push_back(std::make_unique<WorkQueue<QueuedWrite>>(options.max_queued_writes));
    }
  }

  void Start() {
    for (size_t i = 0; i < queues_.size(); ++i) {
      writers_.emplace_back([this, i] { WriterLoop(*queues_[i]); });
      pthread_setname_np(writers_.back().native_handle(), "pg-writer");
    }
    for (int i = 0; i < options_.reader_threads; ++i) {
      readers_.emplace_back([this] { ReaderLoop(); });
      pthread_setname_np(readers_.back().native_handle(), "pg-reader");
    }
  }

  void Write(QueuedWrite write) {
    // One conversation's writes always go to the same writer, so they commit
    // in the order they came (a client's pipelined sends keep their order).
    // Ids made in one millisecond differ only in their low bits: mix first.
    uint64_t mixed = static_cast<uint64_t>(write.conversation) * 0x9e3779b97f4a7c15ULL;
    auto& queue = *queues_[(mixed >> 32) % queues_.size()];
    auto refusal = queue.Push(write);
    if (refusal == WorkQueue<QueuedWrite>::Refusal::kNone) return;
    write.done(WorkQueue<QueuedWrite>::RefusalError(refusal), CommitTurn());
  }

  void Read(QueuedRead read) {
    auto refusal = reads_.Push(read);
    if (refusal != WorkQueue<QueuedRead>::Refusal::kNone) read.refused(WorkQueue<QueuedRead>::RefusalError(refusal));
  }

  void Stop() {
    if (!reads_.Stop()) return;
    for (auto& q : queues_) q->Stop();
    for (auto& t : writers_) t.join();
    writers_.clear();
    for (auto& t : readers_) t.join();
    readers_.clear();
    (void)reads_.TakeRest();  // what queued reads hold goes now, on this thread
  }

 private:
  // Accounts live on partition 0; other partitions reach them over a
  // connection of their own.
  std::unique_ptr<Connection> AccountsConnection() const {
    if (index_ == 0) return nullptr;
    return std::make_unique<Connection>(options_.instances[0], Label(0));
  }

  // PostgreSQL's side of group commit (store/group_commit.h) on one writer's
  // connection.
  class Backend {
   public:
    Backend(Connection& conn, pg::PgTxn& txn) : conn_(conn), txn_(txn) {}

    // A batch runs in pipeline mode (pg_conn.h): BEGIN and LockAhead's
    // statements cost one round trip, writes none until the commit. After a
    // statement failed there, it runs again without, one statement at a time,
    // so that a failing operation undoes only itself.
    Status Begin(const std::vector<QueuedWrite>& batch, const std::vector<int64_t>& wait_for) {
      Status begun = Start(batch, wait_for);
      if (!begun.ok() && conn_.broken()) {
        // The connection died while idle (the instance restarted): nothing ran
        // yet, so a new one may start the batch.
        conn_.Rollback();  // forgets the transaction that never began
        begun = Start(batch, wait_for);
      }
      return begun;
    }
    // BEGIN and the locks; in pipeline mode LockAhead's first read is where a
    // dead connection shows.
    Status Start(const std::vector<QueuedWrite>& batch, const std::vector<int64_t>& wait_for) {
      txn_.view().Clear();
      undo_needed_ = false;
      txn_.KeepWritesBack(!strict_ && !savepoints_);
      NATTER_RETURN_IF_ERROR(conn_.Begin("BEGIN", !strict_));  // connects first when it must
      return txn_.LockAhead(batch, wait_for);
    }
    // Another node's batch held the conversation's row (LockAhead).
    bool PutsOff(const QueuedWrite& w) const { return w.conversation != 0 && txn_.PassedOver(w.conversation); }

    // In pipeline mode an operation runs without a savepoint: a refusal
    // before it sent a write changed nothing. One refused after it wrote
    // makes the whole batch run again, still pipelined, with a savepoint per
    // operation; a failed statement makes it run again out of pipeline mode.
    // A savepoint is a subtransaction, and a row that one transaction locked
    // and its subtransactions update gets a multixact for each update, which
    // every later reader of the row must look up: that was a fifth of
    // PostgreSQL's CPU under 1:1 sends.
    Status RunOp(QueuedWrite& w) {
      if (!strict_ && !savepoints_) {
        NATTER_RETURN_IF_ERROR(conn_.OperationStarts());
        auto written = [&] { return conn_.writes_sent() + txn_.writes_kept_back(); };
        uint64_t before = written();
        Status st = RunGuarded(w, txn_);
        if (!st.ok() && written() != before) undo_needed_ = true;
        return st;
      }
      return RunOpInSavepoint(w);
    }

    // One operation inside its savepoint. Out of pipeline mode, one that hit
    // a unique key another node committed meanwhile runs once more: it then
    // sees the committed row.
    Status RunOpInSavepoint(QueuedWrite& w) {
      NATTER_RETURN_IF_ERROR(conn_.OperationStarts());
      Status st = OkStatus();
      for (int attempt = 0; attempt < 2; ++attempt) {
        if (Status sp = conn_.Exec("SAVEPOINT op"); !sp.ok()) return sp;
        st = RunGuarded(w, txn_);
        bool unique_race = !st.ok() && conn_.last_sqlstate() == "23505";
        // A savepoint that is not rolled back stays until commit: releasing it
        // would cost a round trip per operation.
        if (st.ok()) return st;
        if (conn_.broken() || conn_.pipeline_failed() || pg::IsRetryable(conn_.last_sqlstate())) return st;
        if (Status rb = conn_.Exec("ROLLBACK TO op"); !rb.ok()) return rb;
        txn_.view().Clear();  // it may hold what the operation changed
        if (!unique_race) return st;
      }
      return st;
    }

    // Lost with the connection, a deadlock, or an op that left it failed or
    // needs undoing.
    bool Usable() { return !undo_needed_ && conn_.TransactionUsable(); }
    // The outcome of a commit whose answer was lost is unknown: the client's
    // retry with the same client_msg_id settles it (sends are idempotent).
    Status Commit() { return conn_.Commit(); }
    void Rollback() { conn_.Rollback(); }
    bool LostRace() {
      if (conn_.broken()) return false;
      if (conn_.pipeline_failed()) strict_ = true;
      if (undo_needed_) savepoints_ = true;
      return conn_.pipeline_failed() || undo_needed_ || pg::IsRetryable(conn_.last_sqlstate());
    }
    // PostgreSQL's COMMIT returned once the batch was durable.
    void Answer(BatchAnswers answers) { answers.Send(true); }
    void Answered() { strict_ = savepoints_ = false; }

   private:
    Connection& conn_;
    pg::PgTxn& txn_;
    bool strict_ = false;       // the batch runs again out of pipeline mode
    bool savepoints_ = false;   // the batch runs again with a savepoint per operation
    bool undo_needed_ = false;  // an operation failed after it wrote, with no savepoint
  };

  void WriterLoop(WorkQueue<QueuedWrite>& queue) {
    // Each writer commits in its own order: one conversation's writes all go
    // to the same writer.
    auto order = std::make_shared<CommitOrder>();
    Connection conn(conninfo_, Label(index_));
    auto accounts = AccountsConnection();
    conn.PlanByKey();
    if (accounts) accounts->PlanByKey();
    pg::PgTxn txn(conn, accounts.get());
    Backend backend(conn, txn);
    // An instance that is down hides its own conversations, not the node: the
    // node stays ready (WriteTrouble stays empty) and says so per request.
    RunGroupCommit(queue, static_cast<size_t>(options_.max_batch), kMaxBatchAttempts, backend, *order,
                   [this](const Status&, size_t ops, int64_t us) {
                     if (options_.on_commit) options_.on_commit(ops, us);
                   });
  }

  void ReaderLoop() {
    Connection conn(conninfo_, Label(index_));
    auto accounts = AccountsConnection();
    pg::PgTxn txn(conn, accounts.get());
    QueuedRead read;
    while (reads_.PopOne(read)) {
      // One snapshot for the whole operation (a catch-up reads the log and the
      // timelines it points at). When the instance is down, the op still runs:
      // its queries answer `unavailable`, which it passes on.
      bool in_txn = conn.Begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").ok();  // connects first
      ReadReply reply = RunGuarded(read, txn, "pg reader");
      if (in_txn) conn.Rollback();       // read only: nothing to commit
      Reply(read.request, reply, true);  // PostgreSQL answers commits once durable
      read = QueuedRead{};               // what it holds goes now, not with the next read
    }
  }

  const PostgresOptions& options_;
  const int index_;
  const std::string conninfo_;
  std::vector<std::unique_ptr<WorkQueue<QueuedWrite>>> queues_;  // one a writer thread
  WorkQueue<QueuedRead> reads_;
  std::vector<std::thread> writers_;
  std::vector<std::thread> readers_;
};

class PostgresStore final : public Store {
 public:
  explicit PostgresStore(PostgresOptions options) : options_(std::move(options)) {
    if (options_.instances.empty()) throw std::runtime_error("no PostgreSQL instance configured");
    for (size_t i = 0; i < options_.instances.size(); ++i) {
      Connection conn(options_.instances[i], Label(static_cast<int>(i)));
      pg::Migrate(conn);
      pg::CheckLayout(conn, static_cast<int>(i), static_cast<int>(options_.instances.size()));
      partitions_.push_back(std::make_unique<Partition>(options_, static_cast<int>(i)));
    }
    for (auto& p : partitions_) p->Start();
  }

  ~PostgresStore() override { Shutdown(); }

  int Partitions() const override { return static_cast<int>(partitions_.size()); }

  void QueueWrite(int partition, QueuedWrite write) override { partitions_.at(partition)->Write(std::move(write)); }

  void QueueRead(int partition, QueuedRead read) override { partitions_.at(partition)->Read(std::move(read)); }

  void Shutdown() override {
    for (auto& p : partitions_) p->Stop();
  }

  size_t QueuedWrites() const override {
    size_t n = 0;
    for (const auto& p : partitions_) n += p->QueuedWrites();
    return n;
  }
  std::chrono::steady_clock::duration OldestQueuedWrite() const override {
    std::chrono::steady_clock::duration oldest{};
    for (const auto& p : partitions_) oldest = std::max(oldest, p->OldestQueuedWrite());
    return oldest;
  }

 private:
  const PostgresOptions options_;
  std::vector<std::unique_ptr<Partition>> partitions_;
};

}  // namespace

std::unique_ptr<Store> OpenPostgresStore(const PostgresOptions& options) {
  return std::make_unique<PostgresStore>(options);
}

}  // namespace natter
