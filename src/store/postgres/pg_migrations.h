// The PostgreSQL schema, as numbered migrations applied at start on every
// instance. Every instance has every table; which rows live where is the
// partitioning's business (store.h): accounts on the first instance,
// conversations on the instance their id picks.
#pragma once

#include "store/postgres/pg_conn.h"

namespace natter::pg {

int LatestSchemaVersion();

// Brings the instance to the latest version. Several nodes may start at once:
// an advisory lock lets one migrate while the others wait. Throws on failure
// (start-up only).
void Migrate(Connection& conn);

// Records, on first start, that this instance is partition `index` of
// `count`, and refuses (throws) a later start that names it otherwise: the
// count and order decide where every conversation lives, so a changed list
// would look for conversations where they are not.
void CheckLayout(Connection& conn, int index, int count);

}  // namespace natter::pg
