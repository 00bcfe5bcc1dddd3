// PgTxn's push devices, settings, mutes and push queue. Devices and settings
// live with the accounts (the first instance); mutes, the queue and who was
// alerted live with each conversation.
#include "store/postgres/pg_txn.h"
#include "store/push_row_readers.h"

namespace natter::pg {
namespace {

using rows::ReadPushDevice;
using rows::ReadPushJob;

}  // namespace

Status PgTxn::PutPushDevice(const PushDevice& d) {
  // A revoked session's device would get pushes nobody may read. FOR SHARE:
  // a revocation committing meanwhile waits for this, or this for it.
  NATTER_TRY(auto session, accounts_.Query("SELECT revoked FROM sessions WHERE id = $1 FOR SHARE", {d.session_id}));
  if (session.empty() || session.Bool(0, 0)) return Unauthorized("the session has ended");
  // One token, one device: the token leaves whichever session held it.
  NATTER_TRY(auto moved, accounts_.Query("DELETE FROM push_devices WHERE platform = $1 AND token = $2 "
                                         "AND session_id <> $3",
                                         {d.platform, d.token, d.session_id}));
  NATTER_TRY(
      auto r,
      accounts_.Query("INSERT INTO push_devices(session_id, user_id, platform, token, topic, environment, "
                      "locale, updated_at) VALUES($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT (session_id) DO UPDATE "
                      "SET platform = excluded.platform, token = excluded.token, topic = excluded.topic, "
                      "environment = excluded.environment, locale = excluded.locale, "
                      "updated_at = excluded.updated_at",
                      {d.session_id, d.user_id, d.platform, d.token, d.topic, d.environment, d.locale, d.updated_at}));
  return OkStatus();
}

Status PgTxn::DeletePushDevice(SessionId session) {
  NATTER_TRY(auto r, accounts_.Query("DELETE FROM push_devices WHERE session_id = $1", {session}));
  return OkStatus();
}

Result<std::optional<PushDevice>> PgTxn::FindPushDevice(SessionId session) {
  NATTER_TRY(
      auto r,
      accounts_.Query("SELECT " PUSH_DEVICE_COLUMNS " FROM " PUSH_DEVICE_TABLES " WHERE d.session_id = $1", {session}));
  if (r.empty()) return std::optional<PushDevice>();
  return std::optional<PushDevice>(ReadPushDevice<Row>(r.At(0)));
}

Result<bool> PgTxn::DeletePushToken(std::string_view platform, std::string_view token) {
  NATTER_TRY(auto r, accounts_.Query("DELETE FROM push_devices WHERE platform = $1 AND token = $2", {platform, token}));
  return r.affected() > 0;
}

Result<std::vector<PushDevice>> PgTxn::ListPushDevices(const std::vector<UserId>& users) {
  NATTER_TRY(auto r, accounts_.Query("SELECT " PUSH_DEVICE_COLUMNS " FROM " PUSH_DEVICE_TABLES
                                     " WHERE d.user_id = ANY($1::bigint[]) "
                                     "ORDER BY d.user_id, d.session_id",
                                     {IdArray(users)}));
  std::vector<PushDevice> out;
  out.reserve(r.size());
  for (int i = 0; i < r.size(); ++i) out.push_back(ReadPushDevice<Row>(r.At(i)));
  return out;
}

Status PgTxn::SetPushLive(SessionId session, int node, bool live, int64_t last_heard_ms) {
  if (live) {
    NATTER_TRY(auto r, accounts_.Query("INSERT INTO push_presence(session_id, live_nodes) VALUES($2, 1::bigint << $1) "
                                       "ON CONFLICT (session_id) DO UPDATE "
                                       "SET live_nodes = push_presence.live_nodes | (1::bigint << $1)",
                                       {node, session}));
    return OkStatus();
  }
  NATTER_TRY(auto r,
             accounts_.Query("INSERT INTO push_presence(session_id, live_nodes, last_live_at) VALUES($2, 0, $3) "
                             "ON CONFLICT (session_id) DO UPDATE "
                             "SET live_nodes = push_presence.live_nodes & ~(1::bigint << $1), "
                             "last_live_at = greatest(push_presence.last_live_at, $3)",
                             {node, session, last_heard_ms}));
  return OkStatus();
}

Status PgTxn::SeePushNode(int node, int64_t now_ms) {
  NATTER_TRY(auto r, accounts_.Query("INSERT INTO push_nodes(node_id, seen_at) VALUES($1, $2) "
                                     "ON CONFLICT (node_id) DO UPDATE SET seen_at = excluded.seen_at",
                                     {node, now_ms}));
  return OkStatus();
}

Status PgTxn::ForgetPushNode(int node) {
  NATTER_TRY(auto r, accounts_.Query("DELETE FROM push_nodes WHERE node_id = $1", {node}));
  return OkStatus();
}

Result<int64_t> PgTxn::PushNodesSeenSince(int64_t since_ms) {
  NATTER_TRY(auto r, accounts_.Query("SELECT node_id FROM push_nodes WHERE seen_at >= $1", {since_ms}));
  int64_t mask = 0;
  for (int i = 0; i < r.size(); ++i) mask |= int64_t{1} << r.Int(i, 0);
  return mask;
}

Status PgTxn::PrunePushPresence(int64_t before_ms) {
  NATTER_TRY(auto r,
             accounts_.Query("DELETE FROM push_presence WHERE live_nodes = 0 AND last_live_at < $1", {before_ms}));
  return OkStatus();
}

Status PgTxn::SetPushPreview(UserId id, bool show) {
  NATTER_TRY(auto r, accounts_.Query("UPDATE users SET push_preview = $1 WHERE id = $2", {show, id}));
  return OkStatus();
}

Result<bool> PgTxn::GetPushPreview(UserId id) {
  NATTER_TRY(auto r, accounts_.Query("SELECT push_preview FROM users WHERE id = $1", {id}));
  return r.empty() || r.Bool(0, 0);
}

Status PgTxn::SetMute(ConversationId c, UserId u, int64_t until) {
  NATTER_TRY(auto r, db_.Query("UPDATE members SET muted_until = $1 WHERE conversation_id = $2 AND user_id = $3",
                               {until, c, u}));
  return OkStatus();
}

Status PgTxn::QueuePush(const PushJob& job) {
  // A conversation's job for a batch of sends: kept back with the sends'
  // writes, one per conversation. Sent without waiting otherwise (pg_conn.h).
  if (job.user_id == 0) {
    kept_.PushJob(job.conversation_id, job.first_seq, job.last_seq, job.due_at);
    return Keep();
  }
  return db_.Defer(
      "INSERT INTO push_queue(conversation_id, user_id, first_seq, last_seq, due_at) "
      "VALUES($1,$5,$2,$3,$4) " PUSH_CLEAR_JOB_CONFLICT,
      {job.conversation_id, job.first_seq, job.last_seq, job.due_at, job.user_id});
}

Result<std::vector<PushJob>> PgTxn::ClaimPushJobs(int64_t now, int64_t lease_until, int limit, int64_t claim) {
  // SKIP LOCKED: two nodes claiming at once take different jobs; a job one
  // has claimed is past its lease check for the other once committed.
  NATTER_TRY(auto r, db_.Query("UPDATE push_queue SET claimed_until = $1, claim = $4 WHERE id IN (SELECT id "
                               "FROM push_queue WHERE due_at <= $2 AND claimed_until <= $2 ORDER BY due_at LIMIT $3 "
                               "FOR UPDATE SKIP LOCKED) RETURNING " PUSH_JOB_COLUMNS,
                               {lease_until, now, limit, claim}));
  std::vector<PushJob> out;
  out.reserve(r.size());
  for (int i = 0; i < r.size(); ++i) out.push_back(ReadPushJob<Row>(r.At(i)));
  return out;
}

Result<bool> PgTxn::RenewPushClaim(const PushJob& job, int64_t lease_until) {
  NATTER_TRY(auto r, db_.Query("UPDATE push_queue SET claimed_until = $1 WHERE id = $2 AND claim = $3",
                               {lease_until, job.id, job.claim}));
  return r.affected() > 0;
}

Status PgTxn::FinishPushJob(const PushJob& job, int64_t next_due) {
  NATTER_TRY(auto done, db_.Query("DELETE FROM push_queue WHERE id = $1 AND claim = $2 AND last_seq <= $3",
                                  {job.id, job.claim, job.last_seq}));
  if (done.affected() > 0) return OkStatus();
  NATTER_TRY(auto rest, db_.Query("UPDATE push_queue SET first_seq = $1, due_at = $2, claimed_until = 0, claim = 0, "
                                  "attempts = 0 WHERE id = $3 AND claim = $4",
                                  {job.last_seq + 1, next_due, job.id, job.claim}));
  return OkStatus();
}

Status PgTxn::RetryPushJob(const PushJob& job, int64_t due_at) {
  NATTER_TRY(auto r, db_.Query("UPDATE push_queue SET due_at = $1, claimed_until = 0, claim = 0, "
                               "attempts = attempts + 1 WHERE id = $2 AND claim = $3",
                               {due_at, job.id, job.claim}));
  return OkStatus();
}

Result<std::vector<PushRecipient>> PgTxn::ListPushRecipients(ConversationId c, Seq seq) {
  NATTER_TRY(auto r, db_.Query("SELECT m.user_id, m.read_seq, m.muted_until, coalesce(s.seq, 0) FROM members m "
                               "LEFT JOIN push_shown s ON s.conversation_id = m.conversation_id "
                               "AND s.user_id = m.user_id WHERE m.conversation_id = $1 AND m.read_seq < $2 "
                               "ORDER BY m.user_id",
                               {c, seq}));
  std::vector<PushRecipient> out;
  out.reserve(r.size());
  for (int i = 0; i < r.size(); ++i) {
    out.push_back(PushRecipient{r.Int(i, 0), r.Int(i, 1), r.Int(i, 2), r.Int(i, 3)});
  }
  return out;
}

Result<int64_t> PgTxn::CountUnread(UserId u) {
  // The unread of conversations.list, summed.
  NATTER_TRY(auto r, db_.Query("SELECT coalesce(sum((SELECT count(*) FROM messages x "
                               "WHERE x.conversation_id = m.conversation_id AND x.seq > m.read_seq "
                               "AND x.kind = 'message' AND NOT x.deleted AND x.sender_id <> m.user_id)), 0) "
                               "FROM members m WHERE m.user_id = $1",
                               {u}));
  return r.Int(0, 0);
}

Status PgTxn::MarkPushShown(ConversationId c, UserId u, Seq seq) {
  NATTER_TRY(auto r, db_.Query("INSERT INTO push_shown(conversation_id, user_id, seq) VALUES($1,$2,$3) "
                               "ON CONFLICT (conversation_id, user_id) DO UPDATE "
                               "SET seq = greatest(push_shown.seq, excluded.seq)",
                               {c, u, seq}));
  return OkStatus();
}

Status PgTxn::ClearPushShown(ConversationId c, UserId u, Seq read_seq, int64_t due_at) {
  // Nothing waits for an answer: the statement itself queues the clear job
  // when it took an alert.
  kept_.ClearShown(c, u, read_seq, due_at);
  return Keep();
}

Result<PushQueueStats> PgTxn::GetPushQueueStats() {
  NATTER_TRY(auto r, db_.Query("SELECT count(*), coalesce(min(due_at), 0) FROM push_queue"));
  return PushQueueStats{r.Int(0, 0), r.Int(0, 1)};
}

}  // namespace natter::pg
