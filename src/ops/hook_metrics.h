// Metrics of the operator's hooks (docs/webhooks.md). Webhooks: what the
// operator's URL took, what it refused or never answered (by kind), what was
// given up, how long it takes, and the queue's depth and the age of its
// oldest event. The pre-send hook: its verdicts, how often it gave no usable
// answer (the default applied), and how long it takes.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "ops/latency_histogram.h"

namespace natter::ops {

class WebhookMetrics {
 public:
  // Why a delivery failed: the receiver answered 4xx, 5xx, another status
  // (a redirect is not followed), or not at all; or the event could not be read.
  enum Failure { kClientError = 0, kServerError = 1, kOtherStatus = 2, kNoAnswer = 3, kUnreadable = 4 };
  static Failure FailureOf(int http_status) {
    if (http_status == 0) return kNoAnswer;
    if (http_status >= 500 && http_status < 600) return kServerError;
    if (http_status >= 400 && http_status < 500) return kClientError;
    return kOtherStatus;
  }

  void Delivered() { delivered_.fetch_add(1, std::memory_order_relaxed); }
  void Failed(Failure f) { failed_[f].fetch_add(1, std::memory_order_relaxed); }
  void Dropped() { dropped_.fetch_add(1, std::memory_order_relaxed); }
  void Latency(int64_t us) { latency_.Observe(us); }
  void QueueState(int64_t depth, int64_t oldest_age_ms) {
    queue_depth_.store(depth, std::memory_order_relaxed);
    queue_age_ms_.store(oldest_age_ms, std::memory_order_relaxed);
  }

  void Render(std::string& out) const;

 private:
  std::atomic<uint64_t> delivered_{0};
  std::array<std::atomic<uint64_t>, 5> failed_{};
  std::atomic<uint64_t> dropped_{0};
  LatencyHistogram latency_;
  std::atomic<int64_t> queue_depth_{0};
  std::atomic<int64_t> queue_age_ms_{0};
};

class PresendMetrics {
 public:
  enum Verdict { kAccepted = 0, kRewritten = 1, kRejected = 2, kFailed = 3 };

  void Checked(Verdict v) { checks_[v].fetch_add(1, std::memory_order_relaxed); }
  void Latency(int64_t us) { latency_.Observe(us); }
  uint64_t checks(Verdict v) const { return checks_[v].load(std::memory_order_relaxed); }

  void Render(std::string& out) const;

 private:
  std::array<std::atomic<uint64_t>, 4> checks_{};
  LatencyHistogram latency_;
};

}  // namespace natter::ops
