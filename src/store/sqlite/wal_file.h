// The embedded store's write-ahead log file, opened a second time beside
// SQLite's own handle, so that a thread other than the writer can make what
// was written to it durable (WalSyncer).
//
// Thread-safety: one thread uses a WalFile.
#pragma once

#include <sys/types.h>

#include <string>

namespace natter::sqlite {

class WalFile {
 public:
  // Opens the log of the database at `database_path` (SQLite has made it)
  // and makes its directory entry durable. Throws std::runtime_error when it
  // cannot.
  explicit WalFile(const std::string& database_path);
  ~WalFile();
  WalFile(const WalFile&) = delete;
  WalFile& operator=(const WalFile&) = delete;

  // Makes everything written to the log so far durable (fdatasync); false,
  // with the reason logged, when it could not, or when the log's name no
  // longer names the file opened.
  bool Sync();

 private:
  std::string path_;
  int fd_ = -1;
  dev_t device_ = 0;
  ino_t inode_ = 0;
};

}  // namespace natter::sqlite
