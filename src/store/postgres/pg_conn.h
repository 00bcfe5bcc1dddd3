// A thin layer over one libpq connection: statements prepared once per
// connection (cached by their SQL text), text parameters, typed reads, and
// PostgreSQL errors mapped to the project's error codes. Not thread-safe: one
// connection is owned by one store thread.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
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

  int size() const { return PQntuples(r_); }
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

  // Connects, or reconnects a broken connection (at most once a second, so a
  // stopped instance costs each caller one quick error, not a connect storm).
  Status EnsureConnected();

  // Runs `sql` (a string literal: it keys the prepared-statement cache).
  Result<Rows> Query(const char* sql, std::initializer_list<Param> params = {});
  // Runs one or more statements without parameters or results.
  Status Exec(const std::string& sql);

  // A transaction: from Begin() until Commit() or Rollback(), a broken
  // connection is not silently replaced (statements on a new session would
  // run outside the transaction), and Commit() succeeds only when the
  // transaction is intact and the server answered COMMIT (an aborted one
  // answers ROLLBACK to a COMMIT).
  Status Begin(const std::string& sql);
  Status Commit();
  void Rollback();
  // Inside a transaction that has not failed.
  bool TransactionUsable() const { return conn_ && PQtransactionStatus(conn_) == PQTRANS_INTRANS; }

  // The SQLSTATE of the last failure ("" when none): callers retry a batch
  // after a deadlock or serialization failure.
  const std::string& last_sqlstate() const { return last_sqlstate_; }
  bool broken() const { return conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK; }
  const std::string& label() const { return label_; }

 private:
  Error Failure(PGresult* r, std::string_view what);

  std::string conninfo_;
  std::string label_;
  PGconn* conn_ = nullptr;
  std::chrono::steady_clock::time_point last_attempt_{};
  std::unordered_map<const char*, std::string> prepared_;
  std::string last_sqlstate_;
  bool in_transaction_ = false;
  bool was_connected_ = false;  // the last connect succeeded
};

// A PostgreSQL array literal of ids ("{1,2,3}"), for `= ANY($n::bigint[])`.
std::string IdArray(const std::vector<int64_t>& ids);
// A text[] literal ({"a","b"}), each element quoted (so "" is an empty
// string) with its quotes and backslashes escaped, for `$n::text[]`.
std::string TextArray(const std::vector<std::string>& values);

// True for SQLSTATEs where running the same transaction again can succeed.
bool IsRetryable(std::string_view sqlstate);

}  // namespace natter::pg
