#include "ops/heap_trimmer.h"

#include <malloc.h>

#include <algorithm>
#include <chrono>

#include "ops/log_event.h"

namespace natter::ops {

void KeepBatchMemoryInHeaps() {
  // Setting the trim threshold also fixes the mmap threshold, which glibc
  // otherwise raises as large blocks come and go: 1 MiB keeps the buffers
  // between 128 KiB and that size (a long history page) in the heap too.
  mallopt(M_TRIM_THRESHOLD, 8 << 20);
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
}

HeapTrimmer::HeapTrimmer(const std::atomic<uint64_t>& opened, uint64_t burst, std::function<bool()> trim)
    : opened_(opened), burst_(burst), trim_(std::move(trim)) {
  if (!trim_) trim_ = [] { return malloc_trim(0) != 0; };
  at_trim_ = at_tick_ = opened_.load(std::memory_order_relaxed);
}

void HeapTrimmer::Tick() {
  const uint64_t now = opened_.load(std::memory_order_relaxed);
  // Over: fewer than 1 % of a burst opened since the last call (a busy node
  // always has a few reconnects).
  const bool quiet = now - at_tick_ < std::max<uint64_t>(1, burst_ / 100);
  at_tick_ = now;
  if (!quiet || now - at_trim_ < burst_) return;
  // Each arena is locked while it is walked: a thread allocating in it waits
  // that long (a few milliseconds for tens of megabytes), once per burst.
  auto start = std::chrono::steady_clock::now();
  bool released = trim_();
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
  const auto opened_since = static_cast<int64_t>(now - at_trim_);
  at_trim_ = now;
  ++trims_;
  LogEvent(spdlog::level::info, "heap_trimmed",
           LogFields().Int("connections_opened", opened_since).Bool("released", released).Int("duration_us", us));
}

}  // namespace natter::ops
