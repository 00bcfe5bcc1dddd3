// What the store keeps for push notifications: each device session's push
// token, the queue of pushes still to send, and who was last shown what.
#pragma once

#include <cstdint>
#include <limits>
#include <string>

#include "natter/model.h"

namespace natter {

// One device's push token: at most one per session, and a token belongs to
// one session (registering it from another moves it).
struct PushDevice {
  SessionId session_id = 0;
  UserId user_id = 0;
  std::string platform;     // "fcm" or "apns"
  std::string token;        // the provider's device or registration token
  std::string topic;        // APNs: the app's bundle id; FCM: the app id (informative)
  std::string environment;  // APNs: "production" or "sandbox"; FCM: "production"
  std::string locale;       // BCP 47, for the app's own texts
  int64_t updated_at = 0;
  // Read, never written through PutPushDevice:
  int64_t live_nodes = 0;    // bit n: node n holds a foreground connection of this session
  int64_t last_live_at = 0;  // ms when it was last heard from on its last foreground connection
  bool show_preview = true;  // the user's setting
};

// A mute that never ends.
inline constexpr int64_t kMutedForever = std::numeric_limits<int64_t>::max();

// A queued push. A message job (user_id 0) stands for the messages first_seq
// to last_seq of a conversation, for every member who has not read them: a
// new message extends the queued job instead of adding one (a burst becomes
// one push). A clear job (user_id set) tells that user's devices the
// conversation was read up to last_seq.
struct PushJob {
  int64_t id = 0;
  ConversationId conversation_id = 0;
  UserId user_id = 0;
  Seq first_seq = 0;
  Seq last_seq = 0;
  int64_t due_at = 0;  // ms
  int attempts = 0;
  int64_t claim = 0;  // the token of the claim that handed it out
};

// A member who may need a push for a conversation.
struct PushRecipient {
  UserId user_id = 0;
  Seq read_seq = 0;
  int64_t muted_until = 0;  // ms; 0: not muted
  Seq shown_seq = 0;        // the newest message they were alerted of and have not read
};

struct PushQueueStats {
  int64_t depth = 0;
  int64_t oldest_due_at = 0;  // ms; 0 when empty
};

}  // namespace natter
