// SqliteTxn's operator side: server roles, suspensions, password resets,
// sessions, user search and the audit log (docs/admin.md).
#include "store/row_readers.h"
#include "store/sqlite/sqlite_txn.h"

namespace natter::sqlite {

Status SqliteTxn::SetServerRole(UserId id, ServerRole role) {
  auto s = db_.Prepare("UPDATE users SET server_role = ? WHERE id = ?");
  s.Bind(1, role == ServerRole::kNone ? std::string_view("") : ServerRoleName(role)).Bind(2, id);
  return s.Run();
}

Status SqliteTxn::SetSuspended(UserId id, int64_t at_ms) {
  auto s = db_.Prepare("UPDATE users SET suspended_at = ? WHERE id = ?");
  s.Bind(1, at_ms).Bind(2, id);
  return s.Run();
}

Status SqliteTxn::SetPasswordHash(UserId id, std::string_view hash) {
  auto s = db_.Prepare("UPDATE users SET password_hash = ? WHERE id = ?");
  s.Bind(1, hash).Bind(2, id);
  return s.Run();
}

Result<std::vector<SessionId>> SqliteTxn::RevokeUserSessions(UserId id) {
  auto s = db_.Prepare("UPDATE sessions SET revoked = 1 WHERE user_id = ? AND revoked = 0 RETURNING id");
  s.Bind(1, id);
  std::vector<SessionId> out;
  for (;;) {
    NATTER_TRY(bool row, s.Step());
    if (!row) break;
    out.push_back(s.Int(0));
  }
  // As at logout: their devices get no more pushes nobody may read.
  for (SessionId session : out) NATTER_RETURN_IF_ERROR(RevokeSession(session));
  return out;
}

Result<std::vector<Session>> SqliteTxn::ListSessions(UserId id) {
  auto s = db_.Prepare("SELECT " SESSION_COLUMNS " FROM sessions WHERE user_id = ? ORDER BY id DESC");
  s.Bind(1, id);
  std::vector<Session> out;
  for (;;) {
    NATTER_TRY(bool row, s.Step());
    if (!row) return out;
    out.push_back(rows::ReadSession(s));
  }
}

Result<std::vector<User>> SqliteTxn::SearchUsers(std::string_view text, UserId after, int limit) {
  auto s = db_.Prepare("SELECT " USER_COLUMNS
                       " FROM users WHERE id > ? AND (? = '' OR instr(lower(handle), lower(?)) > 0 "
                       "OR instr(lower(display_name), lower(?)) > 0) ORDER BY id LIMIT ?");
  s.Bind(1, after).Bind(2, text).Bind(3, text).Bind(4, text).Bind(5, int64_t{limit});
  std::vector<User> out;
  for (;;) {
    NATTER_TRY(bool row, s.Step());
    if (!row) return out;
    out.push_back(rows::ReadUser(s));
  }
}

Status SqliteTxn::InsertAudit(const AuditEntry& e) {
  auto s = db_.Prepare(
      "INSERT INTO audit_log(at_ms, actor_id, action, target_user, detail, address, outcome) "
      "VALUES(?,?,?,?,?,?,?)");
  s.Bind(1, e.at_ms)
      .Bind(2, e.actor)
      .Bind(3, e.action)
      .Bind(4, e.target_user)
      .Bind(5, e.detail)
      .Bind(6, e.address)
      .Bind(7, e.outcome);
  return s.Run();
}

Result<std::vector<AuditEntry>> SqliteTxn::ListAudit(const AuditQuery& q) {
  auto s = db_.Prepare("SELECT " AUDIT_COLUMNS
                       " FROM audit_log WHERE id < ? AND (? = 0 OR actor_id = ?) AND (? = 0 OR target_user = ?) "
                       "AND (? = '' OR action = ?) ORDER BY id DESC LIMIT ?");
  s.Bind(1, q.before_id)
      .Bind(2, q.actor)
      .Bind(3, q.actor)
      .Bind(4, q.target_user)
      .Bind(5, q.target_user)
      .Bind(6, q.action)
      .Bind(7, q.action)
      .Bind(8, int64_t{q.limit});
  std::vector<AuditEntry> out;
  for (;;) {
    NATTER_TRY(bool row, s.Step());
    if (!row) return out;
    out.push_back(rows::ReadAudit(s));
  }
}

Result<int64_t> SqliteTxn::InsertInviteCode(const InviteCode& c) {
  auto s = db_.Prepare(
      "INSERT INTO invite_codes(code_hash, hint, created_by, created_at, expires_at, uses_left) "
      "VALUES(?,?,?,?,?,?) RETURNING id");
  s.Bind(1, c.code_hash).Bind(2, c.hint).Bind(3, c.created_by).Bind(4, c.created_at).Bind(5, c.expires_at);
  s.Bind(6, c.uses_left);
  NATTER_TRY(bool row, s.Step());
  if (!row) return Internal("an invite code was not given an id");
  int64_t id = s.Int(0);
  NATTER_TRY(bool more, s.Step());  // finishes the statement
  (void)more;
  return id;
}

Result<bool> SqliteTxn::UseInviteCode(std::string_view code_hash, int64_t now_ms) {
  auto s = db_.Prepare(
      "UPDATE invite_codes SET uses_left = uses_left - 1 "
      "WHERE code_hash = ? AND uses_left > 0 AND (expires_at = 0 OR expires_at > ?)");
  s.Bind(1, code_hash).Bind(2, now_ms);
  NATTER_RETURN_IF_ERROR(s.Run());
  return db_.changes() > 0;
}

Result<std::vector<InviteCode>> SqliteTxn::ListInviteCodes() {
  auto s = db_.Prepare("SELECT " INVITE_CODE_COLUMNS " FROM invite_codes ORDER BY id DESC");
  std::vector<InviteCode> out;
  for (;;) {
    NATTER_TRY(bool row, s.Step());
    if (!row) return out;
    out.push_back(rows::ReadInviteCode(s));
  }
}

Result<bool> SqliteTxn::DeleteInviteCode(int64_t id) {
  auto s = db_.Prepare("DELETE FROM invite_codes WHERE id = ?");
  s.Bind(1, id);
  NATTER_RETURN_IF_ERROR(s.Run());
  return db_.changes() > 0;
}

Result<std::optional<UserId>> SqliteTxn::FindExternalUser(std::string_view issuer, std::string_view subject) {
  auto s = db_.Prepare("SELECT user_id FROM external_identities WHERE issuer = ? AND subject = ?");
  s.Bind(1, issuer).Bind(2, subject);
  NATTER_TRY(bool row, s.Step());
  if (!row) return std::optional<UserId>();
  return std::optional<UserId>(s.Int(0));
}

Status SqliteTxn::LinkExternalUser(std::string_view issuer, std::string_view subject, UserId user, int64_t at_ms) {
  auto s = db_.Prepare("INSERT INTO external_identities(issuer, subject, user_id, created_at) VALUES(?,?,?,?)");
  s.Bind(1, issuer).Bind(2, subject).Bind(3, user).Bind(4, at_ms);
  return s.Run();
}

}  // namespace natter::sqlite
