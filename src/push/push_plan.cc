#include "push/push_plan.h"

#include <algorithm>

namespace natter::push {
namespace {

constexpr const char* kGenericBody = "New message";

std::string NameOf(const PushContext& ctx, UserId user) {
  if (ctx.names) {
    if (auto it = ctx.names->find(user); it != ctx.names->end()) return it->second;
  }
  return "Someone";
}

}  // namespace

bool SawLive(const PushDevice& device, int64_t created_at, int64_t alive_nodes) {
  return (device.live_nodes & alive_nodes) != 0 || device.last_live_at >= created_at;
}

std::vector<Due> DuePushes(const std::vector<PushRecipient>& recipients, const std::vector<Message>& messages,
                           int64_t now_ms, const std::set<std::pair<UserId, UserId>>& blocked) {
  std::vector<Due> out;
  for (const PushRecipient& r : recipients) {
    const Message* newest = nullptr;
    for (const Message& m : messages) {
      if (m.kind != EventKind::kMessage || m.deleted || m.sender_id == r.user_id) continue;
      if (blocked.contains({r.user_id, m.sender_id})) continue;
      if (m.seq <= r.read_seq || m.seq <= r.shown_seq) continue;
      if (!newest || m.seq > newest->seq) newest = &m;
    }
    if (newest) out.push_back(Due{r, newest, r.muted_until > now_ms});
  }
  return out;
}

std::vector<Outgoing> PlanPushes(const std::vector<Due>& due, const std::vector<PushDevice>& devices,
                                 const PushContext& ctx) {
  std::unordered_map<UserId, const Due*> by_user;
  for (const Due& d : due) by_user[d.recipient.user_id] = &d;
  std::vector<Outgoing> out;
  for (const PushDevice& device : devices) {
    auto it = by_user.find(device.user_id);
    if (it == by_user.end()) continue;
    const Due& d = *it->second;
    if (SawLive(device, d.message->created_at, ctx.alive_nodes)) continue;
    Notification n;
    n.kind = d.muted ? Notification::Kind::kBadge : Notification::Kind::kAlert;
    n.conversation_id = d.message->conversation_id;
    n.seq = d.message->seq;
    if (ctx.now_ms > 0) n.expires_at = ctx.now_ms / 1000 + kAlertLifetimeS;
    if (ctx.unread) {
      if (auto u = ctx.unread->find(device.user_id); u != ctx.unread->end()) n.badge = u->second;
    }
    if (n.kind == Notification::Kind::kAlert) {
      // An encrypted conversation's alert says nothing of it: natterd cannot
      // read it, and the push provider learns no sender or title.
      if (!device.show_preview || (ctx.conversation && ctx.conversation->encrypted)) {
        n.body = kGenericBody;
      } else if (ctx.conversation && ctx.conversation->kind != ConversationKind::kDirect) {
        n.title = ctx.conversation->title;
        n.body = NameOf(ctx, d.message->sender_id) + ": " + d.message->text;
      } else {
        n.title = NameOf(ctx, d.message->sender_id);
        n.body = d.message->text;
      }
    }
    out.push_back(Outgoing{device, std::move(n)});
  }
  return out;
}

Notification ClearNotification(ConversationId c, Seq read_seq, int64_t unread, int64_t now_ms) {
  Notification n;
  n.kind = Notification::Kind::kClear;
  n.expires_at = now_ms / 1000 + kClearLifetimeS;
  n.conversation_id = c;
  n.seq = read_seq;
  n.badge = unread;
  return n;
}

}  // namespace natter::push
