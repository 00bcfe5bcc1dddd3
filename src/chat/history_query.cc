#include "chat/history_query.h"

#include <algorithm>

namespace natter::chat {

Result<HistoryPage> ReadHistory(ConversationTxn& txn, const Context& ctx, const ChatLimits& limits,
                                HistoryQuery query) {
  if (query.before && query.after) return BadRequest("give before or after, not both");
  if (query.limit <= 0 || query.limit > limits.max_history_page) query.limit = limits.max_history_page;
  NATTER_TRY(auto membership, RequireMember(txn, ctx.caller, query.conversation_id));
  HistoryPage page;
  page.last_seq = membership.first.last_seq;
  // One extra row tells whether more remain without a second query.
  HistoryQuery probe = query;
  probe.limit = query.limit + 1;
  NATTER_TRY(page.messages, txn.History(probe));
  if (static_cast<int>(page.messages.size()) > query.limit) {
    page.has_more = true;
    page.messages.pop_back();
  }
  if (!query.after) std::reverse(page.messages.begin(), page.messages.end());
  NATTER_RETURN_IF_ERROR(txn.LoadReactions(page.messages));
  if (membership.first.encrypted) NATTER_RETURN_IF_ERROR(txn.LoadEnvelopes(page.messages, ctx.caller));
  NATTER_TRY(auto blocked, txn.accounts().ListBlocked(ctx.caller));
  for (const auto& b : blocked) page.blocked_senders.insert(b.user_id);
  return page;
}

}  // namespace natter::chat
