// Process-wide counters and a latency histogram, rendered in the Prometheus
// text format at /metrics. Lock-free: every method may be called from any
// thread, and updates are relaxed atomics (a scrape may see them a moment late).
#pragma once

#include <functional>

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ops/hook_metrics.h"
#include "ops/latency_histogram.h"
#include "ops/media_metrics.h"
#include "ops/process_metrics.h"
#include "ops/push_metrics.h"
#include "ops/request_metrics.h"

namespace natter::ops {

// Which limit refused a request (natter_rate_limited_total{limit}).
enum class RateLimit { kConnection, kAddress, kTyping, kHttp, kCount };

struct Metrics {
  std::atomic<int64_t> connections{0};                // open WebSocket connections
  std::atomic<int64_t> connections_authenticated{0};  // of which authenticated
  std::atomic<uint64_t> connections_total{0};
  std::atomic<uint64_t> http_requests{0};
  std::atomic<uint64_t> messages_accepted{0};   // committed and acknowledged
  std::atomic<uint64_t> messages_duplicate{0};  // retries answered from the store
  std::atomic<uint64_t> messages_delivered{0};  // frames queued to recipient connections
  std::atomic<uint64_t> deliveries_dropped{0};  // frames dropped for slow consumers
  std::atomic<uint64_t> errors_sent{0};
  std::array<std::atomic<uint64_t>, static_cast<size_t>(RateLimit::kCount)> rate_limited{};
  std::atomic<uint64_t> slow_consumers_told{0};    // sent a resync notice: events were dropped
  std::atomic<uint64_t> slow_consumers_closed{0};  // closed with 4030
  LatencyHistogram commit_latency;                 // request parsed -> commit durable
  RequestMetrics requests;
  // Catch-ups (sync): conversations in one answer.
  static constexpr std::array<int64_t, 9> kCatchUpBounds = {0, 1, 5, 10, 25, 50, 100, 250, 1000};
  LatencyHistogram catchup_conversations{kCatchUpBounds, 1};
  // The store: a writer's transaction (one batch of operations), and its size.
  static constexpr std::array<int64_t, 9> kBatchBounds = {1, 2, 4, 8, 16, 32, 64, 128, 256};
  LatencyHistogram store_commit_latency;
  LatencyHistogram store_commit_batch{kBatchBounds, 1};
  // The embedded store's syncs of its write-ahead log (one per group of
  // commits, beside the writer); empty on PostgreSQL, whose COMMIT syncs.
  LatencyHistogram store_sync_latency;
  // The broker (a cluster): a request to the other nodes and its answer.
  LatencyHistogram broker_round_trip;
  // Work waiting for a thread, by queue (store, hash, media...); each set
  // once at start-up to what reads the queue's depth.
  std::vector<std::pair<std::string, std::function<int64_t()>>> queue_depths;
  // How long the oldest waiting item of each queue has waited, in seconds.
  std::vector<std::pair<std::string, std::function<double()>>> queue_ages;
  std::string version;  // natter_build_info{version}
  // The process's series; null: left out. Set once at start-up.
  const ProcessSampler* process = nullptr;
  // Cluster: whether the link to the other nodes (NATS) is up, rendered as
  // natter_broker_connected; null on a single server. Set once at start-up.
  std::function<bool()> broker_connected;
  // Crash reports of earlier runs (ops/crash_report_review.h), set at start:
  // the new ones this start found and logged, and those kept on disk.
  std::atomic<uint64_t> crash_reports_found{0};
  std::atomic<int64_t> crash_reports_kept{0};
  PushMetrics push;
  MediaMetrics media;
  WebhookMetrics webhooks;
  PresendMetrics presend;

  void CountRateLimited(RateLimit limit) {
    rate_limited[static_cast<size_t>(limit)].fetch_add(1, std::memory_order_relaxed);
  }

  std::string Render() const;
};

}  // namespace natter::ops
