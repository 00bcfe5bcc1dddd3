// `natterd backup [settings] DEST`: a consistent copy of the embedded store's
// database and of the keys beside it, taken while natterd serves (or not), into
// DEST, a new or empty directory. Restoring is starting natterd with
// --data-dir DEST. Media is not copied (docs/operations.md, "Backups and
// restore"); a cluster's data is in PostgreSQL, which has its own tools.
#pragma once

namespace natter::server {

// Runs the command on the arguments after "backup" (argv[0] is "backup"):
// the server's settings, which find the data directory as natterd does, and
// DEST. Says what it did on stdout, what went wrong on stderr; returns the
// process's exit code (0 done, 1 failed, 2 refused: usage or configuration).
int RunBackupCommand(int argc, char** argv);

}  // namespace natter::server
