// What natterd keeps in its data directory (--data-dir), named once for the
// server that uses it and for `natterd backup`, which copies part of it.
// The signing keys' file is auth::kKeyRingFileName; the lock only one
// natterd holds, DataDirLock::kFileName (common/data_dir_lock.h).
#pragma once

namespace natter::server {

inline constexpr char kDatabaseFile[] = "natter.db";         // the embedded store (SQLite, WAL)
inline constexpr char kMediaUrlKeyFile[] = "media-url.key";  // signs media download URLs
inline constexpr char kMediaDir[] = "media";                 // local media: uploads and objects
inline constexpr char kCrashDir[] = "crash";                 // crash reports (ops/crash_report.h)

}  // namespace natter::server
