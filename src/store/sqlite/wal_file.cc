#include "store/sqlite/wal_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include <spdlog/spdlog.h>

namespace natter::sqlite {
namespace {

std::filesystem::path DirectoryOf(const std::string& file) {
  auto parent = std::filesystem::path(file).parent_path();
  return parent.empty() ? std::filesystem::path(".") : parent;
}

// The directory entry of a file SQLite made must survive a power loss as
// well as what is written to the file.
bool SyncDirectory(const std::string& directory) {
  int dir = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return false;
  bool synced = ::fsync(dir) == 0;
  int error = errno;
  ::close(dir);
  errno = error;
  return synced;
}

}  // namespace

WalFile::WalFile(const std::string& database_path) : path_(database_path + "-wal") {
  fd_ = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
  struct stat st {};
  if (fd_ < 0 || ::fstat(fd_, &st) != 0 || !SyncDirectory(DirectoryOf(database_path).string())) {
    int error = errno;
    if (fd_ >= 0) ::close(fd_);
    throw std::runtime_error("cannot open the write-ahead log " + path_ + ": " + std::strerror(error));
  }
  device_ = st.st_dev;
  inode_ = st.st_ino;
}

WalFile::~WalFile() { ::close(fd_); }

bool WalFile::Sync() {
  if (::fdatasync(fd_) != 0) {
    spdlog::critical("store: syncing the write-ahead log {} failed: {}", path_, std::strerror(errno));
    return false;
  }
  // SQLite deletes the log and makes a new one only when its last connection
  // closes, which the store's never do while it runs. A name that points at
  // another file was replaced from outside: SQLite goes on writing to the
  // file it has open, which no restart will read, so nothing is durable.
  // Checked after the sync, so a replacement while it ran counts too.
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0 || st.st_dev != device_ || st.st_ino != inode_) {
    spdlog::critical("store: the write-ahead log {} was deleted or replaced while open", path_);
    return false;
  }
  return true;
}

}  // namespace natter::sqlite
