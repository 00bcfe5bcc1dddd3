#include "ops/hook_metrics.h"

#include <fmt/format.h>

namespace natter::ops {

void WebhookMetrics::Render(std::string& out) const {
  out += fmt::format(
      "# HELP natter_webhook_delivered_total Webhook deliveries the receiver answered with 2xx.\n"
      "# TYPE natter_webhook_delivered_total counter\nnatter_webhook_delivered_total {}\n",
      delivered_.load(std::memory_order_relaxed));
  out +=
      "# HELP natter_webhook_failed_total Webhook deliveries that failed (tried again later): the receiver answered "
      "4xx, 5xx, another status, or not in time; or the event could not be read.\n"
      "# TYPE natter_webhook_failed_total counter\n";
  constexpr const char* kReasons[] = {"4xx", "5xx", "other_status", "no_answer", "unreadable"};
  for (int f = 0; f < 5; ++f) {
    out += fmt::format("natter_webhook_failed_total{{reason=\"{}\"}} {}\n", kReasons[f],
                       failed_[f].load(std::memory_order_relaxed));
  }
  out += fmt::format(
      "# HELP natter_webhook_dropped_total Webhook events given up after failing for a day.\n"
      "# TYPE natter_webhook_dropped_total counter\nnatter_webhook_dropped_total {}\n",
      dropped_.load(std::memory_order_relaxed));
  latency_.Render(out, "natter_webhook_latency_seconds", "Time for one webhook delivery.");
  out += fmt::format(
      "# HELP natter_webhook_queue_depth Webhook events queued in the store (all partitions; every node shows the "
      "whole queue).\n"
      "# TYPE natter_webhook_queue_depth gauge\nnatter_webhook_queue_depth {}\n"
      "# HELP natter_webhook_queue_oldest_age_seconds How long ago the oldest queued webhook event happened.\n"
      "# TYPE natter_webhook_queue_oldest_age_seconds gauge\nnatter_webhook_queue_oldest_age_seconds {}\n",
      queue_depth_.load(std::memory_order_relaxed), queue_age_ms_.load(std::memory_order_relaxed) / 1000.0);
}

void PresendMetrics::Render(std::string& out) const {
  out +=
      "# HELP natter_presend_checks_total Messages and edits the pre-send hook checked, by verdict (failed: no "
      "usable answer, the configured default applied).\n"
      "# TYPE natter_presend_checks_total counter\n";
  constexpr const char* kVerdicts[] = {"accepted", "rewritten", "rejected", "failed"};
  for (int v = 0; v < 4; ++v) {
    out += fmt::format("natter_presend_checks_total{{verdict=\"{}\"}} {}\n", kVerdicts[v],
                       checks_[v].load(std::memory_order_relaxed));
  }
  latency_.Render(out, "natter_presend_latency_seconds", "Time for one answer of the pre-send hook.");
}

}  // namespace natter::ops
