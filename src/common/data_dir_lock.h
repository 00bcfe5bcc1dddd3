// One natterd per data directory. Two processes on the same embedded
// database would each take the other's work for a dead process's (claims
// released at start, jobs sent twice) and race each other's files; the
// second is refused at start instead. An advisory lock (flock) on a file in
// the directory, held while the process lives: the kernel drops it when the
// process ends, however it ends, so a crash never leaves it behind.
// `natterd backup` only reads and does not take it.
//
// Thread-safety: an object owned by one thread.
#pragma once

#include <string>

namespace natter {

class DataDirLock {
 public:
  // Throws std::runtime_error naming the directory when another process
  // holds it (or the lock file cannot be made).
  explicit DataDirLock(const std::string& dir);
  ~DataDirLock();
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;

  static constexpr const char* kFileName = "natterd.lock";

 private:
  int fd_ = -1;
};

}  // namespace natter
