// A thin RAII layer over one sqlite3 connection: prepared statements cached by
// their SQL text, typed binds and reads. Not thread-safe: one connection is
// owned by one store thread.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "natter/status.h"

namespace natter::sqlite {

class Statement {
 public:
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~Statement() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& Bind(int index, int64_t v) {
    sqlite3_bind_int64(stmt_, index, v);
    return *this;
  }
  Statement& Bind(int index, std::string_view v) {
    sqlite3_bind_text(stmt_, index, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& BindNull(int index) {
    sqlite3_bind_null(stmt_, index);
    return *this;
  }
  Statement& Bind(int index, const std::optional<int64_t>& v) { return v ? Bind(index, *v) : BindNull(index); }

  // Steps once: true with a row, false when done. Errors come out as Status.
  Result<bool> Step();
  // Steps to completion (for statements without result rows).
  Status Run();

  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool Bool(int col) const { return Int(col) != 0; }
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string Text(int col) const {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, sqlite3_column_bytes(stmt_, col)) : std::string();
  }
  std::optional<int64_t> OptInt(int col) const { return IsNull(col) ? std::nullopt : std::optional<int64_t>(Int(col)); }

 private:
  sqlite3_stmt* stmt_;
};

// How long a connection waits for a lock another holds before it gives up.
inline constexpr int kBusyTimeoutMs = 5000;

class Database {
 public:
  // Opens (creating if asked) the database at `path`. Throws on failure: this
  // only happens at start-up.
  Database(const std::string& path, bool read_only);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // A cached prepared statement for `sql` (which must be a string literal or
  // otherwise outlive the Database).
  Statement Prepare(const char* sql);
  Status Exec(const char* sql);
  sqlite3* handle() { return db_; }
  int64_t changes() const { return sqlite3_changes64(db_); }

 private:
  sqlite3* db_ = nullptr;
  std::unordered_map<const char*, sqlite3_stmt*> cache_;
};

// Maps an sqlite3 result code to the project's error type.
Error SqliteError(sqlite3* db, int rc);

// `ids` as a JSON array, for `IN (SELECT value FROM json_each(?))`: a list of
// any length in one bound parameter.
std::string JsonIds(const std::vector<int64_t>& ids);

}  // namespace natter::sqlite
