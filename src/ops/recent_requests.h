// The ids of the last requests the process took on, for its crash report: a
// small lock-free ring that any thread may record into and a signal handler
// may read.
//
// Every API request records its id (common/request_id.h) as it starts
// (Dispatcher::Call); a crash report lists the newest kRecentRequests, which
// the log's request_id finds.
#pragma once

#include "common/request_id.h"

#include <cstddef>
#include <cstdint>

namespace natter::ops {

inline constexpr size_t kRecentRequests = 16;

// Thread-safe, lock-free, never allocates.
void RecordRecentRequest(RequestId id);

// Copies up to `max` ids into `out`, the newest first; how many. Async-signal-
// safe. An id recorded while this reads may show in its slot's older value
// (or half of each: the two halves are stored apart).
size_t NewestRequests(RequestId* out, size_t max);

}  // namespace natter::ops
