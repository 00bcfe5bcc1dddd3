#include "store/postgres/pg_kept_writes.h"

#include <algorithm>

namespace natter::pg {

void KeptWrites::ConversationSeq(ConversationId id, Seq last_seq, int64_t last_activity) {
  conversations_[id] = {last_seq, last_activity};
  ++count_;
}

void KeptWrites::Message(const natter::Message& m) {
  const Param row[kMessageColumns] = {m.conversation_id,
                                      m.seq,
                                      m.sender_id,
                                      m.client_msg_id.empty() ? Param::Null() : Param(m.client_msg_id),
                                      m.text,
                                      m.reply_to,
                                      m.created_at,
                                      EventKindName(m.kind),
                                      m.target_seq,
                                      m.target_user,
                                      m.edited_at,
                                      m.deleted,
                                      m.attachments};
  for (size_t i = 0; i < kMessageColumns; ++i) messages_[i].push_back(row[i]);
  ++count_;
}

void KeptWrites::LogEntry(UserId user, int64_t pts, ConversationId c, Seq seq) {
  heads_[user] = pts;
  entries_[0].push_back(user);
  entries_[1].push_back(pts);
  entries_[2].push_back(c);
  entries_[3].push_back(seq);
  ++count_;
}

void KeptWrites::Watermarks(ConversationId c, UserId user, Seq seq) {
  auto [it, added] = watermarks_.emplace(std::pair{c, user}, seq);
  if (!added) it->second = std::max(it->second, seq);
  ++count_;
}

bool KeptWrites::empty() const {
  return conversations_.empty() && messages_[0].empty() && entries_[0].empty() && watermarks_.empty();
}

Status KeptWrites::SendTo(Connection& db) {
  Status sent = OkStatus();
  if (!conversations_.empty()) {
    std::vector<int64_t> ids, seqs, activity;
    for (const auto& [id, at] : conversations_) {
      ids.push_back(id);
      seqs.push_back(at.first);
      activity.push_back(at.second);
    }
    sent = db.Defer(
        "UPDATE conversations AS c SET last_seq = x.s, last_activity = x.a "
        "FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS x(id, s, a) WHERE c.id = x.id",
        {IdArray(ids), IdArray(seqs), IdArray(activity)});
  }
  if (sent.ok() && !messages_[0].empty()) {
    const auto& m = messages_;
    sent = db.Defer(
        "INSERT INTO messages(conversation_id, seq, sender_id, client_msg_id, body, reply_to, created_at, kind, "
        "target_seq, target_user, edited_at, deleted, attachments) "
        "SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::bigint[], "
        "$7::bigint[], $8::text[], $9::bigint[], $10::bigint[], $11::bigint[], $12::boolean[], $13::text[])",
        {ArrayOf(m[0]), ArrayOf(m[1]), ArrayOf(m[2]), ArrayOf(m[3]), ArrayOf(m[4]), ArrayOf(m[5]), ArrayOf(m[6]),
         ArrayOf(m[7]), ArrayOf(m[8]), ArrayOf(m[9]), ArrayOf(m[10]), ArrayOf(m[11]), ArrayOf(m[12])});
  }
  if (sent.ok() && !entries_[0].empty()) {
    // An upsert finds each head through the key (an UPDATE ... FROM the
    // arrays may scan the table); each head once, at its last entry.
    std::vector<int64_t> users, heads;
    for (const auto& [user, pts] : heads_) {
      users.push_back(user);
      heads.push_back(pts);
    }
    sent = db.Defer(
        "WITH heads AS (INSERT INTO user_logs(user_id, pts) SELECT * FROM unnest($1::bigint[], $2::bigint[]) "
        "ON CONFLICT (user_id) DO UPDATE SET pts = excluded.pts) "
        "INSERT INTO user_updates(user_id, pts, conversation_id, seq) "
        "SELECT * FROM unnest($3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[])",
        {IdArray(users), IdArray(heads), IdArray(entries_[0]), IdArray(entries_[1]), IdArray(entries_[2]),
         IdArray(entries_[3])});
  }
  if (sent.ok() && !watermarks_.empty()) {
    std::vector<int64_t> conversations, users, seqs;
    for (const auto& [key, seq] : watermarks_) {
      conversations.push_back(key.first);
      users.push_back(key.second);
      seqs.push_back(seq);
    }
    sent = db.Defer(
        "UPDATE members AS m SET read_seq = greatest(m.read_seq, x.s), delivered_seq = greatest(m.delivered_seq, x.s) "
        "FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS x(c, u, s) "
        "WHERE m.conversation_id = x.c AND m.user_id = x.u",
        {IdArray(conversations), IdArray(users), IdArray(seqs)});
  }
  Clear();
  return sent;
}

void KeptWrites::Clear() {
  conversations_.clear();
  for (auto& column : messages_) column.clear();
  heads_.clear();
  for (auto& column : entries_) column.clear();
  watermarks_.clear();
}

}  // namespace natter::pg
