#include "auth/key_ring.h"

#include <filesystem>

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cerrno>
#include <cstring>
#include <optional>
#include <set>
#include <stdexcept>

#include "auth/base64url.h"
#include "auth/random_bytes.h"

namespace natter::auth {
namespace {

constexpr size_t kKidRandomBytes = 8;  // 16 hex chars
// A key file holds a handful of keys; anything much larger is not ours.
constexpr off_t kMaxKeyFileBytes = 1 << 20;

std::string ToHex(std::string_view bytes) {
  std::string hex(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  hex.pop_back();  // sodium_bin2hex's terminating NUL
  return hex;
}

[[noreturn]] void Fail(const std::string& path, const std::string& why) {
  throw std::runtime_error("jwt key file " + path + ": " + why);
}

[[noreturn]] void FailErrno(const std::string& path, const std::string& what) {
  Fail(path, what + ": " + std::strerror(errno));
}

// Closes a file descriptor on every exit path.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;
  // Closes now so a failing close() (e.g. a deferred write error) is seen.
  int Close() {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

std::string ReadWholeFile(int fd, const std::string& path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) FailErrno(path, "cannot stat");
  if (!S_ISREG(st.st_mode)) Fail(path, "not a regular file");
  if (st.st_size > kMaxKeyFileBytes) Fail(path, "too large");
  std::string text;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      FailErrno(path, "cannot read");
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
    if (text.size() > static_cast<size_t>(kMaxKeyFileBytes)) {
      Fail(path, "too large");
    }
  }
  return text;
}

std::vector<SigningKey> ParseKeyFile(std::string_view text, const std::string& path) {
  boost::system::error_code ec;
  const boost::json::value root = boost::json::parse(text, ec);
  if (ec) Fail(path, "not valid JSON");
  const boost::json::object* object = root.if_object();
  const boost::json::value* keys_value = object ? object->if_contains("keys") : nullptr;
  const boost::json::array* keys = keys_value ? keys_value->if_array() : nullptr;
  if (keys == nullptr) Fail(path, "expected {\"keys\":[...]}");
  if (keys->empty()) Fail(path, "\"keys\" is empty");

  std::vector<SigningKey> result;
  for (const boost::json::value& entry : *keys) {
    const boost::json::object* key = entry.if_object();
    const boost::json::value* kid = key ? key->if_contains("kid") : nullptr;
    const boost::json::value* secret = key ? key->if_contains("secret") : nullptr;
    if (kid == nullptr || !kid->is_string() || secret == nullptr || !secret->is_string()) {
      Fail(path, "each key needs string \"kid\" and \"secret\"");
    }
    const boost::json::string& secret_text = secret->get_string();
    std::optional<std::string> raw = Base64UrlDecode(std::string_view(secret_text.data(), secret_text.size()));
    if (!raw) Fail(path, "a \"secret\" is not unpadded base64url");
    const boost::json::string& kid_text = kid->get_string();
    result.push_back({std::string(kid_text.data(), kid_text.size()), std::move(*raw)});
  }
  return result;
}

std::string SerializeKeyFile(const std::vector<SigningKey>& keys) {
  boost::json::array array;
  for (const SigningKey& key : keys) {
    array.push_back(boost::json::object{{"kid", key.kid}, {"secret", Base64UrlEncode(key.secret)}});
  }
  boost::json::object root;
  root["keys"] = std::move(array);
  return boost::json::serialize(root) + "\n";
}

void WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      FailErrno(path, "cannot write");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}

// Writes `contents` to `path` so that readers (and a crash at any moment)
// see either no file or the complete file, never a partial one: the data
// goes to a temp file in the same directory, is flushed, then renamed over
// the final name.
void WriteFileAtomically(const std::string& dir, const std::string& path, std::string_view contents) {
  const std::string temp_path = path + ".tmp-" + ToHex(RandomBytes(8));
  // O_EXCL: never reuse or follow a file someone else placed there.
  const int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) FailErrno(temp_path, "cannot create");
  try {
    FdCloser closer(fd);
    // The umask can only have narrowed the mode; set it exactly so the
    // secret is never group- or world-readable and always owner-readable.
    if (::fchmod(fd, 0600) != 0) FailErrno(temp_path, "cannot chmod");
    WriteAll(fd, contents, temp_path);
    if (::fsync(fd) != 0) FailErrno(temp_path, "cannot fsync");
    if (closer.Close() != 0) FailErrno(temp_path, "cannot close");
    if (::rename(temp_path.c_str(), path.c_str()) != 0) {
      FailErrno(path, "cannot rename temp file into place");
    }
  } catch (...) {
    ::unlink(temp_path.c_str());
    throw;
  }
  // Persist the directory entry too; otherwise a crash could lose the file
  // after tokens signed with the new key were handed out. Best effort.
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

}  // namespace

KeyRing::KeyRing(std::vector<SigningKey> keys) : keys_(std::move(keys)) {
  if (keys_.empty()) throw std::invalid_argument("key ring needs a key");
  std::set<std::string_view> seen;
  for (const SigningKey& key : keys_) {
    if (key.kid.empty()) throw std::invalid_argument("empty key id");
    if (!seen.insert(key.kid).second) {
      throw std::invalid_argument("duplicate key id " + key.kid);
    }
    if (key.secret.size() < kSigningKeyBytes) {
      throw std::invalid_argument("signing key " + key.kid + " is too short");
    }
  }
}

const SigningKey& KeyRing::current() const { return keys_.front(); }

const SigningKey* KeyRing::Find(std::string_view kid) const {
  for (const SigningKey& key : keys_) {
    if (key.kid == kid) return &key;
  }
  return nullptr;
}

SigningKey KeyRing::GenerateKey() { return {ToHex(RandomBytes(kKidRandomBytes)), RandomBytes(kSigningKeyBytes)}; }

KeyRing KeyRing::LoadOrCreate(const std::string& dir) { return LoadOrCreateFile(dir + "/" + kKeyRingFileName); }

bool KeyRing::ExistsIn(const std::string& dir) { return std::filesystem::exists(dir + "/" + kKeyRingFileName); }

KeyRing KeyRing::LoadOrCreateFile(const std::string& path) {
  EnsureSodiumInitialized();
  const std::string dir = std::filesystem::path(path).parent_path().string();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno != ENOENT) FailErrno(path, "cannot open");
    std::vector<SigningKey> keys{GenerateKey()};
    WriteFileAtomically(dir, path, SerializeKeyFile(keys));
    return KeyRing(std::move(keys));
  }
  std::string text;
  {
    FdCloser closer(fd);
    text = ReadWholeFile(fd, path);
  }
  std::vector<SigningKey> keys = ParseKeyFile(text, path);
  sodium_memzero(text.data(), text.size());  // the file held secrets
  try {
    return KeyRing(std::move(keys));
  } catch (const std::invalid_argument& e) {
    Fail(path, e.what());
  }
}

}  // namespace natter::auth
