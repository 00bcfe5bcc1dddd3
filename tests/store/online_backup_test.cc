// The embedded store's online backup: a copy taken while another connection
// keeps committing finishes, and holds one consistent snapshot.
#include "store/sqlite/online_backup.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "fakes/temp_db.h"
#include "store/sqlite/migrations.h"
#include "store/sqlite/sqlite_db.h"

namespace natter::sqlite {
namespace {

namespace fs = std::filesystem;

int64_t Count(Database& db, const char* sql) {
  auto stmt = db.Prepare(sql);
  auto row = stmt.Step();
  return row.ok() && *row ? stmt.Int(0) : -1;
}

class OnlineBackupTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = natter::testing::MakeTempDir("natter-backup"); }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const char* name) const { return (fs::path(dir_) / name).string(); }

  std::string dir_;
};

TEST_F(OnlineBackupTest, ACopyUnderConstantCommitsFinishesWithOneSnapshot) {
  const std::string source = Path("natter.db");
  {
    Database db(source, false);
    ASSERT_TRUE(db.Exec("PRAGMA page_size=2048; PRAGMA journal_mode=WAL").ok());
    Migrate(db);
    // Each row n is committed after n-1: a snapshot holds exactly 1..count.
    ASSERT_TRUE(db.Exec("CREATE TABLE rows_in_order (n INTEGER PRIMARY KEY, pad BLOB)").ok());
    ASSERT_TRUE(db.Exec("WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < 3000) "
                        "INSERT INTO rows_in_order SELECT n, randomblob(1000) FROM k")
                    .ok());
  }
  std::atomic<bool> stop{false};
  std::atomic<int64_t> committed{3000};
  std::thread writer([&] {
    Database db(source, false);
    (void)db.Exec("PRAGMA synchronous=OFF");
    while (!stop) {
      int64_t n = committed + 1;
      auto insert = db.Prepare("INSERT INTO rows_in_order VALUES (?, randomblob(1000))");
      insert.Bind(1, n);
      if (!insert.Run().ok()) {
        ADD_FAILURE() << "the writer could not commit row " << n;
        committed = INT64_MAX;  // the test goes on, and fails
        return;
      }
      committed = n;
    }
  });
  while (committed < 3100) std::this_thread::yield();  // the writer is under way
  const int64_t before = committed;
  OnlineBackupOptions slow;
  slow.pages_per_step = 16;
  slow.pause_ms = 1;
  auto result = CopyLiveDatabase(source, Path("copy.db"), slow);
  const int64_t after = committed;
  stop = true;
  writer.join();

  ASSERT_EQ(result.problem, "");
  EXPECT_GT(result.steps, 50);                                                 // many steps...
  EXPECT_GT(after - before, 50) << "the writer barely wrote during the copy";  // ...with commits between them
  EXPECT_EQ(result.page_size, 2048);
  int schema = 0;
  EXPECT_EQ(CheckNatterDatabase(Path("copy.db"), &schema), "");
  EXPECT_EQ(schema, LatestSchemaVersion());
  Database copy(Path("copy.db"), true);
  int64_t rows = Count(copy, "SELECT count(*) FROM rows_in_order");
  EXPECT_GE(rows, before);
  EXPECT_LE(rows, after);
  EXPECT_EQ(Count(copy, "SELECT max(n) FROM rows_in_order"), rows);
  EXPECT_EQ(fs::status(Path("copy.db")).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(OnlineBackupTest, WhatIsNotANatterdDatabaseIsRefused) {
  std::ofstream(Path("garbage.db")) << std::string(8192, 'x');
  auto garbage = CopyLiveDatabase(Path("garbage.db"), Path("copy1.db"), {});
  EXPECT_NE(garbage.problem.find("not a database"), std::string::npos) << garbage.problem;
  EXPECT_FALSE(fs::exists(Path("copy1.db")));

  {
    Database other(Path("other.db"), false);
    ASSERT_TRUE(other.Exec("CREATE TABLE t (x)").ok());
  }
  auto copied = CopyLiveDatabase(Path("other.db"), Path("copy2.db"), {});
  ASSERT_EQ(copied.problem, "");
  EXPECT_NE(CheckNatterDatabase(Path("copy2.db"), nullptr).find("not a natterd database"), std::string::npos);

  auto missing = CopyLiveDatabase(Path("missing.db"), Path("copy3.db"), {});
  EXPECT_NE(missing.problem, "");
  EXPECT_FALSE(fs::exists(Path("missing.db")));  // never created
}

TEST_F(OnlineBackupTest, AnExistingDestinationIsNeverWrittenOver) {
  {
    Database db(Path("natter.db"), false);
    Migrate(db);
  }
  std::ofstream(Path("there.db")) << "keep me";
  auto result = CopyLiveDatabase(Path("natter.db"), Path("there.db"), {});
  EXPECT_NE(result.problem.find("cannot create"), std::string::npos) << result.problem;
  std::ifstream in(Path("there.db"));
  std::string text;
  std::getline(in, text);
  EXPECT_EQ(text, "keep me");
}

}  // namespace
}  // namespace natter::sqlite
