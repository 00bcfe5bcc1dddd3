// SqliteTxn's mutes and bans by server moderators.
#include "store/sqlite/sqlite_rows.h"
#include "store/sqlite/sqlite_txn.h"

namespace natter::sqlite {

Status SqliteTxn::SetSilenced(ConversationId c, UserId u, int64_t until) {
  auto kept =
      db_.Prepare(until == 0 ? "DELETE FROM conversation_mutes WHERE conversation_id = ?1 AND user_id = ?2"
                             : "INSERT INTO conversation_mutes(conversation_id, user_id, until) VALUES(?1,?2,?3) "
                               "ON CONFLICT(conversation_id, user_id) DO UPDATE SET until = excluded.until");
  kept.Bind(1, c).Bind(2, u);
  if (until != 0) kept.Bind(3, until);
  NATTER_RETURN_IF_ERROR(kept.Run());
  auto s = db_.Prepare("UPDATE members SET silenced_until = ? WHERE conversation_id = ? AND user_id = ?");
  s.Bind(1, until).Bind(2, c).Bind(3, u);
  return s.Run();
}

Result<int64_t> SqliteTxn::FindSilenced(ConversationId c, UserId u) {
  auto s = db_.Prepare("SELECT until FROM conversation_mutes WHERE conversation_id = ? AND user_id = ?");
  s.Bind(1, c).Bind(2, u);
  NATTER_TRY(bool row, s.Step());
  return row ? s.Int(0) : 0;
}

Status SqliteTxn::PutBan(const ConversationBan& b) {
  auto s = db_.Prepare(
      "INSERT INTO conversation_bans(conversation_id, user_id, banned_by, banned_at, reason) VALUES(?,?,?,?,?) "
      "ON CONFLICT(conversation_id, user_id) DO UPDATE SET banned_by = excluded.banned_by, "
      "banned_at = excluded.banned_at, reason = excluded.reason");
  s.Bind(1, b.conversation_id).Bind(2, b.user_id).Bind(3, b.banned_by).Bind(4, b.banned_at).Bind(5, b.reason);
  return s.Run();
}

Result<bool> SqliteTxn::DeleteBan(ConversationId c, UserId u) {
  auto s = db_.Prepare("DELETE FROM conversation_bans WHERE conversation_id = ? AND user_id = ?");
  s.Bind(1, c).Bind(2, u);
  NATTER_RETURN_IF_ERROR(s.Run());
  return db_.changes() > 0;
}

Result<bool> SqliteTxn::IsBanned(ConversationId c, UserId u) {
  auto s = db_.Prepare("SELECT 1 FROM conversation_bans WHERE conversation_id = ? AND user_id = ?");
  s.Bind(1, c).Bind(2, u);
  return s.Step();
}

Result<std::vector<ConversationBan>> SqliteTxn::ListBans(ConversationId c) {
  auto s = db_.Prepare(
      "SELECT conversation_id, user_id, banned_by, banned_at, reason FROM conversation_bans "
      "WHERE conversation_id = ? ORDER BY banned_at, user_id");
  s.Bind(1, c);
  return All<ConversationBan>(s, [](const Statement& r) {
    return ConversationBan{r.Int(0), r.Int(1), r.Int(2), r.Int(3), r.Text(4)};
  });
}

}  // namespace natter::sqlite
