// Process-wide counters and a latency histogram, rendered in the Prometheus
// text format at /metrics. Lock-free: every method may be called from any
// thread, and updates are relaxed atomics (a scrape may see them a moment late).
#pragma once

#include <functional>

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace natter::ops {

// A fixed-bucket histogram of durations in microseconds.
class LatencyHistogram {
 public:
  static constexpr std::array<int64_t, 12> kBoundsUs = {100,   250,   500,   1000,   2500,   5000,
                                                        10000, 25000, 50000, 100000, 250000, 1000000};
  void Observe(int64_t us);
  void Render(std::string& out, const char* name, const char* help) const;

 private:
  std::array<std::atomic<uint64_t>, kBoundsUs.size() + 1> buckets_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_us_{0};
};

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

  std::string Render() const;
};

}  // namespace natter::ops
