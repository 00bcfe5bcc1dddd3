// Reading history: a page of timeline entries (messages with their current
// state and reactions, and events) before or after a sequence number, for
// members only.
#pragma once

#include <set>
#include <vector>

#include "chat/conversations.h"

namespace natter::chat {

struct HistoryPage {
  std::vector<Message> messages;  // ascending by seq
  Seq last_seq = 0;               // the conversation's newest seq, so clients see what is left
  bool has_more = false;          // more messages exist beyond the page in the asked direction
  // Everyone the caller blocked: their messages in the page are flagged
  // `blocked_sender` for the caller's client to hide.
  std::set<UserId> blocked_senders = {};
};

Result<HistoryPage> ReadHistory(ConversationTxn& txn, const Context& ctx, const ChatLimits& limits, HistoryQuery query);

}  // namespace natter::chat
