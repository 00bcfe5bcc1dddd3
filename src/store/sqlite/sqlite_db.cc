#include "store/sqlite/sqlite_db.h"

#include <stdexcept>

#include <spdlog/spdlog.h>

#include "common/private_files.h"

namespace natter::sqlite {

std::string JsonIds(const std::vector<int64_t>& ids) {
  std::string out = "[";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(ids[i]);
  }
  return out + "]";
}

Error SqliteError(sqlite3* db, int rc) {
  // SQLite's own words go to the log only: they name tables and files.
  const char* detail = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
      return Conflict("conflicting write");  // expected (a taken handle): the caller names it
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_PERM:
    case SQLITE_NOLFS:
    case SQLITE_PROTOCOL:
      spdlog::error("storage: {} (SQLite result {})", detail, rc);
      return Unavailable("storage is unavailable");
    default:
      spdlog::error("storage: {} (SQLite result {})", detail, rc);
      return Internal("internal error");
  }
}

Result<bool> Statement::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(sqlite3_db_handle(stmt_), rc);
}

Status Statement::Run() {
  for (;;) {
    NATTER_TRY(bool row, Step());
    if (!row) return OkStatus();
  }
}

namespace {

// SQLite counts every allocation under one process-wide mutex unless told
// not to; natterd never reads those counts, and the writer allocates for
// every statement. Only possible before SQLite initializes (the first
// connection): later it fails and changes nothing.
void ConfigureSqliteOnce() {
  static const bool configured = [] {
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    return true;
  }();
  (void)configured;
}

}  // namespace

Database::Database(const std::string& path, bool read_only) {
  ConfigureSqliteOnce();
  // Only the owner may read what a database holds (SQLite gives its WAL and
  // shared-memory files the database file's mode). Not for in-memory or URI names.
  if (!read_only && !path.empty() && path[0] != ':' && path.rfind("file:", 0) != 0) MakePrivateFile(path);
  int flags = read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  flags |= SQLITE_OPEN_NOMUTEX;  // one thread owns this connection
  int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    throw std::runtime_error("cannot open database " + path + ": " + msg);
  }
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);
}

Database::~Database() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close(db_);
}

Statement Database::Prepare(const char* sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) return Statement(it->second);
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    // Statements are compiled into the binary; a failure is a programming error.
    throw std::logic_error(std::string("bad SQL: ") + sqlite3_errmsg(db_) + " in: " + sql);
  }
  cache_.emplace(sql, stmt);
  return Statement(stmt);
}

Status Database::Exec(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    Error e = SqliteError(nullptr, rc);
    e.message = "storage: " + msg;
    return e;
  }
  return OkStatus();
}

}  // namespace natter::sqlite
