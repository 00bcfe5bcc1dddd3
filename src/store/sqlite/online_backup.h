// A consistent copy of the embedded store's database, taken while natterd
// keeps writing to it (`natterd backup`, server/backup_command.h).
//
// SQLite's online backup API copies the pages a step at a time. The source
// connection holds one read transaction for the whole copy, so every step
// reads the same WAL snapshot: the copy is the database as it was when that
// transaction began, and commits made meanwhile neither restart the copy
// (which, restarted at every commit, would never finish under load) nor
// wait for it (WAL readers do not block the writer).
//
// Thread-safety: plain functions; each opens its own connections.
#pragma once

#include <cstdint>
#include <string>

namespace natter::sqlite {

struct OnlineBackupOptions {
  int pages_per_step = 1024;
  // Between steps: the server's own reads and writes get the disk.
  int pause_ms = 10;
  // A copy that finds its files locked this long in a row gives up.
  int busy_give_up_ms = 60000;
};

struct OnlineBackupResult {
  std::string problem;  // empty: copied; otherwise what went wrong, for the operator
  int64_t pages = 0;
  int64_t page_size = 0;
  int steps = 0;
};

// Copies the database at `from` (which must exist; never created) into `to`,
// a file that must not exist yet (created 0600).
OnlineBackupResult CopyLiveDatabase(const std::string& from, const std::string& to, const OnlineBackupOptions& options);

// Whether the database at `path` is a sound natterd database: PRAGMA
// quick_check finds nothing, and its schema was made by natterd (a version
// in user_version). Empty when it is; otherwise what is wrong. Sets
// `schema_version` when it could read it.
std::string CheckNatterDatabase(const std::string& path, int* schema_version);

}  // namespace natter::sqlite
