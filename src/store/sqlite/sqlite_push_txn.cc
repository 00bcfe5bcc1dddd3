// SqliteTxn's push devices, settings, mutes and push queue.
#include <string>

#include "store/push_row_readers.h"
#include "store/sqlite/sqlite_txn.h"

namespace natter::sqlite {
namespace {

using rows::ReadPushDevice;
using rows::ReadPushJob;

}  // namespace

Status SqliteTxn::PutPushDevice(const PushDevice& d) {
  // A revoked session's device would get pushes nobody may read.
  auto session = db_.Prepare("SELECT revoked FROM sessions WHERE id = ?");
  session.Bind(1, d.session_id);
  NATTER_TRY(bool found, session.Step());
  if (!found || session.Bool(0)) return Unauthorized("the session has ended");
  // One token, one device: the token leaves whichever session held it.
  auto moved = db_.Prepare("DELETE FROM push_devices WHERE platform = ? AND token = ? AND session_id != ?");
  moved.Bind(1, d.platform).Bind(2, d.token).Bind(3, d.session_id);
  NATTER_RETURN_IF_ERROR(moved.Run());
  auto s = db_.Prepare(
      "INSERT INTO push_devices(session_id, user_id, platform, token, topic, environment, locale, updated_at) "
      "VALUES(?,?,?,?,?,?,?,?) ON CONFLICT(session_id) DO UPDATE SET platform = excluded.platform, "
      "token = excluded.token, topic = excluded.topic, environment = excluded.environment, "
      "locale = excluded.locale, updated_at = excluded.updated_at");
  s.Bind(1, d.session_id)
      .Bind(2, d.user_id)
      .Bind(3, d.platform)
      .Bind(4, d.token)
      .Bind(5, d.topic)
      .Bind(6, d.environment)
      .Bind(7, d.locale)
      .Bind(8, d.updated_at);
  return s.Run();
}

Status SqliteTxn::DeletePushDevice(SessionId session) {
  auto s = db_.Prepare("DELETE FROM push_devices WHERE session_id = ?");
  s.Bind(1, session);
  return s.Run();
}

Result<std::optional<PushDevice>> SqliteTxn::FindPushDevice(SessionId session) {
  auto s = db_.Prepare("SELECT " PUSH_DEVICE_COLUMNS " FROM " PUSH_DEVICE_TABLES " WHERE d.session_id = ?");
  s.Bind(1, session);
  NATTER_TRY(bool row, s.Step());
  if (!row) return std::optional<PushDevice>();
  return std::optional<PushDevice>(ReadPushDevice<Statement>(s));
}

Result<bool> SqliteTxn::DeletePushToken(std::string_view platform, std::string_view token) {
  auto s = db_.Prepare("DELETE FROM push_devices WHERE platform = ? AND token = ?");
  s.Bind(1, platform).Bind(2, token);
  NATTER_RETURN_IF_ERROR(s.Run());
  return db_.changes() > 0;
}

Result<std::vector<PushDevice>> SqliteTxn::ListPushDevices(const std::vector<UserId>& users) {
  auto s = db_.Prepare("SELECT " PUSH_DEVICE_COLUMNS " FROM " PUSH_DEVICE_TABLES
                       " WHERE d.user_id IN (SELECT value FROM json_each(?)) ORDER BY d.user_id, d.session_id");
  s.Bind(1, JsonIds(users));
  std::vector<PushDevice> out;
  for (;;) {
    NATTER_TRY(bool row, s.Step());
    if (!row) return out;
    out.push_back(ReadPushDevice<Statement>(s));
  }
}

Status SqliteTxn::SetPushLive(SessionId session, int node, bool live, int64_t last_heard_ms) {
  auto s = db_.Prepare(live ? "INSERT INTO push_presence(session_id, live_nodes) VALUES(?2, 1 << ?1) "
                              "ON CONFLICT(session_id) DO UPDATE SET live_nodes = live_nodes | (1 << ?1)"
                            : "INSERT INTO push_presence(session_id, live_nodes, last_live_at) VALUES(?2, 0, ?3) "
                              "ON CONFLICT(session_id) DO UPDATE SET live_nodes = live_nodes & ~(1 << ?1), "
                              "last_live_at = max(last_live_at, ?3)");
  s.Bind(1, int64_t{node}).Bind(2, session);
  if (!live) s.Bind(3, last_heard_ms);
  return s.Run();
}

Status SqliteTxn::SeePushNode(int node, int64_t now_ms) {
  auto s = db_.Prepare(
      "INSERT INTO push_nodes(node_id, seen_at) VALUES(?, ?) ON CONFLICT(node_id) DO UPDATE SET seen_at = "
      "excluded.seen_at");
  s.Bind(1, int64_t{node}).Bind(2, now_ms);
  return s.Run();
}

Status SqliteTxn::ForgetPushNode(int node) {
  auto s = db_.Prepare("DELETE FROM push_nodes WHERE node_id = ?");
  s.Bind(1, int64_t{node});
  return s.Run();
}

Result<int64_t> SqliteTxn::PushNodesSeenSince(int64_t since_ms) {
  auto s = db_.Prepare("SELECT node_id FROM push_nodes WHERE seen_at >= ?");
  s.Bind(1, since_ms);
  int64_t mask = 0;
  for (;;) {
    NATTER_TRY(bool row, s.Step());
    if (!row) return mask;
    mask |= int64_t{1} << s.Int(0);
  }
}

Status SqliteTxn::PrunePushPresence(int64_t before_ms) {
  auto s = db_.Prepare("DELETE FROM push_presence WHERE live_nodes = 0 AND last_live_at < ?");
  s.Bind(1, before_ms);
  return s.Run();
}

Status SqliteTxn::SetPushPreview(UserId id, bool show) {
  auto s = db_.Prepare("UPDATE users SET push_preview = ? WHERE id = ?");
  s.Bind(1, int64_t{show}).Bind(2, id);
  return s.Run();
}

Result<bool> SqliteTxn::GetPushPreview(UserId id) {
  auto s = db_.Prepare("SELECT push_preview FROM users WHERE id = ?");
  s.Bind(1, id);
  NATTER_TRY(bool row, s.Step());
  return !row || s.Bool(0);
}

Status SqliteTxn::SetMute(ConversationId c, UserId u, int64_t until) {
  auto s = db_.Prepare("UPDATE members SET muted_until = ? WHERE conversation_id = ? AND user_id = ?");
  s.Bind(1, until).Bind(2, c).Bind(3, u);
  return s.Run();
}

Status SqliteTxn::QueuePush(const PushJob& job) {
  auto s = db_.Prepare(
      job.user_id == 0
          ? "INSERT INTO push_queue(conversation_id, user_id, first_seq, last_seq, due_at) VALUES(?1,0,?2,?3,?4) "
            "ON CONFLICT(conversation_id, user_id) DO UPDATE SET last_seq = max(last_seq, excluded.last_seq), "
            "due_at = min(due_at, excluded.due_at), "
            "attempts = CASE WHEN excluded.due_at < due_at THEN 0 ELSE attempts END"
          : "INSERT INTO push_queue(conversation_id, user_id, first_seq, last_seq, due_at) VALUES(?1,?5,?2,?3,?4) "
            "ON CONFLICT(conversation_id, user_id) DO UPDATE SET first_seq = excluded.first_seq, "
            "last_seq = max(last_seq, excluded.last_seq), due_at = excluded.due_at, attempts = 0");
  s.Bind(1, job.conversation_id).Bind(2, job.first_seq).Bind(3, job.last_seq).Bind(4, job.due_at);
  if (job.user_id != 0) s.Bind(5, job.user_id);
  return s.Run();
}

Result<std::vector<PushJob>> SqliteTxn::ClaimPushJobs(int64_t now, int64_t lease_until, int limit, int64_t claim) {
  auto s = db_.Prepare(
      "UPDATE push_queue SET claimed_until = ?1, claim = ?4 WHERE id IN (SELECT id FROM push_queue "
      "WHERE due_at <= ?2 AND claimed_until <= ?2 ORDER BY due_at LIMIT ?3) "
      "RETURNING " PUSH_JOB_COLUMNS);
  s.Bind(1, lease_until).Bind(2, now).Bind(3, int64_t{limit}).Bind(4, claim);
  std::vector<PushJob> out;
  for (;;) {
    NATTER_TRY(bool row, s.Step());
    if (!row) return out;
    out.push_back(ReadPushJob<Statement>(s));
  }
}

Result<bool> SqliteTxn::RenewPushClaim(const PushJob& job, int64_t lease_until) {
  auto s = db_.Prepare("UPDATE push_queue SET claimed_until = ? WHERE id = ? AND claim = ?");
  s.Bind(1, lease_until).Bind(2, job.id).Bind(3, job.claim);
  NATTER_RETURN_IF_ERROR(s.Run());
  return db_.changes() > 0;
}

Status SqliteTxn::FinishPushJob(const PushJob& job, int64_t next_due) {
  auto done = db_.Prepare("DELETE FROM push_queue WHERE id = ? AND claim = ? AND last_seq <= ?");
  done.Bind(1, job.id).Bind(2, job.claim).Bind(3, job.last_seq);
  NATTER_RETURN_IF_ERROR(done.Run());
  if (db_.changes() > 0) return OkStatus();
  auto rest = db_.Prepare(
      "UPDATE push_queue SET first_seq = ?, due_at = ?, claimed_until = 0, claim = 0, attempts = 0 "
      "WHERE id = ? AND claim = ?");
  rest.Bind(1, job.last_seq + 1).Bind(2, next_due).Bind(3, job.id).Bind(4, job.claim);
  return rest.Run();
}

Status SqliteTxn::RetryPushJob(const PushJob& job, int64_t due_at) {
  auto s = db_.Prepare(
      "UPDATE push_queue SET due_at = ?, claimed_until = 0, claim = 0, attempts = attempts + 1 "
      "WHERE id = ? AND claim = ?");
  s.Bind(1, due_at).Bind(2, job.id).Bind(3, job.claim);
  return s.Run();
}

Result<std::vector<PushRecipient>> SqliteTxn::ListPushRecipients(ConversationId c, Seq seq) {
  auto s = db_.Prepare(
      "SELECT m.user_id, m.read_seq, m.muted_until, coalesce(s.seq, 0) FROM members m LEFT JOIN push_shown s "
      "ON s.conversation_id = m.conversation_id AND s.user_id = m.user_id "
      "WHERE m.conversation_id = ? AND m.read_seq < ? ORDER BY m.user_id");
  s.Bind(1, c).Bind(2, seq);
  std::vector<PushRecipient> out;
  for (;;) {
    NATTER_TRY(bool row, s.Step());
    if (!row) return out;
    out.push_back(PushRecipient{s.Int(0), s.Int(1), s.Int(2), s.Int(3)});
  }
}

Result<int64_t> SqliteTxn::CountUnread(UserId u) {
  // The unread of conversations.list, summed.
  auto s = db_.Prepare(
      "SELECT coalesce(sum((SELECT count(*) FROM messages x WHERE x.conversation_id = m.conversation_id "
      "AND x.seq > m.read_seq AND x.kind = 'message' AND x.deleted = 0 AND x.sender_id != m.user_id)), 0) "
      "FROM members m WHERE m.user_id = ?");
  s.Bind(1, u);
  NATTER_TRY(bool row, s.Step());
  return row ? s.Int(0) : 0;
}

Status SqliteTxn::MarkPushShown(ConversationId c, UserId u, Seq seq) {
  auto s = db_.Prepare(
      "INSERT INTO push_shown(conversation_id, user_id, seq) VALUES(?,?,?) "
      "ON CONFLICT(conversation_id, user_id) DO UPDATE SET seq = max(seq, excluded.seq)");
  s.Bind(1, c).Bind(2, u).Bind(3, seq);
  return s.Run();
}

Status SqliteTxn::ClearPushShown(ConversationId c, UserId u, Seq read_seq, int64_t due_at) {
  auto s = db_.Prepare("DELETE FROM push_shown WHERE conversation_id = ? AND user_id = ? AND seq <= ?");
  s.Bind(1, c).Bind(2, u).Bind(3, read_seq);
  NATTER_RETURN_IF_ERROR(s.Run());
  if (db_.changes() == 0) return OkStatus();
  PushJob clear;
  clear.conversation_id = c;
  clear.user_id = u;
  clear.first_seq = read_seq;
  clear.last_seq = read_seq;
  clear.due_at = due_at;
  return QueuePush(clear);
}

Result<PushQueueStats> SqliteTxn::GetPushQueueStats() {
  auto s = db_.Prepare("SELECT count(*), coalesce(min(due_at), 0) FROM push_queue");
  NATTER_TRY(bool row, s.Step());
  if (!row) return PushQueueStats{};
  return PushQueueStats{s.Int(0), s.Int(1)};
}

}  // namespace natter::sqlite
