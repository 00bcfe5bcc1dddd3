// The ids of the last requests the process took on, for its crash report: a
// small lock-free ring that any thread may record into and a signal handler
// may read.
//
// A hook: natterd's requests carry no server-wide id yet (a WebSocket request's
// id is the client's, unique only on its connection). Code that gives them
// one calls RecordRecentRequest as each starts, and crash reports list the
// newest kRecentRequests; until then they say none was recorded.
#pragma once

#include <cstddef>
#include <cstdint>

namespace natter::ops {

inline constexpr size_t kRecentRequests = 16;

// Thread-safe, lock-free, never allocates.
void RecordRecentRequest(uint64_t id);

// Copies up to `max` ids into `out`, the newest first; how many. Async-signal-
// safe. An id recorded while this reads may show in its slot's older value.
size_t NewestRequests(uint64_t* out, size_t max);

}  // namespace natter::ops
