#include "chat/timeline.h"

#include <algorithm>

namespace natter::chat {

bool ShouldBeLarge(const Conversation& c, int64_t member_count, const ChatLimits& limits) {
  return c.kind == ConversationKind::kChannel || member_count > limits.large_conversation_members;
}

bool ShouldBeBySeq(const Conversation& c, int64_t member_count, const ChatLimits& limits) {
  return ShouldBeLarge(c, member_count, limits) || member_count > limits.logged_group_members;
}

namespace {

// Keeps the log bounded: once it holds twice the retention, drops the older
// half. A sync token from before the floor gets "resync required".
Status PruneIfDue(ConversationTxn& txn, const ChatLimits& limits, UserId user, int64_t pts) {
  if (limits.update_log_retention > 0 && pts % limits.update_log_retention == 0 &&
      pts > 2 * limits.update_log_retention) {
    return txn.PruneUserUpdates(user, pts - limits.update_log_retention);
  }
  return OkStatus();
}

}  // namespace

Result<int64_t> LogForUser(ConversationTxn& txn, const ChatLimits& limits, UserId user, ConversationId c, Seq seq) {
  NATTER_TRY(int64_t pts, txn.AppendUserUpdate(user, c, seq));
  NATTER_RETURN_IF_ERROR(PruneIfDue(txn, limits, user, pts));
  return pts;
}

Result<std::vector<int64_t>> LogForUsers(ConversationTxn& txn, const ChatLimits& limits,
                                         const std::vector<UserId>& users, ConversationId c, Seq seq) {
  NATTER_TRY(auto pts, txn.AppendUserUpdates(users, c, seq));
  for (size_t i = 0; i < users.size(); ++i) NATTER_RETURN_IF_ERROR(PruneIfDue(txn, limits, users[i], pts[i]));
  return pts;
}

Result<Appended> AppendEvent(ConversationTxn& txn, const Conversation& conversation, Message event, int64_t now_ms,
                             const ChatLimits& limits, UserId also) {
  Appended out;
  NATTER_TRY(event.seq, txn.NextSeq(conversation.id, now_ms));
  event.conversation_id = conversation.id;
  event.created_at = now_ms;
  NATTER_RETURN_IF_ERROR(txn.InsertMessage(event));
  // Queued with the event it tells of: as durable, and never a wait for the sender.
  if (limits.webhooks.Has(event.kind)) NATTER_RETURN_IF_ERROR(txn.QueueWebhook(TimelineWebhookJob(event)));
  NATTER_TRY(auto users, txn.ListMemberIds(conversation.id));
  if (also != 0 && std::find(users.begin(), users.end(), also) == users.end()) users.push_back(also);
  // In conversations followed by seq only the user an event is about (added,
  // removed, role changed) gets a log entry, so their next sync finds it.
  std::vector<UserId> logged;
  for (UserId u : users) {
    bool concerns_them = u == also || (event.target_user && u == *event.target_user);
    if (!conversation.by_seq || concerns_them) logged.push_back(u);
  }
  NATTER_TRY(auto pts, LogForUsers(txn, limits, logged, conversation.id, event.seq));
  out.recipients.reserve(users.size());
  for (size_t i = 0, j = 0; i < users.size(); ++i) {
    bool has_entry = j < logged.size() && logged[j] == users[i];
    out.recipients.push_back(Recipient{users[i], has_entry ? pts[j++] : 0});
  }
  out.event = std::move(event);
  return out;
}

}  // namespace natter::chat
