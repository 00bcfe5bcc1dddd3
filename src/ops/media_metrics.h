// Media metrics: what became of each processing of an upload (ready,
// refused, failed to be tried again), the bytes processed and served, how
// long processing takes, the depth of the media pools' queues and the work
// they turned away, and the storage calls that failed.
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

  // One processing of an upload ended so; `bytes`: the upload's, when ready.
  void Processed(Outcome o, int64_t bytes = 0) {
    outcomes_[o].fetch_add(1, std::memory_order_relaxed);
    if (o == kReady) processed_bytes_.fetch_add(static_cast<uint64_t>(bytes), std::memory_order_relaxed);
  }
  void ProcessingTime(int64_t us) { processing_.Observe(us); }
  void Served(size_t bytes) { served_bytes_.fetch_add(bytes, std::memory_order_relaxed); }
  // A task is about to be queued on `p` (Enqueued), was turned away
  // (Rejected, which takes it back), or left the queue for a thread (Started).
  void Enqueued(Pool p) { queued_[p].fetch_add(1, std::memory_order_relaxed); }
  void Rejected(Pool p) {
    queued_[p].fetch_sub(1, std::memory_order_relaxed);
    rejected_[p].fetch_add(1, std::memory_order_relaxed);
  }
  void Started(Pool p) { queued_[p].fetch_sub(1, std::memory_order_relaxed); }
  void StoreError() { store_errors_.fetch_add(1, std::memory_order_relaxed); }
  void ObjectDeleted() { objects_deleted_.fetch_add(1, std::memory_order_relaxed); }

  void Render(std::string& out) const;

 private:
  static constexpr std::array<int64_t, 13> kProcessingBoundsUs = {
      10'000,    25'000,    50'000,     100'000,    250'000,    500'000,    1'000'000,
      2'500'000, 5'000'000, 10'000'000, 30'000'000, 60'000'000, 300'000'000};

  std::array<std::atomic<uint64_t>, 3> outcomes_{};
  std::atomic<uint64_t> processed_bytes_{0};
  std::atomic<uint64_t> served_bytes_{0};
  LatencyHistogram processing_{kProcessingBoundsUs};
  // Tasks dropped unrun at a stop are never taken back: the process ends.
  std::array<std::atomic<int64_t>, 2> queued_{};
  std::array<std::atomic<uint64_t>, 2> rejected_{};
  std::atomic<uint64_t> store_errors_{0};
  std::atomic<uint64_t> objects_deleted_{0};
};

}  // namespace natter::ops
