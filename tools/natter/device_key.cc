#include "device_key.h"

#include <errno.h>
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
  for (int attempt = 0; attempt < 2; ++attempt) {
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
    // Written whole under another name, then linked into place: a run
    // starting at the same moment reads the whole key or none, and the
    // first link wins (the other reads it on its next pass).
    std::string tmp = path + ".new." + std::to_string(::getpid());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) throw std::runtime_error("cannot write " + tmp);
    bool written = ::write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size()) && ::fsync(fd) == 0;
    ::close(fd);
    int linked = written ? ::link(tmp.c_str(), path.c_str()) : -1;
    int link_error = errno;
    ::unlink(tmp.c_str());
    if (!written) throw std::runtime_error("cannot write " + tmp);
    if (linked == 0) return key;
    if (link_error != EEXIST) throw std::runtime_error("cannot make " + path);
  }
  throw std::runtime_error("cannot read " + path);
}

}  // namespace natter::cli
