// PgTxn's blocks: whom each user blocked. They live with the accounts (the
// first instance).
#include "store/postgres/pg_rows.h"
#include "store/postgres/pg_txn.h"

namespace natter::pg {

Result<BlockState> PgTxn::BlocksBetween(UserId a, UserId b) {
  if (view_.block_users.contains(a) && view_.block_users.contains(b)) {
    return BlockState{view_.blocks.contains({a, b}), view_.blocks.contains({b, a}), view_.erased.contains(b)};
  }
  NATTER_TRY(auto r, accounts_.Query("SELECT EXISTS (SELECT 1 FROM blocks WHERE user_id = $1 AND blocked_id = $2), "
                                     "EXISTS (SELECT 1 FROM blocks WHERE user_id = $2 AND blocked_id = $1), "
                                     "EXISTS (SELECT 1 FROM users WHERE id = $2 AND erased_at <> 0)",
                                     {a, b}));
  if (r.size() != 1) return Internal("no answer to a block lookup");
  return BlockState{r.Bool(0, 0), r.Bool(0, 1), r.Bool(0, 2)};
}

Result<std::vector<UserId>> PgTxn::BlockersAmong(UserId whom, const std::vector<UserId>& among) {
  if (among.empty()) return std::vector<UserId>{};
  NATTER_TRY(auto r, accounts_.Query("SELECT user_id FROM blocks WHERE blocked_id = $1 AND user_id = ANY($2::bigint[])",
                                     {whom, IdArray(among)}));
  return Ints(r);
}

Result<std::vector<UserId>> PgTxn::BlockedEitherWay(UserId user) {
  NATTER_TRY(auto r, accounts_.Query("SELECT blocked_id FROM blocks WHERE user_id = $1 "
                                     "UNION SELECT user_id FROM blocks WHERE blocked_id = $1",
                                     {user}));
  return Ints(r);
}

Status PgTxn::SetBlocked(UserId by, UserId whom, bool blocked, int64_t now_ms) {
  view_.Clear();
  if (blocked) {
    NATTER_TRY(auto r, accounts_.Query("INSERT INTO blocks(user_id, blocked_id, created_at) VALUES($1,$2,$3) "
                                       "ON CONFLICT (user_id, blocked_id) DO NOTHING",
                                       {by, whom, now_ms}));
    return OkStatus();
  }
  NATTER_TRY(auto r, accounts_.Query("DELETE FROM blocks WHERE user_id = $1 AND blocked_id = $2", {by, whom}));
  return OkStatus();
}

Result<std::vector<BlockedUser>> PgTxn::ListBlocked(UserId by) {
  NATTER_TRY(auto r, accounts_.Query("SELECT b.blocked_id, u.handle, b.created_at FROM blocks b "
                                     "JOIN users u ON u.id = b.blocked_id WHERE b.user_id = $1 "
                                     "ORDER BY b.created_at DESC, b.blocked_id",
                                     {by}));
  std::vector<BlockedUser> out;
  for (int i = 0; i < r.size(); ++i) {
    Row row = r.At(i);
    out.push_back(BlockedUser{row.Int(0), row.Text(1), row.Int(2)});
  }
  return out;
}

}  // namespace natter::pg
