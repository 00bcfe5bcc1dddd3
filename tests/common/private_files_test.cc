#include "common/private_files.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "fakes/temp_db.h"

namespace natter {
namespace {

namespace fs = std::filesystem;

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

// Whether this process holds a POSIX lock on the file at `path` (/proc/locks).
bool HoldsLockOn(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return false;
  std::string owner = " " + std::to_string(::getpid()) + " ";
  std::string inode = ":" + std::to_string(st.st_ino) + " ";
  std::ifstream locks("/proc/locks");
  for (std::string line; std::getline(locks, line);) {
    if (line.find(owner) != std::string::npos && line.find(inode) != std::string::npos) return true;
  }
  return false;
}

class PrivateFilesTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = natter::testing::MakeTempDir("natter-private"); }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const char* name) const { return (fs::path(dir_) / name).string(); }

  std::string dir_;
};

TEST_F(PrivateFilesTest, MakesNewAndExistingFilesAndCompanionsPrivate) {
  MakePrivateFile(Path("new.db"));
  EXPECT_EQ(ModeOf(Path("new.db")), 0600u);
  EXPECT_FALSE(fs::exists(Path("new.db-wal")));  // companions are not made

  std::ofstream(Path("old.db")) << "x";
  std::ofstream(Path("old.db-shm")) << "x";
  ::chmod(Path("old.db").c_str(), 0644);
  ::chmod(Path("old.db-shm").c_str(), 0666);
  MakePrivateFile(Path("old.db"));
  EXPECT_EQ(ModeOf(Path("old.db")), 0600u);
  EXPECT_EQ(ModeOf(Path("old.db-shm")), 0600u);
}

TEST_F(PrivateFilesTest, ALinkIsNotFollowed) {
  std::ofstream(Path("elsewhere")) << "x";
  ::chmod(Path("elsewhere").c_str(), 0644);
  fs::create_symlink(Path("elsewhere"), Path("linked.db"));
  fs::create_symlink(Path("elsewhere"), Path("linked.db-wal"));
  MakePrivateFile(Path("linked.db"));
  EXPECT_EQ(ModeOf(Path("elsewhere")), 0644u);
}

// SQLite's connections in this process hold POSIX locks on the database and
// its shared-memory file; closing any other descriptor of those files would
// drop them (and let another process truncate the index under natterd).
TEST_F(PrivateFilesTest, LocksThisProcessHoldsOnTheFilesStay) {
  for (const char* name : {"locked.db", "locked.db-shm"}) {
    std::ofstream(Path(name)) << std::string(256, '\0');
    ::chmod(Path(name).c_str(), 0644);
  }
  int db = ::open(Path("locked.db").c_str(), O_RDWR | O_CLOEXEC);
  int shm = ::open(Path("locked.db-shm").c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(db, 0);
  ASSERT_GE(shm, 0);
  struct flock lock {};
  lock.l_type = F_RDLCK;
  lock.l_whence = SEEK_SET;
  lock.l_start = 128;
  lock.l_len = 1;
  ASSERT_EQ(::fcntl(db, F_SETLK, &lock), 0);
  ASSERT_EQ(::fcntl(shm, F_SETLK, &lock), 0);
  ASSERT_TRUE(HoldsLockOn(Path("locked.db")));
  ASSERT_TRUE(HoldsLockOn(Path("locked.db-shm")));

  MakePrivateFile(Path("locked.db"));
  EXPECT_EQ(ModeOf(Path("locked.db")), 0600u);
  EXPECT_EQ(ModeOf(Path("locked.db-shm")), 0600u);
  EXPECT_TRUE(HoldsLockOn(Path("locked.db")));
  EXPECT_TRUE(HoldsLockOn(Path("locked.db-shm")));
  ::close(db);
  ::close(shm);
}

}  // namespace
}  // namespace natter
