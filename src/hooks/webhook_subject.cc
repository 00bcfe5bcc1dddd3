#include "hooks/webhook_subject.h"

#include "store/webhook_events.h"

namespace natter::hooks {

Result<WebhookSubject> ReadTimelineSubject(ConversationTxn& txn, const WebhookJob& job) {
  WebhookSubject s;
  NATTER_TRY(s.conversation, txn.FindConversation(job.conversation_id));
  NATTER_TRY(s.event, txn.FindMessage(job.conversation_id, job.seq));
  return s;
}

Result<WebhookSubject> ReadAccountSubject(AccountsTxn& txn, const WebhookJob& job) {
  WebhookSubject s;
  if (job.type == WebhookEventName(WebhookEvent::kReportFiled)) {
    NATTER_TRY(s.report, txn.FindReport(job.subject));
  } else {
    NATTER_TRY(s.user, txn.FindUser(job.subject));
  }
  return s;
}

}  // namespace natter::hooks
