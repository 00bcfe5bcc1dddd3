// Reading history: a page of messages before or after a sequence number, for
// members only.
#pragma once

#include <vector>

#include "chat/conversations.h"

namespace natter::chat {

struct HistoryPage {
  std::vector<Message> messages;  // ascending by seq
  Seq last_seq = 0;               // the conversation's newest seq, so clients see what is left
  bool has_more = false;          // more messages exist beyond the page in the asked direction
};

Result<HistoryPage> ReadHistory(StoreTxn& txn, const Context& ctx, const ChatLimits& limits,
                                HistoryQuery query);

// Moves the caller's read watermark forward to `seq` (never back, never past
// the last message).
Status MarkRead(StoreTxn& txn, const Context& ctx, ConversationId id, Seq seq);

}  // namespace natter::chat
