// Process-wide counters and a latency histogram, rendered in the Prometheus
// text format at /metrics. Lock-free: every method may be called from any
// thread, and updates are relaxed atomics (a scrape may see them a moment late).
#pragma once

#include <functional>

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "ops/hook_metrics.h"
#include "ops/latency_histogram.h"
#include "ops/media_metrics.h"
#include "ops/push_metrics.h"

namespace natter::ops {

struct Metrics {
  std::atomic<int64_t> connections{0};  // open WebSocket connections
  std::atomic<uint64_t> connections_total{0};
  std::atomic<uint64_t> http_requests{0};
  std::atomic<uint64_t> messages_accepted{0};   // committed and acknowledged
  std::atomic<uint64_t> messages_duplicate{0};  // retries answered from the store
  std::atomic<uint64_t> messages_delivered{0};  // frames queued to recipient connections
  std::atomic<uint64_t> deliveries_dropped{0};  // frames dropped for slow consumers
  std::atomic<uint64_t> errors_sent{0};
  LatencyHistogram commit_latency;  // request parsed -> commit durable
  // Cluster: whether the link to the other nodes (NATS) is up, rendered as
  // natter_broker_connected; null on a single server. Set once at start-up.
  std::function<bool()> broker_connected;
  PushMetrics push;
  MediaMetrics media;
  WebhookMetrics webhooks;
  PresendMetrics presend;

  std::string Render() const;
};

}  // namespace natter::ops
