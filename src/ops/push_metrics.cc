#include "ops/push_metrics.h"

#include <fmt/format.h>

namespace natter::ops {
namespace {

constexpr const char* kProviderNames[] = {"apns", "fcm"};

// A label value that needs no escaping: letters, digits and '_', at most 64.
std::string LabelValue(std::string_view reason) {
  std::string out;
  for (char ch : reason.substr(0, 64)) {
    bool plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
    out += plain ? ch : '_';
  }
  return out.empty() ? "unknown" : out;
}

}  // namespace

void PushMetrics::Failed(Provider p, std::string_view reason) {
  std::string label = LabelValue(reason);
  MutexLock lock(mu_);
  auto key = std::make_pair(static_cast<int>(p), label);
  if (failed_.size() >= kMaxReasons && !failed_.contains(key)) key.second = "other";
  ++failed_[key];
}

void PushMetrics::Render(std::string& out) const {
  auto per_provider = [&out](const char* name, const char* help, const std::array<std::atomic<uint64_t>, 2>& v) {
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n", name, help, name);
    for (int p = 0; p < 2; ++p) {
      out += fmt::format("{}{{provider=\"{}\"}} {}\n", name, kProviderNames[p], v[p].load(std::memory_order_relaxed));
    }
  };
  per_provider("natter_push_sent_total", "Notifications the push provider accepted.", sent_);
  per_provider("natter_push_retried_total", "Notifications put back to try again (429, 5xx, network).", retried_);
  per_provider("natter_push_tokens_pruned_total", "Device tokens deleted because the provider refused them.", pruned_);
  out +=
      "# HELP natter_push_failed_total Notifications refused or not delivered, by the provider's reason.\n"
      "# TYPE natter_push_failed_total counter\n";
  {
    MutexLock lock(mu_);
    for (const auto& [key, count] : failed_) {
      out += fmt::format("natter_push_failed_total{{provider=\"{}\",reason=\"{}\"}} {}\n", kProviderNames[key.first],
                         key.second, count);
    }
  }
  out +=
      "# HELP natter_push_provider_latency_seconds Time for one push provider request.\n"
      "# TYPE natter_push_provider_latency_seconds histogram\n";
  for (int p = 0; p < 2; ++p) {
    latency_[p].RenderSeries(out, "natter_push_provider_latency_seconds",
                             fmt::format("provider=\"{}\"", kProviderNames[p]));
  }
  out += fmt::format(
      "# HELP natter_push_queue_depth Pushes queued in the store (all partitions).\n"
      "# TYPE natter_push_queue_depth gauge\nnatter_push_queue_depth {}\n"
      "# HELP natter_push_queue_oldest_age_seconds How long the oldest due push has waited past its time.\n"
      "# TYPE natter_push_queue_oldest_age_seconds gauge\nnatter_push_queue_oldest_age_seconds {}\n",
      queue_depth_.load(std::memory_order_relaxed), queue_age_ms_.load(std::memory_order_relaxed) / 1000.0);
}

}  // namespace natter::ops
