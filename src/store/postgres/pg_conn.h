// A thin layer over one libpq connection: statements prepared once per
// connection (cached by their SQL text), text parameters, typed reads, and
// PostgreSQL errors mapped to the project's error codes. Not thread-safe: one
// connection is owned by one store thread.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "natter/status.h"

namespace natter::pg {

// One statement parameter in text form; empty is SQL NULL.
class Param {
 public:
  Param(int64_t v) : value_(std::to_string(v)) {}        // NOLINT: implicit by design
  Param(int v) : value_(std::to_string(v)) {}            // NOLINT
  Param(bool v) : value_(v ? "t" : "f") {}               // NOLINT
  Param(std::string_view v) : value_(std::string(v)) {}  // NOLINT
  Param(const std::string& v) : value_(v) {}             // NOLINT
  Param(const char* v) : value_(std::string(v)) {}       // NOLINT
  Param(const std::optional<int64_t>& v) {               // NOLINT
    if (v) value_ = std::to_string(*v);
  }
  static Param Null() { return Param(std::optional<int64_t>()); }
  const char* c_str() const { return value_ ? value_->c_str() : nullptr; }
  size_t size() const { return value_ ? value_->size() : 0; }

 private:
  std::optional<std::string> value_;
};

class Rows;

// One row of a result, read by column (the shape store/row_readers.h reads).
class Row {
 public:
  Row(const Rows& rows, int index) : rows_(rows), index_(index) {}
  int64_t Int(int col) const;
  bool Bool(int col) const;
  bool IsNull(int col) const;
  std::string Text(int col) const;
  std::optional<int64_t> OptInt(int col) const;

 private:
  const Rows& rows_;
  int index_;
};

class Rows {
 public:
  explicit Rows(PGresult* r) : r_(r) {}
  ~Rows() {
    if (r_) PQclear(r_);
  }
  Rows(Rows&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }
  Rows& operator=(Rows&& o) noexcept {
    std::swap(r_, o.r_);
    return *this;
  }
  Rows(const Rows&) = delete;

  int size() const { return r_ ? PQntuples(r_) : 0; }
  PGresult* get() const { return r_; }
  bool empty() const { return size() == 0; }
  int64_t Int(int row, int col) const;
  bool Bool(int row, int col) const { return PQgetvalue(r_, row, col)[0] == 't'; }
  bool IsNull(int row, int col) const { return PQgetisnull(r_, row, col) != 0; }
  std::string Text(int row, int col) const { return std::string(PQgetvalue(r_, row, col), PQgetlength(r_, row, col)); }
  std::optional<int64_t> OptInt(int row, int col) const {
    return IsNull(row, col) ? std::nullopt : std::optional<int64_t>(Int(row, col));
  }
  Row At(int row) const { return Row(*this, row); }
  // Rows changed by an INSERT/UPDATE/DELETE.
  int64_t affected() const;

 private:
  PGresult* r_;
};

inline int64_t Row::Int(int col) const { return rows_.Int(index_, col); }
inline bool Row::Bool(int col) const { return rows_.Bool(index_, col); }
inline bool Row::IsNull(int col) const { return rows_.IsNull(index_, col); }
inline std::string Row::Text(int col) const { return rows_.Text(index_, col); }
inline std::optional<int64_t> Row::OptInt(int col) const { return rows_.OptInt(index_, col); }

class Connection {
 public:
  // `label` names the instance in errors and logs ("partition 1").
  Connection(std::string conninfo, std::string label);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  Connection(Connection&&) = delete;  // libpq's notice receiver holds `this`

  // Connects, or reconnects a broken connection (at most once a second, so a
  // stopped instance costs each caller one quick error, not a connect storm).
  // Outside a transaction it first looks whether the server ended the
  // session while it was idle, and if so connects again at once.
  Status EnsureConnected();
  // For a writer, whose statements find their rows by key. Every session of
  // this connection, from its next connect on:
  // - keeps one generic plan per prepared statement instead of planning each
  //   run for its values (`plan_cache_mode`): PostgreSQL's default planned
  //   the batch reads' joins afresh on nearly every batch, a fifth of its
  //   CPU under sends;
  // - prefers an index to reading a table whole (`enable_seqscan = off`).
  //   A plan made while a table was small (a new install, a new instance)
  //   scanned it whole, and was kept while the table grew until the next
  //   ANALYZE: a fresh cluster's writers read millions of message rows in
  //   their first minute.
  void PlanByKey() { by_key_ = true; }

  // Runs `sql` (a string literal: it keys the prepared-statement cache).
  Result<Rows> Query(const char* sql, std::initializer_list<Param> params = {});

  // Pipeline mode, for a writer's batch: statements go out without waiting
  // for their answers, which come back in the order sent, so a read costs one
  // round trip for everything sent before it. A statement that fails there
  // fails the transaction (the server skips the rest until the end of the
  // pipeline): pipeline_failed() says so, and the batch runs again without.
  // Begin() enters it when asked; Commit() and Rollback() leave it.
  bool pipelined() const { return pipelined_; }
  bool pipeline_failed() const { return pipeline_failed_; }
  // Sends `sql`; its answer, when read, is only checked for an error. Out of
  // pipeline mode, runs it at once.
  Status Defer(const char* sql, std::initializer_list<Param> params = {});
  // Sends `sql` and returns a ticket for Take(), which reads its rows (and
  // every answer sent before it). Out of pipeline mode, Take() runs it.
  Result<int> Send(const char* sql, std::initializer_list<Param> params = {});
  Result<Rows> Take(int ticket);
  // Reads every answer sent (one round trip): a failure among them, or of
  // the connection, shows now.
  Status ReadSent();
  // Runs one or more statements without parameters or results.
  Status Exec(const std::string& sql);
  // A caller that keeps writes back to send them together (pg_kept_writes.h)
  // gives here how to send them and how to drop them, and calls KeptBack()
  // when it keeps one: they go out before the next statement of any kind and
  // before COMMIT, so every statement sees them. If sending them fails, the
  // transaction cannot commit. Rollback() drops them.
  void OnKeptBack(std::function<Status()> send, std::function<void()> drop) {
    send_kept_back_ = std::move(send);
    drop_kept_back_ = std::move(drop);
  }
  void KeptBack() { kept_back_ = true; }
  // In pipeline mode, where an operation of a batch begins: a sync goes out
  // here once enough waits unsynced (a stalled writer then cannot hold its
  // locks past the server's idle timeout).
  Status OperationStarts();
  // How many statements that may change rows (all but plain SELECTs, and
  // not a plain INSERT, UPDATE or DELETE whose answer said it touched no
  // row) went out in pipeline mode on this connection, not counting kept-back
  // writes (their keeper counts them when it keeps them): an operation that
  // sent and kept none changed nothing.
  uint64_t writes_sent() const { return writes_sent_; }

  // A transaction: from Begin() until Commit() or Rollback(), a broken
  // connection is not silently replaced (statements on a new session would
  // run outside the transaction), and Commit() succeeds only when the
  // transaction is intact and the server answered COMMIT (an aborted one
  // answers ROLLBACK to a COMMIT).
  Status Begin(const std::string& sql, bool pipelined = false);
  Status Commit();
  void Rollback();
  // Inside a transaction that has not failed.
  bool TransactionUsable() const {
    if (pipelined_) return !broken() && !pipeline_failed_;
    return conn_ && PQtransactionStatus(conn_) == PQTRANS_INTRANS;
  }

  // The SQLSTATE of the last failure ("" when none): callers retry a batch
  // after a deadlock or serialization failure.
  const std::string& last_sqlstate() const { return last_sqlstate_; }
  bool broken() const { return conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK; }
  const std::string& label() const { return label_; }

 private:
  Error Failure(PGresult* r, std::string_view what);
  bool EndedWhileIdle();
  // The prepared statement of `sql`, prepared first when new (sent, in
  // pipeline mode). Null when the prepare failed.
  const char* Prepared(const char* sql, int params, Status& failed);
  Status SendPrepared(const char* sql, const char* name, std::initializer_list<Param> params);
  // Reads the next answer in the pipeline (its results up to the end).
  Result<Rows> ReadAnswer();
  // Sends a sync: the server answers everything sent, and between syncs
  // its idle-in-transaction timeout runs (it bounds a stalled writer).
  bool SendSync();
  // Reads every answer still pending, whatever it says.
  void DrainPending();
  void LeavePipeline();
  Status CommitPipeline();
  Status SendKeptBack();

  // In pipeline mode: the answers not read yet, in the order sent, and the
  // rows of the ones read before their Take(). A prepare the server skipped
  // (after a failure) is forgotten when its answer is read.
  static constexpr int kUnread = -1;  // a Defer's or a prepare's: only its error matters
  static constexpr int kAll = -2;     // Take(kAll) reads every answer sent
  static constexpr int kSync = -3;    // the end of a pipeline (PGRES_PIPELINE_SYNC)
  struct Pending {
    int ticket = kUnread;
    const char* prepared = nullptr;  // the SQL of a prepare
  };
  std::deque<Pending> pending_;
  std::vector<std::pair<int, Rows>> ready_;
  int next_ticket_ = 0;
  bool pipelined_ = false;
  bool pipeline_failed_ = false;
  bool sync_due_ = false;      // sent something the server was not asked to answer yet
  size_t unsynced_bytes_ = 0;  // about how much was sent since the last sync
  uint64_t writes_sent_ = 0;
  std::optional<Error> pipeline_error_;  // the first failure, answered for everything after it

  std::string conninfo_;
  std::string label_;
  PGconn* conn_ = nullptr;
  std::chrono::steady_clock::time_point last_attempt_{};
  std::unordered_map<const char*, std::string> prepared_;
  int64_t statements_made_ = 0;  // names each prepared statement once per connection
  std::string last_sqlstate_;
  bool in_transaction_ = false;
  bool was_connected_ = false;    // the last connect succeeded
  bool ended_by_server_ = false;  // a FATAL notice came while idle
  bool by_key_ = false;
  std::function<Status()> send_kept_back_;
  std::function<void()> drop_kept_back_;
  bool kept_back_ = false;
};

// An array literal of any parameters, each quoted, a null one as NULL: for
// `unnest($n::type[])`.
std::string ArrayOf(const std::vector<Param>& values);
// A PostgreSQL array literal of ids ("{1,2,3}"), for `= ANY($n::bigint[])`.
std::string IdArray(const std::vector<int64_t>& ids);
// A text[] literal ({"a","b"}), each element quoted (so "" is an empty
// string) with its quotes and backslashes escaped, for `$n::text[]`.
std::string TextArray(const std::vector<std::string>& values);

// True for SQLSTATEs where running the same transaction again can succeed.
bool IsRetryable(std::string_view sqlstate);

}  // namespace natter::pg
