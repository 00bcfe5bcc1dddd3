// The events an operator's backend can be told of by webhook
// (docs/webhooks.md), and which of them the configuration selects.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "natter/model.h"
#include "store/webhook_records.h"

namespace natter {

enum class WebhookEvent : uint32_t {
  kMessageCreated = 1u << 0,
  kMessageEdited = 1u << 1,
  kMessageDeleted = 1u << 2,
  kMemberJoined = 1u << 3,
  kMemberLeft = 1u << 4,  // left, or removed by someone
  kReportFiled = 1u << 5,
  kUserRegistered = 1u << 6,
};

// "message.created", ..., as the body's `type` and the configuration name them.
std::string_view WebhookEventName(WebhookEvent event);
std::optional<WebhookEvent> ParseWebhookEvent(std::string_view name);
// The webhook a timeline event makes, if any (reactions, roles and titles make none).
std::optional<WebhookEvent> WebhookEventOf(EventKind kind);

// The events webhooks are sent for; none when no URL is configured.
struct WebhookSelection {
  uint32_t mask = 0;
  bool Has(WebhookEvent e) const { return (mask & static_cast<uint32_t>(e)) != 0; }
  bool Has(EventKind kind) const {
    auto e = WebhookEventOf(kind);
    return e && Has(*e);
  }
  static WebhookSelection All() { return WebhookSelection{(1u << 7) - 1}; }
};

// `names` as a selection ("*" or none: every event); nullopt names the first
// unknown one in `unknown`.
std::optional<WebhookSelection> ParseWebhookSelection(const std::vector<std::string>& names, std::string* unknown);

// The queued job of a committed timeline event (one that makes a webhook),
// and of an account event about report or user `id`, both due at once. The
// event id is unique: a timeline event's conversation and seq, an account
// event's type and id.
WebhookJob TimelineWebhookJob(const Message& event);
WebhookJob AccountWebhookJob(WebhookEvent event, int64_t id, int64_t now_ms);

}  // namespace natter
