// What a webhook delivery says (docs/webhooks.md), made from what was read
// when it is sent (hooks/webhook_subject.h):
//
//   {"id": "<event id>", "type": "message.created", "created_at": <ms>,
//    "data": {...}}
//
// A timeline event's data is {"conversation": ..., "event": ...}, both as
// clients see them (docs/protocol.md); a report's {"report": ...}; a new
// user's {"user": ...} (the public part only). What is gone is
// {"...": {"id": ..., "gone": true}}.
//
// Thread-safety: a pure function.
#pragma once

#include <string>

#include "hooks/webhook_subject.h"

namespace natter::api {

std::string WebhookBody(const WebhookJob& job, const hooks::WebhookSubject& subject);

}  // namespace natter::api
