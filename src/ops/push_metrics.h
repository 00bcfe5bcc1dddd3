// Push delivery metrics, per provider (apns, fcm): what was sent, what failed
// and why (the provider's reason), what was retried, which device tokens were
// pruned, how long providers take, and the queue's depth and age.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "common/mutex.h"
#include "ops/latency_histogram.h"

namespace natter::ops {

class PushMetrics {
 public:
  enum Provider { kApns = 0, kFcm = 1 };
  static Provider ProviderOf(std::string_view platform) { return platform == "apns" ? kApns : kFcm; }

  void Sent(Provider p) { sent_[p].fetch_add(1, std::memory_order_relaxed); }
  void Retried(Provider p) { retried_[p].fetch_add(1, std::memory_order_relaxed); }
  void Pruned(Provider p) { pruned_[p].fetch_add(1, std::memory_order_relaxed); }
  // `reason`: the provider's (Unregistered, QUOTA_EXCEEDED) or ours (timeout).
  void Failed(Provider p, std::string_view reason);
  void Latency(Provider p, int64_t us) { latency_[p].Observe(us); }
  void QueueState(int64_t depth, int64_t oldest_age_ms) {
    queue_depth_.store(depth, std::memory_order_relaxed);
    queue_age_ms_.store(oldest_age_ms, std::memory_order_relaxed);
  }

  uint64_t sent(Provider p) const { return sent_[p].load(std::memory_order_relaxed); }

  void Render(std::string& out) const;

 private:
  // Distinct reasons kept; past it they count as "other" (a provider cannot
  // grow the series without bound).
  static constexpr size_t kMaxReasons = 64;

  std::array<std::atomic<uint64_t>, 2> sent_{};
  std::array<std::atomic<uint64_t>, 2> retried_{};
  std::array<std::atomic<uint64_t>, 2> pruned_{};
  std::array<LatencyHistogram, 2> latency_{};
  std::atomic<int64_t> queue_depth_{0};
  std::atomic<int64_t> queue_age_ms_{0};
  mutable Mutex mu_;
  std::map<std::pair<int, std::string>, uint64_t> failed_ GUARDED_BY(mu_);
};

}  // namespace natter::ops
