// SqliteTxn's blocks: whom each user blocked.
#include <unordered_set>

#include "store/sqlite/sqlite_rows.h"
#include "store/sqlite/sqlite_txn.h"

namespace natter::sqlite {

Result<BlockState> SqliteTxn::BlocksBetween(UserId a, UserId b) {
  auto s = db_.Prepare(
      "SELECT EXISTS (SELECT 1 FROM blocks WHERE user_id = ?1 AND blocked_id = ?2), "
      "EXISTS (SELECT 1 FROM blocks WHERE user_id = ?2 AND blocked_id = ?1), "
      "EXISTS (SELECT 1 FROM users WHERE id = ?2 AND erased_at != 0)");
  s.Bind(1, a).Bind(2, b);
  NATTER_TRY(bool row, s.Step());
  if (!row) return Internal("no answer to a block lookup");
  return BlockState{s.Bool(0), s.Bool(1), s.Bool(2)};
}

Result<std::vector<UserId>> SqliteTxn::BlockersAmong(UserId whom, const std::vector<UserId>& among) {
  auto s = db_.Prepare("SELECT user_id FROM blocks WHERE blocked_id = ?");
  s.Bind(1, whom);
  NATTER_TRY(auto blockers, Ints(s));
  std::unordered_set<UserId> wanted(among.begin(), among.end());
  std::erase_if(blockers, [&](UserId u) { return !wanted.contains(u); });
  return blockers;
}

Result<std::vector<UserId>> SqliteTxn::BlockedEitherWay(UserId user) {
  auto s = db_.Prepare(
      "SELECT blocked_id FROM blocks WHERE user_id = ? UNION SELECT user_id FROM blocks WHERE blocked_id = ?");
  s.Bind(1, user).Bind(2, user);
  return Ints(s);
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
