// A migrated SQLite database in a fresh temporary directory, with a
// synchronous transaction over it (both conversation and accounts work): domain tests call use cases directly, with no
// threads and no network.
#pragma once

#include <filesystem>
#include <memory>
#include <random>
#include <string>

#include "common/id_generator.h"
#include "natter/clock.h"
#include "store/sqlite/migrations.h"
#include "store/sqlite/sqlite_txn.h"

namespace natter::testing {

inline std::string MakeTempDir(const std::string& prefix) {
  std::random_device rd;
  auto dir = std::filesystem::temp_directory_path() / (prefix + "-" + std::to_string(rd()) + std::to_string(rd()));
  std::filesystem::create_directories(dir);
  return dir.string();
}

class TempDb {
 public:
  TempDb() : dir_(MakeTempDir("natter-test")), db_(dir_ + "/test.db", false), txn_(db_) {
    sqlite::Migrate(db_);
    // Domain tests check logic, not durability: skip the fsync per statement.
    (void)db_.Exec("PRAGMA synchronous=OFF");
  }
  ~TempDb() { std::filesystem::remove_all(dir_); }

  ConversationTxn& txn() { return txn_; }
  AccountsTxn& accounts() { return txn_; }
  sqlite::Database& db() { return db_; }
  const std::string& dir() const { return dir_; }

  // Inserts a user with a fixed fake hash; returns its id.
  UserId AddUser(const std::string& handle) {
    User u{ids.Next(), handle, "hash", clock.NowMs()};
    if (!txn_.InsertUser(u).ok()) return 0;
    return u.id;
  }

  ManualClock clock{1'800'000'000'000};
  IdGenerator ids{clock, 1};

 private:
  std::string dir_;
  sqlite::Database db_;
  sqlite::SqliteTxn txn_;
};

}  // namespace natter::testing
