// The push policy, as pure functions (docs/push.md, "Policy"):
//
// - A member gets a push for the newest message of the job that is not their
//   own, is past their read mark, and newer than what they were last alerted
//   of: a burst becomes one push, a retry skips who already got theirs.
// - Each of their devices gets it unless it holds a foreground connection
//   now (on a node that still runs), or was heard from on one after that
//   message was committed (it saw it live).
// - A muted conversation sends a silent badge update instead of an alert.
// - The badge is the member's total unread count; the collapse id is the
//   conversation's, so a newer push replaces the older on the device.
// - Without previews (the member's setting) the alert names nobody and says
//   nothing of the text.
//
// Thread-safety: pure functions.
#pragma once

#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "push/push_providers.h"

namespace natter::push {

// A member who is due a push, and for which message.
struct Due {
  PushRecipient recipient;
  const Message* message = nullptr;  // in the `messages` given to DuePushes
  bool muted = false;
};

// `messages`: the job's live messages, any order. `blocked`: (recipient,
// sender) pairs where the recipient blocked the sender: none of that sender's
// messages alerts them.
std::vector<Due> DuePushes(const std::vector<PushRecipient>& recipients, const std::vector<Message>& messages,
                           int64_t now_ms, const std::set<std::pair<UserId, UserId>>& blocked = {});

// What each device of a due member gets. `devices`: of those members;
// `unread` and `names` (user id -> handle) may miss entries (0 and "").
struct PushContext {
  const Conversation* conversation = nullptr;
  const std::unordered_map<UserId, int64_t>* unread = nullptr;
  const std::unordered_map<UserId, std::string>* names = nullptr;
  int64_t alive_nodes = -1;  // nodes seen running: live bits of others do not count
  int64_t now_ms = 0;        // when set, notifications expire (kAlertLifetime) after it
};

// How long a provider keeps trying a device that is off: a week for an alert
// or a badge, a day for a clear.
inline constexpr int64_t kAlertLifetimeS = 7 * 24 * 3600;
inline constexpr int64_t kClearLifetimeS = 24 * 3600;
std::vector<Outgoing> PlanPushes(const std::vector<Due>& due, const std::vector<PushDevice>& devices,
                                 const PushContext& context);

// Whether `device` saw messages committed at `created_at` live: it holds a
// foreground connection on a node that runs, or was heard from on one after.
bool SawLive(const PushDevice& device, int64_t created_at, int64_t alive_nodes = -1);

// The clear a device gets once its user read conversation `c` elsewhere.
Notification ClearNotification(ConversationId c, Seq read_seq, int64_t unread, int64_t now_ms);

}  // namespace natter::push
