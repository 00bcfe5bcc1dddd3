// What a webhook delivery is about, read from the store when it is sent, not
// when it was queued: a message deleted or erased since is read as the
// tombstone it is now, never with its text. Plain values: the body is made
// from them off the store's threads (api/webhook_body.h).
//
// Thread-safety: pure functions over the caller's transaction.
#pragma once

#include <optional>

#include "store/store.h"

namespace natter::hooks {

struct WebhookSubject {
  // A timeline event: its conversation and the event (empty if gone).
  std::optional<Conversation> conversation = {};
  std::optional<Message> event = {};
  // An account event: the report filed or the user made (empty if gone).
  std::optional<Report> report = {};
  std::optional<User> user = {};
};

// `job` must be a timeline event of the partition `txn` reads.
Result<WebhookSubject> ReadTimelineSubject(ConversationTxn& txn, const WebhookJob& job);
// `job` must be an account event (report.filed, user.registered).
Result<WebhookSubject> ReadAccountSubject(AccountsTxn& txn, const WebhookJob& job);

}  // namespace natter::hooks
