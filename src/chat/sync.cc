#include "chat/sync.h"

#include <algorithm>
#include <tuple>

namespace natter::chat {
namespace {

// Update-log entries read at a time; a catch-up with more takes several answers.
constexpr int kUpdatesPerRead = 10000;
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
  if (out.conversation.encrypted) NATTER_RETURN_IF_ERROR(txn.LoadEnvelopes(out.events, ctx.caller));
  return out;
}

ListCursor CursorOf(const Conversation& c) { return ListCursor{c.last_activity, c.id}; }

// A page of a fresh catch-up's listing: conversations after `after`, each
// with its newest page of events. True when more follow.
Result<bool> ListingPage(ConversationTxn& txn, const Context& ctx, const ChatLimits& limits, ListCursor after,
                         std::map<ConversationId, Seq>& changed, SyncResult& result) {
  // One more than a page: whether anything follows is known without asking again.
  const size_t size = static_cast<size_t>(limits.max_sync_conversations);
  NATTER_TRY(auto page, txn.ListConversations(ctx.caller, limits.max_sync_conversations + 1, after));
  result.rows_read += static_cast<int64_t>(page.size());
  bool full = page.size() > size;
  if (full) page.resize(size);
  for (const auto& s : page) changed[s.conversation.id] = 0;
  if (full) result.position.listing = CursorOf(page.back().conversation);
  return full;
}

// What changed since `since_pts`, by the update log, up to a page of
// conversations: false when the log was read to its end, true when the page
// stopped early (the position's pts then stops at the last entry it took).
Result<bool> ChangedSince(ConversationTxn& txn, const Context& ctx, const ChatLimits& limits, int64_t since_pts,
                          std::map<ConversationId, Seq>& changed, SyncResult& result) {
  const size_t page = static_cast<size_t>(limits.max_sync_conversations);
  NATTER_TRY(auto updates, txn.UserUpdatesSince(ctx.caller, since_pts, kUpdatesPerRead));
  result.rows_read += static_cast<int64_t>(updates.size());
  int64_t taken = since_pts;
  for (const auto& u : updates) {
    if (!changed.contains(u.conversation_id) && changed.size() >= page) {
      result.position.pts = {taken};
      return true;
    }
    Seq from = u.seq > 0 ? u.seq - 1 : kNoEvents;
    auto [it, inserted] = changed.emplace(u.conversation_id, from);
    if (!inserted && from != kNoEvents && (it->second == kNoEvents || from < it->second)) it->second = from;
    taken = u.pts;
  }
  if (updates.size() < static_cast<size_t>(kUpdatesPerRead)) return false;
  result.position.pts = {taken};
  return true;
}

}  // namespace

Result<SyncResult> CatchUp(ConversationTxn& txn, const Context& ctx, const ChatLimits& limits,
                           const std::optional<SyncPosition>& since, int partition) {
  SyncResult result;
  // Conversation -> the seq after which events are missing (or kNoEvents).
  std::map<ConversationId, Seq> changed;
  if (since && since->pts.size() <= static_cast<size_t>(partition)) return BadRequest("invalid sync token");
  if (since && since->listing) {
    // A fresh catch-up's next page: the position stays where its first page
    // found it, so what changes meanwhile comes with the syncs after.
    result.position = *since;
    result.position.pts = {since->pts[partition]};
    result.position.listing.reset();
    if (auto page = ListingPage(txn, ctx, limits, *since->listing, changed, result); !page.ok()) {
      return page.take_error();
    }
    result.more = true;  // at least the changes made while it was listing
  } else {
    NATTER_TRY(auto state, txn.GetUpdateLogState(ctx.caller));
    NATTER_TRY(auto followed, txn.ListBySeqConversations(ctx.caller));
    result.rows_read += 1 + static_cast<int64_t>(followed.size());
    result.position.pts = {state.pts};
    for (const auto& c : followed) result.position.by_seq[c.id] = c.last_seq;
    if (!since) {
      NATTER_TRY(result.more, ListingPage(txn, ctx, limits, ListCursor{}, changed, result));
    } else {
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
      NATTER_TRY(result.more, ChangedSince(txn, ctx, limits, since_pts, changed, result));
      // A conversation followed by seq that the token has no position in was
      // joined (or made) since. Its log entry says from where, except one at
      // no seq (its creation, a receipt): then from its start, or what was
      // sent between its creation and this sync would never come.
      for (const auto& c : followed) {
        auto it = changed.find(c.id);
        if (it != changed.end() && it->second == kNoEvents && !since->by_seq.contains(c.id)) it->second = 0;
      }
      if (result.more) {
        // Conversations followed by seq are compared on the last page; until then
        // their positions stay. One this page loads anyway (the log named
        // it) is sent from the token's position in it, so nothing between is
        // skipped, and its position moves on below.
        result.position.by_seq = since->by_seq;
        for (auto& [id, from] : changed) {
          auto known = since->by_seq.find(id);
          if (known != since->by_seq.end() && (from == kNoEvents || known->second < from)) from = known->second;
        }
      } else {
        for (const auto& c : followed) {
          auto known = since->by_seq.find(c.id);
          Seq pos = known != since->by_seq.end() ? known->second : 0;
          auto it = changed.find(c.id);
          if (known == since->by_seq.end() && it != changed.end()) continue;  // joined since: the log says where
          if (c.last_seq > pos) {
            if (it == changed.end() || it->second == kNoEvents || pos < it->second) changed[c.id] = pos;
          }
        }
      }
    }
  }
  result.conversations.reserve(changed.size());
  for (const auto& [id, since_seq] : changed) {
    NATTER_TRY(auto entry, LoadChanged(txn, ctx, limits, id, since_seq, result.rows_read));
    if (!entry.removed && entry.conversation.by_seq) result.position.by_seq[id] = entry.conversation.last_seq;
    result.conversations.push_back(std::move(entry));
  }
  return result;
}

Result<SyncResult> MergeCatchUps(std::vector<Result<SyncResult>> parts, const std::optional<SyncPosition>& since,
                                 const std::function<int(ConversationId)>& partition_of, size_t max_conversations) {
  SyncResult merged;
  merged.position.pts.resize(parts.size());
  const bool listing = !since || since->listing;
  bool listing_goes_on = false;
  for (size_t p = 0; p < parts.size(); ++p) {
    if (!parts[p].ok()) {
      // Only an instance that is down keeps the client's old position there;
      // any other failure (a token from the future after a restore) is the
      // whole answer. A listing cannot skip an instance: it is retried.
      if (listing || parts[p].error().code != ErrorCode::kUnavailable) return parts[p].take_error();
      merged.position.pts[p] = since->pts[p];
      for (const auto& [id, seq] : since->by_seq) {
        if (partition_of(id) == static_cast<int>(p)) merged.position.by_seq[id] = seq;
      }
      continue;
    }
    SyncResult& part = *parts[p];
    if (part.resync_required) return std::move(part);
    merged.position.pts[p] = part.position.pts.front();
    // A partition answers for its own conversations followed by seq (a page that kept
    // the token's positions holds every partition's: only its own count).
    for (const auto& [id, seq] : part.position.by_seq) {
      if (partition_of(id) == static_cast<int>(p)) merged.position.by_seq.insert_or_assign(id, seq);
    }
    merged.rows_read += part.rows_read;
    merged.more |= part.more;
    listing_goes_on |= part.position.listing.has_value();
    for (auto& c : part.conversations) merged.conversations.push_back(std::move(c));
  }
  if (listing && (listing_goes_on || merged.conversations.size() > max_conversations)) {
    // Each partition sent its newest after the cursor; keep the newest of
    // all, as one store would, and go on after the last one kept.
    std::sort(merged.conversations.begin(), merged.conversations.end(),
              [](const ConversationCatchUp& a, const ConversationCatchUp& b) {
                return std::tie(a.conversation.last_activity, a.id) > std::tie(b.conversation.last_activity, b.id);
              });
    if (merged.conversations.size() > max_conversations) merged.conversations.resize(max_conversations);
    if (!merged.conversations.empty()) {
      merged.position.listing = CursorOf(merged.conversations.back().conversation);
    } else if (since && since->listing) {
      merged.position.listing = since->listing;
    }
    merged.more = true;
  }
  return merged;
}

}  // namespace natter::chat
