// The columns both stores select for webhook jobs, and how a row of them
// becomes one (as store/row_readers.h does for the rest).
#pragma once

#include "store/webhook_records.h"

#define WEBHOOK_JOB_COLUMNS "id, event_id, type, conversation_id, seq, subject, created_at, due_at, attempts, claim"

namespace natter::rows {

// The WEBHOOK_JOB_COLUMNS of `r`.
template <class Row>
WebhookJob ReadWebhookJob(const Row& r) {
  WebhookJob j;
  j.id = r.Int(0);
  j.event_id = r.Text(1);
  j.type = r.Text(2);
  j.conversation_id = r.Int(3);
  j.seq = r.Int(4);
  j.subject = r.Int(5);
  j.created_at = r.Int(6);
  j.due_at = r.Int(7);
  j.attempts = static_cast<int>(r.Int(8));
  j.claim = r.Int(9);
  return j;
}

}  // namespace natter::rows
