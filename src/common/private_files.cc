#include "common/private_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string>
#include <system_error>

namespace natter {

namespace fs = std::filesystem;

bool MakePrivateDirectory(const std::string& dir) {
  fs::path path(dir);
  if (fs::exists(path)) {
    auto perms = fs::status(path).permissions();
    return (perms & (fs::perms::group_all | fs::perms::others_all)) == fs::perms::none;
  }
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  // Made 0700 at once (the umask can only take bits away), never briefly wider.
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    throw fs::filesystem_error("cannot create directory", path, std::error_code(errno, std::generic_category()));
  }
  fs::permissions(path, fs::perms::owner_all, fs::perm_options::replace);
  return true;
}

namespace {

// Makes the file `path_fd` names 0600 if it is a regular file that is not.
// `path_fd` is an O_PATH descriptor: closing a descriptor opened for reading
// or writing would drop every POSIX lock this process holds on the file, and
// SQLite's locks are such locks. Its connections in WAL mode hold one on the
// shared-memory file that tells other processes the index is in use; without
// it, the next process to open the database (natterd backup, the sqlite3
// shell) takes itself for the first, truncates that file under this one's
// mapping (SIGBUS), and may delete the write-ahead log when it closes. An
// O_PATH descriptor is not a lock owner's, and it does not follow a link.
void MakeRegularFilePrivate(int path_fd) {
  struct stat st {};
  if (::fstat(path_fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 07777) == 0600) return;
  // chmod through /proc follows the descriptor to the file itself.
  std::string self = "/proc/self/fd/" + std::to_string(path_fd);
  (void)::chmod(self.c_str(), 0600);
}

void MakeExistingFilePrivate(const std::string& path) {
  int fd = ::open(path.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return;  // absent: nothing to do
  MakeRegularFilePrivate(fd);
  ::close(fd);
}

}  // namespace

void MakePrivateFile(const std::string& path) {
  // A new file is made 0600 at once; nobody can hold a lock on it yet.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd >= 0) {
    (void)::fchmod(fd, 0600);
    ::close(fd);
  } else {
    MakeExistingFilePrivate(path);
  }
  // SQLite creates these with the database file's mode; older ones may not be.
  for (const char* companion : {"-wal", "-shm"}) MakeExistingFilePrivate(path + companion);
}

}  // namespace natter
