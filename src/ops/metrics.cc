#include "ops/metrics.h"

#include <fmt/format.h>

namespace natter::ops {

void LatencyHistogram::Observe(int64_t us) {
  size_t i = 0;
  while (i < bounds_.size() && i < kMaxBounds && us > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_us_.fetch_add(static_cast<uint64_t>(us < 0 ? 0 : us), std::memory_order_relaxed);
}

void LatencyHistogram::Render(std::string& out, const char* name, const char* help) const {
  out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
  RenderSeries(out, name, "");
}

void LatencyHistogram::RenderSeries(std::string& out, const char* name, std::string_view labels) const {
  std::string prefix = labels.empty() ? std::string() : std::string(labels) + ",";
  std::string own = labels.empty() ? std::string() : "{" + std::string(labels) + "}";
  uint64_t cumulative = 0;
  size_t bounds = std::min(bounds_.size(), kMaxBounds);
  for (size_t i = 0; i < bounds; ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    out += fmt::format("{}_bucket{{{}le=\"{}\"}} {}\n", name, prefix, bounds_[i] / 1e6, cumulative);
  }
  cumulative += buckets_[bounds].load(std::memory_order_relaxed);
  out += fmt::format("{}_bucket{{{}le=\"+Inf\"}} {}\n", name, prefix, cumulative);
  out += fmt::format("{}_sum{} {}\n{}_count{} {}\n", name, own, sum_us_.load(std::memory_order_relaxed) / 1e6, name,
                     own, count_.load(std::memory_order_relaxed));
}

std::string Metrics::Render() const {
  std::string out;
  auto counter = [&out](const char* name, const char* help, uint64_t v) {
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n{} {}\n", name, help, name, name, v);
  };
  out += fmt::format(
      "# HELP natter_connections Open WebSocket connections.\n"
      "# TYPE natter_connections gauge\nnatter_connections {}\n",
      connections.load());
  counter("natter_connections_total", "WebSocket connections accepted.", connections_total.load());
  counter("natter_http_requests_total", "HTTP requests served.", http_requests.load());
  counter("natter_messages_accepted_total", "Messages durably committed and acknowledged.", messages_accepted.load());
  counter("natter_messages_duplicate_total", "Sends answered from the store as retries.", messages_duplicate.load());
  counter("natter_messages_delivered_total", "Message frames queued to recipient connections.",
          messages_delivered.load());
  counter("natter_deliveries_dropped_total", "Frames dropped because a consumer fell behind.",
          deliveries_dropped.load());
  counter("natter_errors_sent_total", "Typed errors answered to clients.", errors_sent.load());
  commit_latency.Render(out, "natter_commit_latency_seconds", "Time from a send request to its durable commit.");
  if (broker_connected) {
    out += fmt::format(
        "# HELP natter_broker_connected 1 while this node is linked to the others (NATS).\n"
        "# TYPE natter_broker_connected gauge\nnatter_broker_connected {}\n",
        broker_connected() ? 1 : 0);
  }
  push.Render(out);
  media.Render(out);
  webhooks.Render(out);
  presend.Render(out);
  return out;
}

}  // namespace natter::ops
