// Files only their owner may read: natterd's database holds password hashes
// and sessions, a client's holds its tokens. Made so whatever the umask of
// the shell that started the process.
// Thread-safety: plain functions over the file system.
#pragma once

#include <string>

namespace natter {

// Creates `dir` (and missing parents) with mode 0700 where it creates it.
// Returns false when `dir` already existed and others may read or enter it
// (the caller says so; an existing directory may be shared on purpose, so it
// is left as it is). Throws std::filesystem::filesystem_error like
// create_directories.
bool MakePrivateDirectory(const std::string& dir);

// Creates `path` empty with mode 0600 if it is missing, or takes its group
// and other permissions away if it exists; the same for the SQLite companions
// `path`-wal and `path`-shm where they exist. Links are not followed. An
// existing file is never opened for reading or writing, so the POSIX locks
// SQLite connections of this process hold on it stay (a close would drop
// them): safe to call while the database is open. Errors are left to
// whoever opens the file next.
void MakePrivateFile(const std::string& path);

}  // namespace natter
