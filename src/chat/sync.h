// Catch-up after being away: everything that concerns a user since a known
// position, with a bounded page of the newest events per conversation and a
// gap marker for the rest. Cost grows with what changed, not with history or
// the number of conversations: the user's update log names the small
// conversations that changed; those followed by seq (large ones, groups past
// a small size) are compared by their own seq.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "chat/conversations.h"

namespace natter::chat {

// Where a client was: its pts in each store partition (one in the embedded
// store; a user has an update log per partition), and its seq in each
// conversation followed by seq. The API layer wraps this in a signed, opaque
// token.
struct SyncPosition {
  std::vector<int64_t> pts;
  std::map<ConversationId, Seq> by_seq;
  // A fresh sync that has more conversations to send: the listing goes on
  // after this point; pts and by_seq stay where its first page found them.
  std::optional<ListCursor> listing;
};

struct ConversationCatchUp {
  ConversationId id = 0;
  bool removed = false;  // the user is no longer a member; nothing else is set
  Conversation conversation;
  Role my_role = Role::kMember;
  // Small conversations: every member with their watermarks. Large: only the caller.
  std::vector<Member> members;
  std::vector<Message> events;  // ascending seq, the newest page
  // Missed events not in this page: [gap_from, gap_to]; load them through history.
  Seq gap_from = 0;
  Seq gap_to = 0;
};

struct SyncResult {
  // The position is too old (pruned) or too far behind: drop local state and
  // sync again without a position.
  bool resync_required = false;
  std::string reason;
  std::vector<ConversationCatchUp> conversations;
  SyncPosition position;  // the new position, to resume from next time
  // Not all of it fit one answer: sync again from `position` at once. So
  // nothing is cut off and no answer depends on how many conversations the
  // user is in or how many changed.
  bool more = false;
  int64_t rows_read = 0;  // what the catch-up read, so tests can bound its cost
};

// The catch-up of one partition (`txn` runs there), at most
// ChatLimits::max_sync_conversations conversations per answer (`more` when
// there is more). `since` empty: a fresh install; the conversations, newest
// activity first, each with its newest page, in pages (the position's
// `listing` says where the next goes on). With a position: what changed since,
// in pages that move the position's pts forward. The result's position has one
// pts, this partition's.
Result<SyncResult> CatchUp(ConversationTxn& txn, const Context& ctx, const ChatLimits& limits,
                           const std::optional<SyncPosition>& since, int partition = 0);

// Joins the catch-ups of every partition, in partition order. A partition that
// failed keeps the client's old position there (its changes come with a later
// sync), unless there is no old position: then the whole sync fails.
// `partition_of` says where a conversation lives. A page of a fresh
// catch-up keeps the `max_conversations` most recently active of all
// partitions; the listing goes on after the last one kept.
Result<SyncResult> MergeCatchUps(std::vector<Result<SyncResult>> parts, const std::optional<SyncPosition>& since,
                                 const std::function<int(ConversationId)>& partition_of,
                                 size_t max_conversations = SIZE_MAX);

}  // namespace natter::chat
