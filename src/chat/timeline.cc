#include "chat/timeline.h"

#include <algorithm>

namespace natter::chat {

bool ShouldBeLarge(const Conversation& c, int64_t member_count, const ChatLimits& limits) {
  return c.kind == ConversationKind::kChannel || member_count > limits.large_conversation_members;
}

Result<int64_t> LogForUser(StoreTxn& txn, const ChatLimits& limits, UserId user, ConversationId c, Seq seq) {
  NATTER_TRY(int64_t pts, txn.AppendUserUpdate(user, c, seq));
  // Keep the log bounded: once it holds twice the retention, drop the older
  // half. A sync token from before the floor gets "resync required".
  if (limits.update_log_retention > 0 && pts % limits.update_log_retention == 0 &&
      pts > 2 * limits.update_log_retention) {
    NATTER_RETURN_IF_ERROR(txn.PruneUserUpdates(user, pts - limits.update_log_retention));
  }
  return pts;
}

Result<Appended> AppendEvent(StoreTxn& txn, const Conversation& conversation, Message event, int64_t now_ms,
                             const ChatLimits& limits, UserId also) {
  Appended out;
  NATTER_TRY(event.seq, txn.NextSeq(conversation.id, now_ms));
  event.conversation_id = conversation.id;
  event.created_at = now_ms;
  NATTER_RETURN_IF_ERROR(txn.InsertMessage(event));
  NATTER_TRY(auto members, txn.ListMembers(conversation.id));
  std::vector<UserId> users;
  users.reserve(members.size() + 1);
  for (const auto& m : members) users.push_back(m.user_id);
  if (also != 0 && std::find(users.begin(), users.end(), also) == users.end()) users.push_back(also);
  out.recipients.reserve(users.size());
  for (UserId u : users) {
    int64_t pts = 0;
    // In large conversations only the user an event is about (added, removed,
    // role changed) gets a log entry, so their next sync finds it.
    bool concerns_them = u == also || (event.target_user && u == *event.target_user);
    if (!conversation.large || concerns_them) {
      NATTER_TRY(pts, LogForUser(txn, limits, u, conversation.id, event.seq));
    }
    out.recipients.push_back(Recipient{u, pts});
  }
  out.event = std::move(event);
  return out;
}

}  // namespace natter::chat
