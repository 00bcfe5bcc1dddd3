#include "store/sqlite/online_backup.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "store/sqlite/sqlite_db.h"

namespace natter::sqlite {
namespace {

constexpr int kBusyRetryMs = 50;

// One connection, closed however the copy ends.
class Connection {
 public:
  Connection(const std::string& path, int flags) {
    rc_ = sqlite3_open_v2(path.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr);
    if (db_) sqlite3_busy_timeout(db_, kBusyTimeoutMs);
  }
  ~Connection() { sqlite3_close_v2(db_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool ok() const { return rc_ == SQLITE_OK; }
  sqlite3* get() { return db_; }
  std::string ErrorText() const { return db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc_); }

  // Runs `sql` (its rows, if any, are read and dropped); empty, or SQLite's words.
  std::string Exec(const char* sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
    if (rc == SQLITE_OK) return {};
    std::string text = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    return text;
  }

  // The first column of every row `sql` returns, as text; false with
  // `problem` set when it fails.
  bool Column(const char* sql, std::vector<std::string>& values, std::string& problem) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr);
    if (rc == SQLITE_OK) {
      while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
        values.emplace_back(text ? text : "");
      }
    }
    if (rc != SQLITE_DONE) problem = ErrorText();
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE;
  }

 private:
  sqlite3* db_ = nullptr;
  int rc_ = SQLITE_OK;
};

// Creates `path` empty and 0600, refusing one that exists: a backup never
// writes over a file it did not make.
std::string CreateNewFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return "cannot create " + path + ": " + std::strerror(errno);
  (void)::fchmod(fd, 0600);  // whatever the umask
  ::close(fd);
  return {};
}

}  // namespace

OnlineBackupResult CopyLiveDatabase(const std::string& from, const std::string& to,
                                    const OnlineBackupOptions& options) {
  OnlineBackupResult result;
  // Read-write (never created): a database left by a process that died needs
  // its WAL recovered, which only a connection that may write can do. This
  // one only reads.
  Connection source(from, SQLITE_OPEN_READWRITE);
  if (!source.ok()) {
    result.problem = "cannot open " + from + ": " + source.ErrorText();
    return result;
  }
  // The snapshot: a read transaction begins at its first read and lasts to
  // COMMIT, across every step below.
  if (auto problem = source.Exec("BEGIN; SELECT count(*) FROM sqlite_schema"); !problem.empty()) {
    result.problem = "cannot read " + from + ": " + problem;
    return result;
  }
  if (auto problem = CreateNewFile(to); !problem.empty()) {
    result.problem = problem;
    return result;
  }
  Connection dest(to, SQLITE_OPEN_READWRITE);
  sqlite3_backup* backup = dest.ok() ? sqlite3_backup_init(dest.get(), "main", source.get(), "main") : nullptr;
  if (!backup) {
    result.problem = "cannot start copying into " + to + ": " + dest.ErrorText();
    return result;
  }
  int busy_ms = 0;
  for (;;) {
    int rc = sqlite3_backup_step(backup, options.pages_per_step);
    ++result.steps;
    if (rc == SQLITE_DONE) break;
    if (rc == SQLITE_OK) {
      busy_ms = 0;
      if (options.pause_ms > 0) sqlite3_sleep(options.pause_ms);
      continue;
    }
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
      if (busy_ms >= options.busy_give_up_ms) {
        result.problem = "the database stayed locked for " + std::to_string(busy_ms / 1000) + " s; nothing copied";
        break;
      }
      sqlite3_sleep(kBusyRetryMs);
      busy_ms += kBusyRetryMs;
      continue;
    }
    result.problem = "copying " + from + " failed: " + sqlite3_errstr(rc);
    break;
  }
  result.pages = sqlite3_backup_pagecount(backup);
  int finished = sqlite3_backup_finish(backup);
  if (result.problem.empty() && finished != SQLITE_OK) {
    result.problem = "copying " + from + " failed: " + dest.ErrorText();
  }
  (void)source.Exec("COMMIT");  // it only read: nothing to lose
  std::vector<std::string> page_size;
  std::string ignored;
  if (dest.Column("PRAGMA page_size", page_size, ignored) && !page_size.empty()) {
    result.page_size = std::stoll(page_size.front());
  }
  return result;
}

std::string CheckNatterDatabase(const std::string& path, int* schema_version) {
  // Read-write: a database in WAL mode needs its shared-memory file made.
  Connection db(path, SQLITE_OPEN_READWRITE);
  if (!db.ok()) return "cannot open " + path + ": " + db.ErrorText();
  std::vector<std::string> findings;
  std::string problem;
  if (!db.Column("PRAGMA quick_check", findings, problem)) return "cannot check " + path + ": " + problem;
  if (findings.size() != 1 || findings.front() != "ok") {
    std::string text;
    for (size_t i = 0; i < findings.size() && i < 5; ++i) text += (i ? "; " : "") + findings[i];
    return "the integrity check (PRAGMA quick_check) of " + path + " failed: " + text;
  }
  std::vector<std::string> version;
  if (!db.Column("PRAGMA user_version", version, problem) || version.empty()) {
    return "cannot read the schema version of " + path + ": " + problem;
  }
  int v = std::stoi(version.front());
  if (schema_version) *schema_version = v;
  if (v <= 0) return path + " holds no natterd schema (its user_version is 0): not a natterd database";
  return {};
}

}  // namespace natter::sqlite
