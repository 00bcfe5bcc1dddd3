#include "chat/sync.h"

#include <algorithm>

namespace natter::chat {
namespace {

constexpr int kMaxUpdates = 100000;
// Marks a conversation that changed without new timeline events (receipts,
// being created): its metadata and watermarks are sent, no events.
constexpr Seq kNoEvents = -1;

// Loads one changed conversation: its state and the newest events after `since_seq`.
Result<ConversationCatchUp> LoadChanged(ConversationTxn& txn, const Context& ctx, const ChatLimits& limits,
                                        ConversationId id, Seq since_seq, int64_t& rows) {
  ConversationCatchUp out;
  out.id = id;
  NATTER_TRY(auto me, txn.FindMember(id, ctx.caller));
  NATTER_TRY(auto conversation, txn.FindConversation(id));
  rows += 2;
  if (!me || !conversation) {
    out.removed = true;
    return out;
  }
  out.conversation = std::move(*conversation);
  out.my_role = me->role;
  if (out.conversation.large) {
    out.members.push_back(*me);
  } else {
    NATTER_TRY(out.members, txn.ListMembers(id));
    rows += static_cast<int64_t>(out.members.size());
  }
  Seq last = out.conversation.last_seq;
  if (since_seq == kNoEvents || since_seq >= last) return out;
  HistoryQuery q;
  q.conversation_id = id;
  if (last - since_seq <= limits.sync_page) {
    q.after = since_seq;
    q.limit = limits.sync_page;
    NATTER_TRY(out.events, txn.History(q));
  } else {
    q.before = last + 1;
    q.limit = limits.sync_page;
    NATTER_TRY(out.events, txn.History(q));
    std::reverse(out.events.begin(), out.events.end());
    out.gap_from = since_seq + 1;
    out.gap_to = out.events.empty() ? last : out.events.front().seq - 1;
  }
  rows += static_cast<int64_t>(out.events.size());
  NATTER_RETURN_IF_ERROR(txn.LoadReactions(out.events));
  return out;
}

}  // namespace

Result<SyncResult> CatchUp(ConversationTxn& txn, const Context& ctx, const ChatLimits& limits,
                           const std::optional<SyncPosition>& since, int partition) {
  SyncResult result;
  NATTER_TRY(auto state, txn.GetUpdateLogState(ctx.caller));
  NATTER_TRY(auto larges, txn.ListLargeConversations(ctx.caller));
  result.rows_read += 1 + static_cast<int64_t>(larges.size());
  result.position.pts = {state.pts};
  for (const auto& c : larges) result.position.large[c.id] = c.last_seq;

  // Conversation -> the seq after which events are missing (or kNoEvents).
  std::map<ConversationId, Seq> changed;
  if (!since) {
    NATTER_TRY(auto all, txn.ListConversations(ctx.caller, limits.max_sync_conversations));
    result.rows_read += static_cast<int64_t>(all.size());
    for (const auto& s : all) changed[s.conversation.id] = 0;
  } else {
    if (since->pts.size() <= static_cast<size_t>(partition)) return BadRequest("invalid sync token");
    int64_t since_pts = since->pts[partition];
    if (since_pts > state.pts) {
      // Ahead of the log: the store was restored from an older copy. The
      // entries after it will reuse those numbers, so start over.
      result.resync_required = true;
      result.reason = "the server's data was restored to an earlier point";
      return result;
    }
    if (since_pts < state.pts_floor) {
      result.resync_required = true;
      result.reason = "the sync token is older than the server keeps";
      return result;
    }
    NATTER_TRY(auto updates, txn.UserUpdatesSince(ctx.caller, since_pts, kMaxUpdates));
    result.rows_read += static_cast<int64_t>(updates.size());
    if (updates.size() >= static_cast<size_t>(kMaxUpdates)) {
      result.resync_required = true;
      result.reason = "too much changed since the sync token";
      return result;
    }
    for (const auto& u : updates) {
      Seq from = u.seq > 0 ? u.seq - 1 : kNoEvents;
      auto [it, inserted] = changed.emplace(u.conversation_id, from);
      if (!inserted && from != kNoEvents && (it->second == kNoEvents || from < it->second)) it->second = from;
    }
    for (const auto& c : larges) {
      auto known = since->large.find(c.id);
      Seq pos = known != since->large.end() ? known->second : 0;
      auto it = changed.find(c.id);
      if (known == since->large.end() && it != changed.end()) continue;  // joined since: the log says where
      if (c.last_seq > pos) {
        if (it == changed.end() || it->second == kNoEvents || pos < it->second) changed[c.id] = pos;
      }
    }
  }
  if (changed.size() > static_cast<size_t>(limits.max_sync_conversations) && since) {
    result.resync_required = true;
    result.reason = "too many conversations changed since the sync token";
    return result;
  }
  result.conversations.reserve(changed.size());
  for (const auto& [id, since_seq] : changed) {
    NATTER_TRY(auto entry, LoadChanged(txn, ctx, limits, id, since_seq, result.rows_read));
    result.conversations.push_back(std::move(entry));
  }
  return result;
}

Result<SyncResult> MergeCatchUps(std::vector<Result<SyncResult>> parts, const std::optional<SyncPosition>& since,
                                 const std::function<int(ConversationId)>& partition_of, size_t max_conversations) {
  SyncResult merged;
  merged.position.pts.resize(parts.size());
  for (size_t p = 0; p < parts.size(); ++p) {
    if (!parts[p].ok()) {
      // Only an instance that is down keeps the client's old position there;
      // any other failure (a token from the future after a restore) is the
      // whole answer.
      if (!since || parts[p].error().code != ErrorCode::kUnavailable) return parts[p].take_error();
      merged.position.pts[p] = since->pts[p];
      for (const auto& [id, seq] : since->large) {
        if (partition_of(id) == static_cast<int>(p)) merged.position.large[id] = seq;
      }
      continue;
    }
    SyncResult& part = *parts[p];
    if (part.resync_required) return std::move(part);
    merged.position.pts[p] = part.position.pts.front();
    merged.position.large.merge(part.position.large);
    merged.rows_read += part.rows_read;
    for (auto& c : part.conversations) merged.conversations.push_back(std::move(c));
  }
  if (!since && merged.conversations.size() > max_conversations) {
    // Each partition sent its newest; keep the newest of all, as one store would.
    std::sort(merged.conversations.begin(), merged.conversations.end(),
              [](const ConversationCatchUp& a, const ConversationCatchUp& b) {
                return a.conversation.last_activity > b.conversation.last_activity;
              });
    merged.conversations.resize(max_conversations);
  }
  return merged;
}

}  // namespace natter::chat
