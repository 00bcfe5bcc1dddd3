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

}  // namespace

WalFile::WalFile(const std::string& database_path)
    : path_(database_path + "-wal"), directory_(DirectoryOf(database_path).string()) {
  if (!Open()) throw std::runtime_error("cannot open the write-ahead log " + path_ + ": " + std::strerror(errno));
}

WalFile::~WalFile() {
  if (fd_ >= 0) ::close(fd_);
}

bool WalFile::Open() {
  int fd = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return false;
  }
  // SQLite made the file; its name must survive a power loss as well as what
  // is written to it.
  int dir = ::open(directory_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  bool dir_synced = dir >= 0 && ::fsync(dir) == 0;
  if (dir >= 0) ::close(dir);
  if (!dir_synced) {
    ::close(fd);
    return false;
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  device_ = st.st_dev;
  inode_ = st.st_ino;
  return true;
}

bool WalFile::Sync() {
  // SQLite deletes the log and makes a new one only when its last connection
  // closes, which the store's never do while it runs; should the name ever
  // point at another file, that file is the log now.
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0 || st.st_dev != device_ || st.st_ino != inode_) {
    if (!Open()) {
      spdlog::critical("store: cannot open the write-ahead log {} to sync it: {}", path_, std::strerror(errno));
      return false;
    }
  }
  if (::fdatasync(fd_) != 0) {
    spdlog::critical("store: syncing the write-ahead log {} failed: {}", path_, std::strerror(errno));
    return false;
  }
  return true;
}

}  // namespace natter::sqlite
