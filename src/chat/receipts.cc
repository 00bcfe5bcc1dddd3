#include "chat/receipts.h"

#include <algorithm>

namespace natter::chat {

Result<ReceiptChange> MarkReceipt(ConversationTxn& txn, const Context& ctx, const ChatLimits& limits, ConversationId id,
                                  std::optional<Seq> delivered, std::optional<Seq> read) {
  if (!delivered && !read) return BadRequest("give delivered_seq or read_seq");
  NATTER_TRY(auto membership, RequireMember(txn, ctx.caller, id));
  auto& [conversation, me] = membership;
  for (auto seq : {delivered, read}) {
    if (seq && (*seq < 0 || *seq > conversation.last_seq)) return BadRequest("seq is past the last event");
  }
  ReceiptChange out;
  out.conversation_id = id;
  out.user_id = ctx.caller;
  Seq new_read = std::max(me.read_seq, read.value_or(0));
  Seq new_delivered = std::max({me.delivered_seq, delivered.value_or(0), new_read});
  out.read_seq = new_read;
  out.delivered_seq = new_delivered;
  out.changed = new_read != me.read_seq || new_delivered != me.delivered_seq;
  if (!out.changed) return out;
  NATTER_RETURN_IF_ERROR(txn.UpdateReadSeq(id, ctx.caller, new_read));
  NATTER_RETURN_IF_ERROR(txn.UpdateDeliveredSeq(id, ctx.caller, new_delivered));
  if (conversation.large) {
    // Only the member's own devices follow it (unread counts); nobody else.
    NATTER_TRY(int64_t pts, LogForUser(txn, limits, ctx.caller, id, 0));
    out.recipients.push_back(Recipient{ctx.caller, pts});
    return out;
  }
  NATTER_TRY(auto users, txn.ListMemberIds(id));
  NATTER_TRY(auto pts, LogForUsers(txn, limits, users, id, 0));
  for (size_t i = 0; i < users.size(); ++i) out.recipients.push_back(Recipient{users[i], pts[i]});
  return out;
}

Result<ReceiptCounts> CountReceipts(ConversationTxn& txn, const Context& ctx, ConversationId id, Seq seq) {
  NATTER_TRY(auto membership, RequireMember(txn, ctx.caller, id));
  if (seq <= 0 || seq > membership.first.last_seq) return BadRequest("seq is not in this conversation");
  NATTER_TRY(auto members, txn.ListMembers(id));
  ReceiptCounts counts;
  counts.seq = seq;
  for (const auto& m : members) {
    if (m.user_id == ctx.caller) continue;
    ++counts.members;
    counts.delivered += m.delivered_seq >= seq;
    counts.read += m.read_seq >= seq;
  }
  return counts;
}

}  // namespace natter::chat
