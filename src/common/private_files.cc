#include "common/private_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
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

void MakePrivateFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd >= 0) {
    (void)::fchmod(fd, 0600);
    ::close(fd);
  }
  // SQLite creates these with the database file's mode; older ones may not be.
  // Opened, not chmod-ed by name, so a link planted there is not followed.
  for (const char* companion : {"-wal", "-shm"}) {
    int companion_fd = ::open((path + companion).c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (companion_fd < 0) continue;  // absent (or a link): nothing to do
    (void)::fchmod(companion_fd, 0600);
    ::close(companion_fd);
  }
}

}  // namespace natter
