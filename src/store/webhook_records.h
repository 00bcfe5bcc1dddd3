// What the store keeps for webhooks: the durable queue of events still to be
// delivered to the operator's URL (hooks/webhook_worker.h). A row names what
// happened, not what to send: the body is read when it is delivered, so a
// message deleted or erased meanwhile is never sent with its text.
#pragma once

#include <cstdint>
#include <string>

#include "natter/model.h"

namespace natter {

struct WebhookJob {
  int64_t id = 0;  // assigned by the store
  // Unique per event (store/webhook_events.h): queued twice, kept once.
  std::string event_id;
  std::string type;                    // "message.created", ... (store/webhook_events.h)
  ConversationId conversation_id = 0;  // with `seq`: a timeline event; 0 for an account event
  Seq seq = 0;
  int64_t subject = 0;     // an account event's report or user
  int64_t created_at = 0;  // ms: when it happened
  int64_t due_at = 0;      // ms: when it is next tried
  int attempts = 0;
  int64_t claim = 0;  // the token of the claim that handed it out
};

struct WebhookQueueStats {
  int64_t depth = 0;
  int64_t oldest_created_at = 0;  // ms; 0 when empty
};

}  // namespace natter
