#include "server/backup_command.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "auth/key_ring.h"
#include "common/private_files.h"
#include "server/config.h"
#include "server/data_files.h"
#include "store/sqlite/online_backup.h"

namespace natter::server {
namespace {

namespace fs = std::filesystem;

// The key files are small; anything much larger is not one.
constexpr size_t kMaxKeyFileBytes = 16 << 20;

struct BackupArgs {
  std::string dest;
  sqlite::OnlineBackupOptions pace;
};

int Refuse(const std::string& why, int code) {
  std::cerr << "natterd backup: " << why << "\n";
  return code;
}

// Empty when DEST may receive a backup (missing, or an empty directory);
// otherwise why not. `exists` says which.
std::string CheckDestination(const fs::path& dest, bool& exists) {
  std::error_code ec;
  auto status = fs::status(dest, ec);
  exists = fs::exists(status);
  if (!exists) return {};
  if (!fs::is_directory(status)) return dest.string() + " exists and is not a directory";
  if (!fs::is_empty(dest, ec) || ec) {
    return dest.string() + " is not empty: a backup goes into a new or empty directory, never over another";
  }
  return {};
}

// What this run wrote into DEST, removed again unless the backup is whole:
// a half-made copy must not look like one that can be restored.
class PartialBackup {
 public:
  PartialBackup(fs::path dest, bool made_dest) : dest_(std::move(dest)), made_dest_(made_dest) {}
  ~PartialBackup() {
    if (kept_) return;
    std::error_code ec;
    for (const auto& name : written_) {
      for (const char* suffix : {"", "-journal", "-wal", "-shm"}) fs::remove(dest_ / (name + suffix), ec);
    }
    if (made_dest_) fs::remove(dest_, ec);
    std::cerr << "natterd backup: nothing kept in " << dest_.string() << "\n";
  }
  PartialBackup(const PartialBackup&) = delete;
  PartialBackup& operator=(const PartialBackup&) = delete;

  // Before writing it: so it goes if what follows fails.
  fs::path Writing(const std::string& name) {
    written_.push_back(name);
    return dest_ / name;
  }
  void Keep() { kept_ = true; }

 private:
  fs::path dest_;
  bool made_dest_;
  std::vector<std::string> written_;
  bool kept_ = false;
};

std::string ErrnoText(const std::string& what, const fs::path& path) {
  return what + " " + path.string() + ": " + std::strerror(errno);
}

// Copies the small file `from` into `to` (new, 0600) and flushes it to disk.
// The server replaces its key files by rename, so one read sees one version.
std::string CopySmallFile(const fs::path& from, const fs::path& to) {
  int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return ErrnoText("cannot open", from);
  std::string bytes;
  char buffer[8192];
  ssize_t n = 0;
  while ((n = ::read(in, buffer, sizeof buffer)) > 0 && bytes.size() <= kMaxKeyFileBytes) bytes.append(buffer, n);
  int read_errno = errno;
  ::close(in);
  if (n < 0) return "cannot read " + from.string() + ": " + std::strerror(read_errno);
  if (bytes.size() > kMaxKeyFileBytes) return from.string() + " is too large to be a key file";
  int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (out < 0) return ErrnoText("cannot create", to);
  (void)::fchmod(out, 0600);  // whatever the umask
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t w = ::write(out, bytes.data() + done, bytes.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) break;
    done += static_cast<size_t>(w);
  }
  bool ok = done == bytes.size() && ::fsync(out) == 0;
  int write_errno = errno;
  ::close(out);
  if (!ok) return "cannot write " + to.string() + ": " + std::strerror(write_errno);
  return {};
}

// The new names in DEST reach the disk too, not only the files' contents.
std::string SyncDirectory(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoText("cannot open", dir);
  bool ok = ::fsync(fd) == 0;
  int sync_errno = errno;
  ::close(fd);
  if (!ok) return "cannot flush " + dir.string() + ": " + std::strerror(sync_errno);
  return {};
}

// The backup's own options beside the server's settings.
void DeclareBackupOptions(CLI::App& app, BackupArgs& args) {
  app.description(
      "natterd backup: copies the database and the keys of a data directory into DEST (a new or empty\n"
      "directory) while natterd runs, or while it does not. Restore: stop natterd, start it with\n"
      "--data-dir DEST. Media (<data-dir>/media) is not copied. The settings find the data directory\n"
      "as natterd does (--data-dir, --config, NATTER_DATA_DIR; --jwt-keys); the others are ignored.");
  app.add_option("DEST", args.dest, "Where the backup goes: a new or empty directory")->required();
  app.add_option("--pages-per-step", args.pace.pages_per_step, "Database pages copied at a time")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--step-pause-ms", args.pace.pause_ms, "Pause between steps, leaving the disk to the server")
      ->capture_default_str()
      ->check(CLI::Range(0, 10000));
}

}  // namespace

int RunBackupCommand(int argc, char** argv) {
  // CLI11 names the program after argv[0] in its usage line.
  std::vector<std::string> words{"natterd backup"};
  for (int i = 1; i < argc; ++i) words.emplace_back(argv[i]);
  std::vector<char*> args_v;
  for (auto& w : words) args_v.push_back(w.data());

  BackupArgs args;
  int exit_code = 0;
  auto config = LoadConfig(static_cast<int>(args_v.size()), args_v.data(), exit_code,
                           [&args](CLI::App& app) { DeclareBackupOptions(app, args); });
  if (!config) return exit_code == 0 ? 0 : 2;  // --help, or what CLI11 refused
  if (!config->postgres.empty()) {
    return Refuse(
        "this configuration keeps its data in PostgreSQL (--postgres), which natterd backup does not copy: "
        "back up each instance with pg_dump, or with base backups and WAL archiving, together with the signing "
        "keys file and the media store (docs/operations.md, \"Backups and restore\")",
        2);
  }

  const fs::path data(config->data_dir);
  const fs::path db = data / kDatabaseFile;
  std::error_code ec;
  if (!fs::is_directory(data, ec)) return Refuse("no data directory at " + data.string() + " (--data-dir)", 1);
  if (!fs::is_regular_file(db, ec)) {
    return Refuse(data.string() + " holds no " + kDatabaseFile +
                      ": not a natterd data directory, or its database is missing (is --data-dir right?)",
                  1);
  }
  const fs::path dest(args.dest);
  bool dest_exists = false;
  if (auto problem = CheckDestination(dest, dest_exists); !problem.empty()) return Refuse(problem, 2);
  try {
    if (dest_exists) {
      fs::permissions(dest, fs::perms::owner_all, fs::perm_options::replace);
    } else {
      MakePrivateDirectory(dest.string());
    }
  } catch (const fs::filesystem_error& e) {
    return Refuse(std::string("cannot make ") + dest.string() + ": " + e.code().message(), 1);
  }
  PartialBackup partial(dest, !dest_exists);

  auto started = std::chrono::steady_clock::now();
  const fs::path db_copy = partial.Writing(kDatabaseFile);
  auto copied = sqlite::CopyLiveDatabase(db.string(), db_copy.string(), args.pace);
  if (!copied.problem.empty()) return Refuse(copied.problem, 1);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  int schema = 0;
  if (auto problem = sqlite::CheckNatterDatabase(db_copy.string(), &schema); !problem.empty()) {
    return Refuse(problem, 1);
  }
  std::cout << "natterd backup: copied " << db.string() << " into " << db_copy.string() << " (" << copied.pages
            << " pages of " << copied.page_size << " bytes, schema version " << schema << ") in " << ms.count()
            << " ms; its integrity check found nothing wrong\n";

  // The keys: tokens issued before the backup stay valid after a restore,
  // and natterd refuses a data directory whose keys have no database (or
  // would make new keys for one without).
  const fs::path keys = config->jwt_keys.empty() ? data / auth::kKeyRingFileName : fs::path(config->jwt_keys);
  if (fs::exists(keys, ec)) {
    if (auto problem = CopySmallFile(keys, partial.Writing(auth::kKeyRingFileName)); !problem.empty()) {
      return Refuse(problem, 1);
    }
    std::cout << "natterd backup: copied the signing keys " << keys.string() << "\n";
  } else {
    std::cerr << "natterd backup: warning: no signing keys at " << keys.string()
              << ": natterd makes new ones at restore, and everyone logs in again\n";
  }
  const fs::path url_key = data / kMediaUrlKeyFile;
  if (fs::exists(url_key, ec)) {
    if (auto problem = CopySmallFile(url_key, partial.Writing(kMediaUrlKeyFile)); !problem.empty()) {
      return Refuse(problem, 1);
    }
  }
  if (auto problem = SyncDirectory(dest); !problem.empty()) return Refuse(problem, 1);
  partial.Keep();

  if (fs::exists(data / kMediaDir, ec)) {
    std::cout << "natterd backup: media in " << (data / kMediaDir).string()
              << " is not copied: copy it now, after this backup (e.g. rsync -a " << (data / kMediaDir).string() << "/ "
              << (dest / kMediaDir).string() << "/)\n";
  }
  std::cout << "natterd backup: done. To restore: stop natterd, start it with --data-dir " << dest.string() << "\n";
  return 0;
}

}  // namespace natter::server
