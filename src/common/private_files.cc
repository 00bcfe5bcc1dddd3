#include "common/private_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

namespace natter {

namespace fs = std::filesystem;

bool MakePrivateDirectory(const std::string& dir) {
  fs::path path(dir);
  if (fs::exists(path)) {
    auto perms = fs::status(path).permissions();
    return (perms & (fs::perms::group_all | fs::perms::others_all)) == fs::perms::none;
  }
  fs::create_directories(path);
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
  for (const char* companion : {"-wal", "-shm"}) (void)::chmod((path + companion).c_str(), 0600);
}

}  // namespace natter
