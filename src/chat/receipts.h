// Delivered and read watermarks per member and conversation. They only move
// forward and never past the conversation's last seq. In small conversations
// every member hears of a change live and through sync; in large ones only the
// member's own devices do, and others ask for aggregated counts.
#pragma once

#include <vector>

#include "chat/conversations.h"
#include "chat/timeline.h"

namespace natter::chat {

struct ReceiptChange {
  ConversationId conversation_id = 0;
  UserId user_id = 0;
  Seq delivered_seq = 0;  // after the change
  Seq read_seq = 0;
  bool changed = false;               // false: nothing moved (an old or repeated mark)
  std::vector<Recipient> recipients;  // who hears of it, with their pts
};

// Moves the caller's watermarks: read implies delivered. A seq past the last
// one is bad_request; one behind the current watermark changes nothing.
Result<ReceiptChange> MarkReceipt(ConversationTxn& txn, const Context& ctx, const ChatLimits& limits, ConversationId id,
                                  std::optional<Seq> delivered, std::optional<Seq> read);

struct ReceiptCounts {
  Seq seq = 0;
  int64_t members = 0;    // besides the caller
  int64_t delivered = 0;  // members whose delivered watermark is at or past seq
  int64_t read = 0;
};
// Aggregated receipts for one message, for any conversation size.
Result<ReceiptCounts> CountReceipts(ConversationTxn& txn, const Context& ctx, ConversationId id, Seq seq);

}  // namespace natter::chat
