// Appending to a conversation's timeline, the one place where sequence
// numbers and per-user update-log entries are made.
//
// Direct chats and small groups write one update-log entry per member for each
// event, so every member's pts moves and a client knows from one number
// whether it missed anything. The others (channels, and groups past
// ChatLimits::logged_group_members) keep only their own sequence: their
// members follow them by seq, their position in the sync token. A message to a group of 100 is then one row, not 100.
#pragma once

#include <vector>

#include "chat/limits.h"
#include "natter/model.h"
#include "natter/status.h"
#include "store/store.h"

namespace natter::chat {

// A user an event goes to, with the pts of the update-log entry it made for
// them (0 when it made none: conversations followed by seq).
struct Recipient {
  UserId user = 0;
  int64_t pts = 0;
};

// An event now stored, and who must hear of it.
struct Appended {
  Message event;
  std::vector<Recipient> recipients;
};

// Stores `event` at the conversation's next seq (setting event.seq and
// created_at), logs it for the members (small conversations), and returns it
// with its recipients: every member, plus `also` (someone just removed).
Result<Appended> AppendEvent(ConversationTxn& txn, const Conversation& conversation, Message event, int64_t now_ms,
                             const ChatLimits& limits, UserId also = 0);

// Logs a change for one user outside the timeline (a receipt, being added to a
// large conversation): returns its pts.
Result<int64_t> LogForUser(ConversationTxn& txn, const ChatLimits& limits, UserId user, ConversationId c, Seq seq);
// The same for several users at once (distinct); their pts in that order.
Result<std::vector<int64_t>> LogForUsers(ConversationTxn& txn, const ChatLimits& limits,
                                         const std::vector<UserId>& users, ConversationId c, Seq seq);

// True when this conversation, with `member_count` members, should be large.
bool ShouldBeLarge(const Conversation& c, int64_t member_count, const ChatLimits& limits);
// True when it should stop writing per-member log entries for its events.
bool ShouldBeBySeq(const Conversation& c, int64_t member_count, const ChatLimits& limits);

}  // namespace natter::chat
