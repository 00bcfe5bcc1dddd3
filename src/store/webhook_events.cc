#include "store/webhook_events.h"

#include <array>
#include <utility>

namespace natter {
namespace {

constexpr std::array<std::pair<WebhookEvent, std::string_view>, 7> kNames{{
    {WebhookEvent::kMessageCreated, "message.created"},
    {WebhookEvent::kMessageEdited, "message.edited"},
    {WebhookEvent::kMessageDeleted, "message.deleted"},
    {WebhookEvent::kMemberJoined, "member.joined"},
    {WebhookEvent::kMemberLeft, "member.left"},
    {WebhookEvent::kReportFiled, "report.filed"},
    {WebhookEvent::kUserRegistered, "user.registered"},
}};

}  // namespace

std::string_view WebhookEventName(WebhookEvent event) {
  for (const auto& [e, name] : kNames) {
    if (e == event) return name;
  }
  return "unknown";
}

std::optional<WebhookEvent> ParseWebhookEvent(std::string_view name) {
  for (const auto& [e, n] : kNames) {
    if (n == name) return e;
  }
  return std::nullopt;
}

std::optional<WebhookEvent> WebhookEventOf(EventKind kind) {
  switch (kind) {
    case EventKind::kMessage:
      return WebhookEvent::kMessageCreated;
    case EventKind::kEdit:
      return WebhookEvent::kMessageEdited;
    case EventKind::kDelete:
      return WebhookEvent::kMessageDeleted;
    case EventKind::kMemberJoined:
      return WebhookEvent::kMemberJoined;
    case EventKind::kMemberLeft:
    case EventKind::kMemberRemoved:
      return WebhookEvent::kMemberLeft;
    case EventKind::kReaction:
    case EventKind::kRoleChanged:
    case EventKind::kTitleChanged:
      return std::nullopt;
  }
  return std::nullopt;
}

std::optional<WebhookSelection> ParseWebhookSelection(const std::vector<std::string>& names, std::string* unknown) {
  if (names.empty()) return WebhookSelection::All();
  WebhookSelection out;
  for (const auto& name : names) {
    if (name == "*") return WebhookSelection::All();
    auto e = ParseWebhookEvent(name);
    if (!e) {
      if (unknown) *unknown = name;
      return std::nullopt;
    }
    out.mask |= static_cast<uint32_t>(*e);
  }
  return out;
}

WebhookJob TimelineWebhookJob(const Message& event) {
  WebhookJob job;
  job.event_id = std::to_string(event.conversation_id) + "." + std::to_string(event.seq);
  auto type = WebhookEventOf(event.kind);
  job.type = type ? WebhookEventName(*type) : "unknown";
  job.conversation_id = event.conversation_id;
  job.seq = event.seq;
  job.created_at = event.created_at;
  job.due_at = event.created_at;
  return job;
}

WebhookJob AccountWebhookJob(WebhookEvent event, int64_t id, int64_t now_ms) {
  WebhookJob job;
  job.type = WebhookEventName(event);
  job.event_id = job.type + "." + std::to_string(id);
  job.subject = id;
  job.created_at = now_ms;
  job.due_at = now_ms;
  return job;
}

}  // namespace natter
