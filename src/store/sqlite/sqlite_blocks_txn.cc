// SqliteTxn's blocks: whom each user blocked.
#include "store/sqlite/sqlite_txn.h"

namespace natter::sqlite {

Result<bool> SqliteTxn::IsBlocked(UserId by, UserId whom) {
  auto s = db_.Prepare("SELECT 1 FROM blocks WHERE user_id = ? AND blocked_id = ?");
  s.Bind(1, by).Bind(2, whom);
  return s.Step();
}

Result<std::vector<UserId>> SqliteTxn::BlockersOf(UserId whom) {
  auto s = db_.Prepare("SELECT user_id FROM blocks WHERE blocked_id = ?");
  s.Bind(1, whom);
  std::vector<UserId> out;
  for (;;) {
    NATTER_TRY(bool row, s.Step());
    if (!row) return out;
    out.push_back(s.Int(0));
  }
}

Status SqliteTxn::SetBlocked(UserId by, UserId whom, bool blocked, int64_t now_ms) {
  auto s = db_.Prepare(blocked ? "INSERT INTO blocks(user_id, blocked_id, created_at) VALUES(?,?,?) "
                                 "ON CONFLICT(user_id, blocked_id) DO NOTHING"
                               : "DELETE FROM blocks WHERE user_id = ? AND blocked_id = ?");
  s.Bind(1, by).Bind(2, whom);
  if (blocked) s.Bind(3, now_ms);
  return s.Run();
}

Result<std::vector<BlockedUser>> SqliteTxn::ListBlocked(UserId by) {
  auto s = db_.Prepare(
      "SELECT b.blocked_id, u.handle, b.created_at FROM blocks b JOIN users u ON u.id = b.blocked_id "
      "WHERE b.user_id = ? ORDER BY b.created_at DESC, b.blocked_id");
  s.Bind(1, by);
  std::vector<BlockedUser> out;
  for (;;) {
    NATTER_TRY(bool row, s.Step());
    if (!row) return out;
    out.push_back(BlockedUser{s.Int(0), s.Text(1), s.Int(2)});
  }
}

}  // namespace natter::sqlite
