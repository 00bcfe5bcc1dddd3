#include "push/push_triggers.h"

namespace natter::push {

Status OnMessageAppended(ConversationTxn& txn, const PushTiming& timing, const Message& m, int64_t now_ms) {
  if (!timing.enabled || m.kind != EventKind::kMessage) return OkStatus();
  PushJob job;
  job.conversation_id = m.conversation_id;
  job.first_seq = m.seq;
  job.last_seq = m.seq;
  job.due_at = now_ms + timing.delay_ms;
  NATTER_RETURN_IF_ERROR(txn.QueuePush(job));
  return OnRead(txn, timing, m.conversation_id, m.sender_id, m.seq, now_ms);
}

Status OnRead(ConversationTxn& txn, const PushTiming& timing, ConversationId c, UserId user, Seq read_seq,
              int64_t now_ms) {
  if (!timing.enabled) return OkStatus();
  return txn.ClearPushShown(c, user, read_seq, now_ms);
}

}  // namespace natter::push
