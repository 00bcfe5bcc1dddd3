#include "store/postgres/pg_kept_writes.h"

#include <algorithm>

namespace natter::pg {
namespace {

// Four bigint columns of what `kept` holds, in key order: `row` gives each
// entry's values.
template <class Map, class Row>
std::array<std::vector<int64_t>, 4> FourColumns(const Map& kept, Row row) {
  std::array<std::vector<int64_t>, 4> columns;
  for (const auto& [key, value] : kept) {
    std::array<int64_t, 4> values = row(key, value);
    for (size_t i = 0; i < values.size(); ++i) columns[i].push_back(values[i]);
  }
  return columns;
}

}  // namespace

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

void KeptWrites::PushJob(ConversationId c, Seq first_seq, Seq last_seq, int64_t due_at) {
  auto [it, added] = push_jobs_.emplace(c, SeqsDue{first_seq, last_seq, due_at});
  if (!added) {
    it->second.first = std::min(it->second.first, first_seq);
    it->second.last = std::max(it->second.last, last_seq);
    it->second.due_at = std::min(it->second.due_at, due_at);
  }
  ++count_;
}

void KeptWrites::ClearShown(ConversationId c, UserId user, Seq read_seq, int64_t due_at) {
  auto [it, added] = cleared_.emplace(std::pair{c, user}, SeqsDue{read_seq, read_seq, due_at});
  if (!added && read_seq >= it->second.last) it->second = SeqsDue{read_seq, read_seq, due_at};
  ++count_;
}

void KeptWrites::Webhook(const WebhookJob& job) {
  ++count_;
  if (!webhook_events_.insert(job.event_id).second) return;
  const Param row[kWebhookColumns] = {job.event_id, job.type,       job.conversation_id, job.seq,
                                      job.subject,  job.created_at, job.due_at};
  for (size_t i = 0; i < kWebhookColumns; ++i) webhooks_[i].push_back(row[i]);
}

bool KeptWrites::empty() const {
  return conversations_.empty() && messages_[0].empty() && entries_[0].empty() && watermarks_.empty() &&
         push_jobs_.empty() && cleared_.empty() && webhooks_[0].empty();
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
  if (sent.ok() && !push_jobs_.empty()) {
    auto job = FourColumns(push_jobs_, [](ConversationId c, const SeqsDue& j) {
      return std::array<int64_t, 4>{c, j.first, j.last, j.due_at};
    });
    sent = db.Defer(
        "INSERT INTO push_queue(conversation_id, user_id, first_seq, last_seq, due_at) "
        "SELECT c, 0, f, l, d FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[]) "
        "AS x(c, f, l, d) " PUSH_JOB_CONFLICT,
        {IdArray(job[0]), IdArray(job[1]), IdArray(job[2]), IdArray(job[3])});
  }
  if (sent.ok() && !cleared_.empty()) {
    auto clear = FourColumns(cleared_, [](const std::pair<ConversationId, UserId>& key, const SeqsDue& j) {
      return std::array<int64_t, 4>{key.first, key.second, j.last, j.due_at};  // the read seq
    });
    sent = db.Defer(
        "WITH taken AS (DELETE FROM push_shown s "
        "USING unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[]) AS x(c, u, r, d) "
        "WHERE s.conversation_id = x.c AND s.user_id = x.u AND s.seq <= x.r RETURNING x.c, x.u, x.r, x.d) "
        "INSERT INTO push_queue(conversation_id, user_id, first_seq, last_seq, due_at) "
        "SELECT c, u, r, r, d FROM taken " PUSH_CLEAR_JOB_CONFLICT,
        {IdArray(clear[0]), IdArray(clear[1]), IdArray(clear[2]), IdArray(clear[3])});
  }
  if (sent.ok() && !webhooks_[0].empty()) {
    const auto& w = webhooks_;  // in the order queued: the ids keep it
    sent = db.Defer(
        "INSERT INTO webhook_queue(event_id, type, conversation_id, seq, subject, created_at, due_at) "
        "SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], "
        "$7::bigint[]) ON CONFLICT (event_id) DO NOTHING",
        {ArrayOf(w[0]), ArrayOf(w[1]), ArrayOf(w[2]), ArrayOf(w[3]), ArrayOf(w[4]), ArrayOf(w[5]), ArrayOf(w[6])});
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
  push_jobs_.clear();
  cleared_.clear();
  for (auto& column : webhooks_) column.clear();
  webhook_events_.clear();
}

}  // namespace natter::pg
