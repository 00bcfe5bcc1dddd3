#include "device_key.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "common/private_files.h"

namespace natter::cli {

std::string ProfileDeviceKey(const std::string& profile_directory) {
  (void)MakePrivateDirectory(profile_directory);  // as libnatter makes it: the key is in it
  std::string path = (std::filesystem::path(profile_directory) / "device.key").string();
  std::ifstream in(path, std::ios::binary);
  if (in) {
    std::string key((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (key.size() != 32) throw std::runtime_error(path + " is not a 32-byte key");
    return key;
  }
  std::string key(32, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size())) != 1) {
    throw std::runtime_error("no random bytes for a device key");
  }
  // O_EXCL: two runs starting at once do not each write their own.
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return ProfileDeviceKey(profile_directory);  // made meanwhile: read it
  bool written = ::write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!written) throw std::runtime_error("cannot write " + path);
  return key;
}

}  // namespace natter::cli
