// The file work media needs, as plain blocking calls for media threads:
// appending an upload's next bytes where it left off, syncing, hashing,
// reading a head or a slice.
// Thread-safety: plain functions; callers keep one writer per file.
#pragma once

#include <cstdint>
#include <string>

#include "natter/status.h"

namespace natter::media {

// The file's size; 0 when it does not exist.
Result<int64_t> FileSize(const std::string& path);
// Appends `bytes` when the file holds exactly `offset` bytes (creating it at
// 0); Conflict otherwise. Returns the new size.
Result<int64_t> AppendAt(const std::string& path, int64_t offset, std::string_view bytes);
Status SyncFile(const std::string& path);
// Hex SHA-256 of the whole file.
Result<std::string> Sha256OfFile(const std::string& path);
// Up to `max` bytes from `offset`.
Result<std::string> ReadSlice(const std::string& path, int64_t offset, size_t max);
// Writes `bytes` to `path` through a temporary file, synced, then renamed.
Status WriteFileAtomically(const std::string& path, std::string_view bytes);

}  // namespace natter::media
