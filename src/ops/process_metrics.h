// The process's own series, with the names Prometheus client libraries use:
// process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_open_fds, process_max_fds,
// process_threads and process_start_time_seconds. Read from /proc at each
// scrape (procfs lives in memory: no disk is touched).
//
// Thread-safety: RenderProcessMetrics may be called from any thread.
#pragma once

#include <string>

namespace natter::ops {

void RenderProcessMetrics(std::string& out);

}  // namespace natter::ops
