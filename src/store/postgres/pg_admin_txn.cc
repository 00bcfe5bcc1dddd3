// PgTxn's operator side: server roles, suspensions, password resets,
// sessions, user search and the audit log, all with the accounts (the first
// instance; docs/admin.md).
#include "store/postgres/pg_txn.h"
#include "store/row_readers.h"

namespace natter::pg {

Status PgTxn::SetServerRole(UserId id, ServerRole role) {
  NATTER_TRY(auto r, accounts_.Query("UPDATE users SET server_role = $1 WHERE id = $2",
                                     {role == ServerRole::kNone ? std::string_view("") : ServerRoleName(role), id}));
  return OkStatus();
}

Status PgTxn::SetSuspended(UserId id, int64_t at_ms) {
  NATTER_TRY(auto r, accounts_.Query("UPDATE users SET suspended_at = $1 WHERE id = $2", {at_ms, id}));
  return OkStatus();
}

Status PgTxn::SetPasswordHash(UserId id, std::string_view hash) {
  NATTER_TRY(auto r, accounts_.Query("UPDATE users SET password_hash = $1 WHERE id = $2", {hash, id}));
  return OkStatus();
}

Result<std::vector<SessionId>> PgTxn::RevokeUserSessions(UserId id) {
  NATTER_TRY(auto r, accounts_.Query(
                         "UPDATE sessions SET revoked = true WHERE user_id = $1 AND NOT revoked RETURNING id", {id}));
  std::vector<SessionId> out;
  for (int i = 0; i < r.size(); ++i) out.push_back(r.Int(i, 0));
  // As at logout: their devices get no more pushes nobody may read.
  for (SessionId session : out) NATTER_RETURN_IF_ERROR(RevokeSession(session));
  return out;
}

Result<std::vector<Session>> PgTxn::ListSessions(UserId id) {
  NATTER_TRY(auto r,
             accounts_.Query("SELECT " SESSION_COLUMNS " FROM sessions WHERE user_id = $1 ORDER BY id DESC", {id}));
  std::vector<Session> out;
  for (int i = 0; i < r.size(); ++i) out.push_back(rows::ReadSession(r.At(i)));
  return out;
}

Result<std::vector<User>> PgTxn::SearchUsers(std::string_view text, UserId after, int limit) {
  NATTER_TRY(auto r, accounts_.Query("SELECT " USER_COLUMNS
                                     " FROM users WHERE id > $1 AND ($2 = '' OR strpos(lower(handle), lower($2)) > 0 "
                                     "OR strpos(lower(display_name), lower($2)) > 0) ORDER BY id LIMIT $3",
                                     {after, text, int64_t{limit}}));
  std::vector<User> out;
  for (int i = 0; i < r.size(); ++i) out.push_back(rows::ReadUser(r.At(i)));
  return out;
}

Status PgTxn::InsertAudit(const AuditEntry& e) {
  NATTER_TRY(auto r, accounts_.Query("INSERT INTO audit_log(at_ms, actor_id, action, target_user, detail, address, "
                                     "outcome) VALUES($1,$2,$3,$4,$5,$6,$7)",
                                     {e.at_ms, e.actor, e.action, e.target_user, e.detail, e.address, e.outcome}));
  return OkStatus();
}

Result<std::vector<AuditEntry>> PgTxn::ListAudit(const AuditQuery& q) {
  NATTER_TRY(auto r, accounts_.Query("SELECT " AUDIT_COLUMNS
                                     " FROM audit_log WHERE id < $1 AND ($2::bigint = 0 OR actor_id = $2) "
                                     "AND ($3::bigint = 0 OR target_user = $3) AND ($4 = '' OR action = $4) "
                                     "ORDER BY id DESC LIMIT $5",
                                     {q.before_id, q.actor, q.target_user, q.action, int64_t{q.limit}}));
  std::vector<AuditEntry> out;
  for (int i = 0; i < r.size(); ++i) out.push_back(rows::ReadAudit(r.At(i)));
  return out;
}

Result<int64_t> PgTxn::InsertInviteCode(const InviteCode& c) {
  NATTER_TRY(auto r, accounts_.Query("INSERT INTO invite_codes(code_hash, hint, created_by, created_at, expires_at, "
                                     "uses_left) VALUES($1,$2,$3,$4,$5,$6) RETURNING id",
                                     {c.code_hash, c.hint, c.created_by, c.created_at, c.expires_at, c.uses_left}));
  if (r.empty()) return Internal("an invite code was not given an id");
  return r.Int(0, 0);
}

Result<bool> PgTxn::UseInviteCode(std::string_view code_hash, int64_t now_ms) {
  NATTER_TRY(auto r, accounts_.Query("UPDATE invite_codes SET uses_left = uses_left - 1 WHERE code_hash = $1 "
                                     "AND uses_left > 0 AND (expires_at = 0 OR expires_at > $2)",
                                     {code_hash, now_ms}));
  return r.affected() > 0;
}

Result<std::vector<InviteCode>> PgTxn::ListInviteCodes() {
  NATTER_TRY(auto r, accounts_.Query("SELECT " INVITE_CODE_COLUMNS " FROM invite_codes ORDER BY id DESC"));
  std::vector<InviteCode> out;
  for (int i = 0; i < r.size(); ++i) out.push_back(rows::ReadInviteCode(r.At(i)));
  return out;
}

Result<bool> PgTxn::DeleteInviteCode(int64_t id) {
  NATTER_TRY(auto r, accounts_.Query("DELETE FROM invite_codes WHERE id = $1", {id}));
  return r.affected() > 0;
}

Result<std::optional<UserId>> PgTxn::FindExternalUser(std::string_view issuer, std::string_view subject) {
  NATTER_TRY(auto r, accounts_.Query("SELECT user_id FROM external_identities WHERE issuer = $1 AND subject = $2",
                                     {issuer, subject}));
  if (r.empty()) return std::optional<UserId>();
  return std::optional<UserId>(r.Int(0, 0));
}

Status PgTxn::LinkExternalUser(std::string_view issuer, std::string_view subject, UserId user, int64_t at_ms) {
  NATTER_TRY(auto r, accounts_.Query("INSERT INTO external_identities(issuer, subject, user_id, created_at) "
                                     "VALUES($1,$2,$3,$4)",
                                     {issuer, subject, user, at_ms}));
  return OkStatus();
}

}  // namespace natter::pg
