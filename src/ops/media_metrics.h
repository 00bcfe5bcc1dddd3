// Media metrics: what became of uploads (ready, refused, failed to be tried
// again), the bytes processed and served, how long processing takes, the
// depth of the media pools' queues and the work they turned away, and the
// storage calls that failed.
//
// Thread-safety: lock-free; every method may be called from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "ops/latency_histogram.h"

namespace natter::ops {

class MediaMetrics {
 public:
  enum Outcome { kReady = 0, kRefused = 1, kFailed = 2 };
  // The media service's pools: `media-io` (files, object store calls) and
  // `media` (processing).
  enum Pool { kIo = 0, kWork = 1 };

  void Uploaded(Outcome o, int64_t bytes) {
    outcomes_[o].fetch_add(1, std::memory_order_relaxed);
    if (o == kReady) processed_bytes_.fetch_add(static_cast<uint64_t>(bytes), std::memory_order_relaxed);
  }
  void Processing(int64_t us) { processing_.Observe(us); }
  void Served(size_t bytes) { served_bytes_.fetch_add(bytes, std::memory_order_relaxed); }
  void Queued(Pool p, size_t depth) { queued_[p].store(depth, std::memory_order_relaxed); }
  void Rejected(Pool p) { rejected_[p].fetch_add(1, std::memory_order_relaxed); }
  void StoreError() { store_errors_.fetch_add(1, std::memory_order_relaxed); }
  void ObjectDeleted() { objects_deleted_.fetch_add(1, std::memory_order_relaxed); }

  uint64_t rejected(Pool p) const { return rejected_[p].load(std::memory_order_relaxed); }
  uint64_t uploads(Outcome o) const { return outcomes_[o].load(std::memory_order_relaxed); }

  void Render(std::string& out) const;

 private:
  std::array<std::atomic<uint64_t>, 3> outcomes_{};
  std::atomic<uint64_t> processed_bytes_{0};
  std::atomic<uint64_t> served_bytes_{0};
  LatencyHistogram processing_;
  std::array<std::atomic<size_t>, 2> queued_{};
  std::array<std::atomic<uint64_t>, 2> rejected_{};
  std::atomic<uint64_t> store_errors_{0};
  std::atomic<uint64_t> objects_deleted_{0};
};

}  // namespace natter::ops
