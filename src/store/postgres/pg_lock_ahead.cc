// A writer batch's first step on PostgreSQL: its locks, taken in one order,
// and what its operations will read (pg_batch_view.h), in one round trip.
#include <algorithm>

#include "store/postgres/pg_txn.h"
#include "store/row_readers.h"

namespace natter::pg {

// The conversations of the batch ($1) whose rows this transaction holds or
// takes now without waiting.
#define HELD_CONVERSATIONS "(SELECT id FROM conversations WHERE id = ANY($1::bigint[]) FOR UPDATE SKIP LOCKED)"

// One index lookup per key, whatever the statistics say. As a plain join, the
// plan a writer keeps from a first run on a new, empty table hashed the keys
// and read every message with a client_msg_id, each batch, until the next
// ANALYZE (2.9-3.9 ms a batch on a fresh cluster). LIMIT 1 keeps the
// subquery from being flattened into such a join; both keys are unique.
const char* const PgTxn::kEarlierSendsSql =
    "SELECT m.* FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS k(k_conversation, k_sender, k_id) "
    "CROSS JOIN LATERAL (SELECT " MESSAGE_COLUMNS
    " FROM messages WHERE conversation_id = k_conversation "
    "AND sender_id = k_sender AND client_msg_id = k_id AND client_msg_id IS NOT NULL LIMIT 1) AS m";
const char* const PgTxn::kRepliedToSql =
    "SELECT m.* FROM unnest($1::bigint[], $2::bigint[]) AS k(k_conversation, k_seq) "
    "CROSS JOIN LATERAL (SELECT " MESSAGE_COLUMNS
    " FROM messages WHERE conversation_id = k_conversation "
    "AND seq = k_seq LIMIT 1) AS m";

// Takes, before any operation runs, the row locks the batch's operations
// will take: the conversations they change, in id order, then the update-log
// heads of those conversations' members (those not large: even when their
// messages are followed by seq, their receipts log every member), in user
// order. Batches of several nodes then always lock in the same order and
// never deadlock; one that changes members (whose new heads were not locked
// here) may, and is run again.
//
// A conversation another node's batch holds is passed over rather than
// waited for (`PassedOver`): its writes lead this writer's next batch, and
// this one goes on with the rest instead of sitting out the other's round
// trips and commit. Those in `wait_for` (passed over too often) are waited
// for, first and in id order; passing over never waits, so the order holds.
Status PgTxn::LockAhead(const std::vector<QueuedWrite>& batch, const std::vector<ConversationId>& wait_for) {
  view_.Clear();
  passed_over_.clear();
  std::vector<ConversationId> ids;
  std::vector<int64_t> send_conversations, senders;
  std::vector<std::string> client_msg_ids;
  std::vector<int64_t> reply_conversations, reply_seqs;
  for (const auto& w : batch) {
    if (w.conversation == 0) continue;
    ids.push_back(w.conversation);
    if (w.sender != 0 && !w.client_msg_id.empty()) {
      send_conversations.push_back(w.conversation);
      senders.push_back(w.sender);
      client_msg_ids.push_back(w.client_msg_id);
      if (w.reply_to > 0) {
        reply_conversations.push_back(w.conversation);
        reply_seqs.push_back(w.reply_to);
      }
    }
  }
  if (ids.empty()) return db_.ReadSent();  // BEGIN's answer: a dead connection shows before any op runs
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::string array = IdArray(ids);
  // Sent together: one round trip in pipeline mode.
  AheadTickets tickets;
  if (!wait_for.empty()) {
    std::vector<ConversationId> waited(wait_for);
    std::sort(waited.begin(), waited.end());
    NATTER_RETURN_IF_ERROR(db_.Defer("SELECT 1 FROM conversations WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE",
                                     {IdArray(waited)}));
  }
  NATTER_TRY(tickets.conversations, db_.Send("SELECT " CONVERSATION_COLUMNS " FROM conversations "
                                             "WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE SKIP LOCKED",
                                             {array}));
  NATTER_TRY(tickets.existing, db_.Send("SELECT id FROM conversations WHERE id = ANY($1::bigint[])", {array}));
  NATTER_RETURN_IF_ERROR(
      db_.Defer("INSERT INTO user_logs(user_id, pts) "
                "SELECT DISTINCT m.user_id, 0 FROM members m JOIN conversations c "
                "ON c.id = m.conversation_id WHERE m.conversation_id IN " HELD_CONVERSATIONS
                " AND NOT c.large ORDER BY 1 ON CONFLICT (user_id) DO NOTHING",
                {array}));
  NATTER_TRY(tickets.heads, db_.Send("SELECT user_id, pts FROM user_logs WHERE user_id IN (SELECT m.user_id "
                                     "FROM members m JOIN conversations c ON c.id = m.conversation_id "
                                     "WHERE m.conversation_id IN " HELD_CONVERSATIONS " AND NOT c.large) "
                                     "ORDER BY user_id FOR UPDATE",
                                     {array}));
  NATTER_TRY(tickets.members,
             db_.Send("SELECT " MEMBER_READ_COLUMNS " FROM members JOIN conversations c "
                      "ON c.id = conversation_id WHERE conversation_id = ANY($1::bigint[]) AND NOT c.large "
                      "ORDER BY conversation_id, user_id",
                      {array}));
  // Blocks live with the accounts: on the first instance, in the same round
  // trip (the two of each direct chat are its members). Only sends read them
  // ahead; an edit or a reaction asks itself.
  if (!senders.empty() && &accounts_ == &db_) {
    NATTER_TRY(tickets.blocks,
               db_.Send("WITH pair AS (SELECT m.user_id FROM members m JOIN conversations c "
                        "ON c.id = m.conversation_id WHERE c.id = ANY($1::bigint[]) AND c.kind = 'direct') "
                        "SELECT user_id, blocked_id, 0 FROM blocks WHERE user_id IN (SELECT user_id FROM pair) "
                        "AND blocked_id IN (SELECT user_id FROM pair) "
                        "UNION ALL SELECT id, 0, 1 FROM users WHERE id IN (SELECT user_id FROM pair) "
                        "AND erased_at <> 0",
                        {array}));
  }
  // After the locks: a send's earlier message cannot appear meanwhile.
  if (senders.empty()) return TakeAhead(tickets);
  NATTER_TRY(tickets.sent,
             db_.Send(kEarlierSendsSql, {IdArray(send_conversations), IdArray(senders), TextArray(client_msg_ids)}));
  for (size_t i = 0; i < senders.size(); ++i)
    tickets.looked_up.emplace_back(send_conversations[i], senders[i], client_msg_ids[i]);
  // The messages replied to: unchanged while the batch holds their
  // conversations, like the sends' earlier messages.
  if (!reply_seqs.empty()) {
    NATTER_TRY(tickets.replied, db_.Send(kRepliedToSql, {IdArray(reply_conversations), IdArray(reply_seqs)}));
    for (size_t i = 0; i < reply_seqs.size(); ++i) tickets.replies.emplace_back(reply_conversations[i], reply_seqs[i]);
  }
  return TakeAhead(tickets);
}

// The answers to LockAhead's statements, into the view.
Status PgTxn::TakeAhead(const AheadTickets& tickets) {
  NATTER_TRY(auto conversation_rows, db_.Take(tickets.conversations));
  NATTER_TRY(auto existing_rows, db_.Take(tickets.existing));
  NATTER_TRY(auto head_rows, db_.Take(tickets.heads));
  NATTER_TRY(auto member_rows, db_.Take(tickets.members));
  for (int i = 0; i < conversation_rows.size(); ++i) {
    Conversation c = rows::ReadConversation(conversation_rows.At(i));
    if (!c.large) view_.members[c.id];  // known, even with no member
    view_.conversations.emplace(c.id, std::move(c));
  }
  // One that does not exist is not passed over: its writes find that out.
  for (int i = 0; i < existing_rows.size(); ++i) {
    if (!view_.conversations.contains(existing_rows.Int(i, 0))) passed_over_.insert(existing_rows.Int(i, 0));
  }
  for (int i = 0; i < head_rows.size(); ++i) view_.heads.emplace(head_rows.Int(i, 0), head_rows.Int(i, 1));
  for (int i = 0; i < member_rows.size(); ++i) {
    Member m = rows::ReadMember(member_rows.At(i));
    auto it = view_.members.find(m.conversation_id);
    if (it != view_.members.end()) it->second.push_back(std::move(m));  // of a conversation read above
  }
  if (tickets.sent) {
    NATTER_TRY(auto sent_rows, db_.Take(*tickets.sent));
    for (const auto& key : tickets.looked_up) view_.sent.emplace(key, std::nullopt);
    for (int i = 0; i < sent_rows.size(); ++i) {
      Message m = rows::ReadMessage(sent_rows.At(i));
      view_.sent[std::tuple{m.conversation_id, m.sender_id, m.client_msg_id}] = std::move(m);
    }
  }
  if (tickets.replied) {
    NATTER_TRY(auto replied_rows, db_.Take(*tickets.replied));
    for (const auto& key : tickets.replies) view_.replied.emplace(key, std::nullopt);
    for (int i = 0; i < replied_rows.size(); ++i) {
      Message m = rows::ReadMessage(replied_rows.At(i));
      view_.replied[std::pair{m.conversation_id, m.seq}] = std::move(m);
    }
  }
  return tickets.sent ? ReadBlocksAhead(tickets.blocks) : OkStatus();
}

// The blocks between the two of each direct chat: sent with the rest on the
// first instance (`sent`), read from the accounts instance elsewhere.
Status PgTxn::ReadBlocksAhead(std::optional<int> sent) {
  std::vector<UserId> users;
  for (const auto& [id, c] : view_.conversations) {
    const auto* members = view_.MembersOf(id);
    if (c.kind != ConversationKind::kDirect || !members) continue;
    for (const auto& m : *members) users.push_back(m.user_id);
  }
  std::optional<Rows> taken;
  if (sent) {
    NATTER_TRY(taken, db_.Take(*sent));
  } else if (!users.empty()) {
    auto read = accounts_.Query(
        "SELECT user_id, blocked_id, 0 FROM blocks "
        "WHERE user_id = ANY($1::bigint[]) AND blocked_id = ANY($1::bigint[]) "
        "UNION ALL SELECT id, 0, 1 FROM users WHERE id = ANY($1::bigint[]) "
        "AND erased_at <> 0",
        {IdArray(users)});
    // With the accounts instance down, the batch goes on without them: only
    // a direct send, which reads its blocks itself then, fails.
    if (read.ok()) taken = std::move(*read);
  }
  if (!taken) return OkStatus();
  const Rows& r = *taken;
  for (int i = 0; i < r.size(); ++i) {
    if (r.Int(i, 2) == 1) {
      view_.erased.insert(r.Int(i, 0));
    } else {
      view_.blocks.emplace(r.Int(i, 0), r.Int(i, 1));
    }
  }
  view_.block_users.insert(users.begin(), users.end());
  return OkStatus();
}

#undef HELD_CONVERSATIONS

}  // namespace natter::pg
