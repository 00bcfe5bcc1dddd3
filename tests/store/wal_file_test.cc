// The write-ahead log file the embedded store's syncer syncs: it must be the
// file SQLite writes to, so a log that was deleted or replaced under it is a
// failed sync, never a sync of some other file.
#include "store/sqlite/wal_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "fakes/temp_db.h"

namespace natter::sqlite {
namespace {

class WalFileTest : public ::testing::Test {
 protected:
  void TearDown() override { std::filesystem::remove_all(dir); }
  void Write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

  std::string dir = testing::MakeTempDir("natter-wal-file");
  std::string db = dir + "/natter.db";
};

TEST_F(WalFileTest, SyncsTheLogItOpened) {
  Write(db + "-wal", "frames");
  WalFile wal(db);
  EXPECT_TRUE(wal.Sync());
  Write(db + "-wal", "more frames");  // the same file, written again
  EXPECT_TRUE(wal.Sync());
}

TEST_F(WalFileTest, ALogThatDoesNotExistCannotBeOpened) { EXPECT_THROW(WalFile wal(db), std::runtime_error); }

TEST_F(WalFileTest, ALogReplacedUnderItIsAFailedSync) {
  Write(db + "-wal", "frames");
  WalFile wal(db);
  Write(dir + "/other", "another file");
  std::filesystem::rename(dir + "/other", db + "-wal");
  EXPECT_FALSE(wal.Sync());
}

TEST_F(WalFileTest, ALogDeletedUnderItIsAFailedSync) {
  Write(db + "-wal", "frames");
  WalFile wal(db);
  std::filesystem::remove(db + "-wal");
  EXPECT_FALSE(wal.Sync());
}

}  // namespace
}  // namespace natter::sqlite
