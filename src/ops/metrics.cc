#include "ops/metrics.h"

#include <fmt/format.h>

#include "ops/log_sink.h"

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
    out += fmt::format("{}_bucket{{{}le=\"{}\"}} {}\n", name, prefix, bounds_[i] / divisor_, cumulative);
  }
  cumulative += buckets_[bounds].load(std::memory_order_relaxed);
  out += fmt::format("{}_bucket{{{}le=\"+Inf\"}} {}\n", name, prefix, cumulative);
  out += fmt::format("{}_sum{} {}\n{}_count{} {}\n", name, own, sum_us_.load(std::memory_order_relaxed) / divisor_,
                     name, own, count_.load(std::memory_order_relaxed));
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
  int64_t open = connections.load(), authenticated = connections_authenticated.load();
  out += fmt::format(
      "# HELP natter_websocket_connections Open WebSocket connections by state.\n"
      "# TYPE natter_websocket_connections gauge\n"
      "natter_websocket_connections{{state=\"authenticating\"}} {}\n"
      "natter_websocket_connections{{state=\"authenticated\"}} {}\n",
      std::max<int64_t>(0, open - authenticated), authenticated);
  counter("natter_connections_total", "WebSocket connections accepted.", connections_total.load());
  counter("natter_http_requests_total", "HTTP requests served.", http_requests.load());
  counter("natter_messages_accepted_total", "Messages durably committed and acknowledged.", messages_accepted.load());
  counter("natter_messages_duplicate_total", "Sends answered from the store as retries.", messages_duplicate.load());
  counter("natter_messages_delivered_total", "Message frames queued to recipient connections.",
          messages_delivered.load());
  counter("natter_deliveries_dropped_total", "Frames dropped because a consumer fell behind.",
          deliveries_dropped.load());
  counter("natter_errors_sent_total", "Typed errors answered to clients.", errors_sent.load());
  out +=
      "# HELP natter_rate_limited_total Requests refused by a rate limit, by limit.\n"
      "# TYPE natter_rate_limited_total counter\n";
  static constexpr const char* kLimits[] = {"connection", "address", "typing", "http"};
  for (size_t i = 0; i < rate_limited.size(); ++i) {
    out += fmt::format("natter_rate_limited_total{{limit=\"{}\"}} {}\n", kLimits[i], rate_limited[i].load());
  }
  out += fmt::format(
      "# HELP natter_slow_consumers_total Connections that fell behind: told to resync, or closed (4030).\n"
      "# TYPE natter_slow_consumers_total counter\n"
      "natter_slow_consumers_total{{action=\"resync\"}} {}\nnatter_slow_consumers_total{{action=\"closed\"}} {}\n",
      slow_consumers_told.load(), slow_consumers_closed.load());
  commit_latency.Render(out, "natter_commit_latency_seconds", "Time from a send request to its durable commit.");
  requests.Render(out);
  catchup_conversations.Render(out, "natter_catchup_conversations", "Conversations in one catch-up (sync) answer.");
  store_commit_latency.Render(out, "natter_store_commit_duration_seconds",
                              "Time a store writer takes to run and commit one batch.");
  store_commit_batch.Render(out, "natter_store_commit_batch_size", "Operations committed in one store transaction.");
  store_sync_latency.Render(out, "natter_store_sync_duration_seconds",
                            "Time the embedded store takes to sync its write-ahead log to disk.");
  if (broker_connected) {
    broker_round_trip.Render(out, "natter_broker_round_trip_seconds",
                             "Time a request to the other nodes (NATS) takes to be answered.");
  }
  if (!queue_depths.empty()) {
    out +=
        "# HELP natter_queue_depth Work waiting for a thread, by queue.\n"
        "# TYPE natter_queue_depth gauge\n";
    for (const auto& [queue, depth] : queue_depths) {
      out += fmt::format("natter_queue_depth{{queue=\"{}\"}} {}\n", queue, depth());
    }
  }
  if (!queue_ages.empty()) {
    out +=
        "# HELP natter_queue_oldest_age_seconds How long the oldest work in a queue has waited for a thread.\n"
        "# TYPE natter_queue_oldest_age_seconds gauge\n";
    for (const auto& [queue, age] : queue_ages) {
      out += fmt::format("natter_queue_oldest_age_seconds{{queue=\"{}\"}} {:.6f}\n", queue, age());
    }
  }
  out += fmt::format(
      "# HELP natter_build_info The running build; always 1.\n# TYPE natter_build_info gauge\n"
      "natter_build_info{{version=\"{}\"}} 1\n",
      version.empty() ? "unknown" : version);
  if (process) process->Render(out);
  if (broker_connected) {
    out += fmt::format(
        "# HELP natter_broker_connected 1 while this node is linked to the others (NATS).\n"
        "# TYPE natter_broker_connected gauge\nnatter_broker_connected {}\n",
        broker_connected() ? 1 : 0);
  }
  counter("natter_log_lines_dropped_total", "Log lines dropped because stdout was not read fast enough.",
          LogLinesDropped());
  counter("natter_crash_reports_total", "Crash reports of earlier runs found (and logged) when this process started.",
          crash_reports_found.load());
  out += fmt::format(
      "# HELP natter_crash_reports_kept Crash reports kept in the data directory's crash/.\n"
      "# TYPE natter_crash_reports_kept gauge\nnatter_crash_reports_kept {}\n",
      crash_reports_kept.load());
  push.Render(out);
  media.Render(out);
  webhooks.Render(out);
  presend.Render(out);
  return out;
}

}  // namespace natter::ops
