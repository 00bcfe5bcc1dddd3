// Versioned schema for the SQLite store, applied at start-up. The version lives
// in PRAGMA user_version; each migration runs once, in its own transaction.
#pragma once

#include "store/sqlite/sqlite_db.h"

namespace natter::sqlite {

// Applies every migration newer than the database's version. Throws on failure
// (start-up only).
void Migrate(Database& db);
int LatestSchemaVersion();

}  // namespace natter::sqlite
