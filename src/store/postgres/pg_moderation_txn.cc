// PgTxn's mutes and bans by server moderators, with their conversation.
#include "store/postgres/pg_rows.h"
#include "store/postgres/pg_txn.h"

namespace natter::pg {

Status PgTxn::SetSilenced(ConversationId c, UserId u, int64_t until) {
  view_.Clear();
  if (until == 0) {
    NATTER_TRY(auto gone,
               db_.Query("DELETE FROM conversation_mutes WHERE conversation_id = $1 AND user_id = $2", {c, u}));
  } else {
    NATTER_TRY(auto kept, db_.Query("INSERT INTO conversation_mutes(conversation_id, user_id, until) VALUES($1,$2,$3) "
                                    "ON CONFLICT(conversation_id, user_id) DO UPDATE SET until = excluded.until",
                                    {c, u, until}));
  }
  NATTER_TRY(auto r, db_.Query("UPDATE members SET silenced_until = $1 WHERE conversation_id = $2 AND user_id = $3",
                               {until, c, u}));
  return OkStatus();
}

Result<int64_t> PgTxn::FindSilenced(ConversationId c, UserId u) {
  NATTER_TRY(auto r,
             db_.Query("SELECT until FROM conversation_mutes WHERE conversation_id = $1 AND user_id = $2", {c, u}));
  return r.empty() ? 0 : r.Int(0, 0);
}

Status PgTxn::PutBan(const ConversationBan& b) {
  NATTER_TRY(auto r, db_.Query("INSERT INTO conversation_bans(conversation_id, user_id, banned_by, banned_at, reason) "
                               "VALUES($1,$2,$3,$4,$5) ON CONFLICT(conversation_id, user_id) DO UPDATE SET "
                               "banned_by = excluded.banned_by, banned_at = excluded.banned_at, "
                               "reason = excluded.reason",
                               {b.conversation_id, b.user_id, b.banned_by, b.banned_at, b.reason}));
  return OkStatus();
}

Result<bool> PgTxn::DeleteBan(ConversationId c, UserId u) {
  NATTER_TRY(auto r, db_.Query("DELETE FROM conversation_bans WHERE conversation_id = $1 AND user_id = $2", {c, u}));
  return r.affected() > 0;
}

Result<bool> PgTxn::IsBanned(ConversationId c, UserId u) {
  NATTER_TRY(auto r, db_.Query("SELECT 1 FROM conversation_bans WHERE conversation_id = $1 AND user_id = $2", {c, u}));
  return !r.empty();
}

Result<std::vector<ConversationBan>> PgTxn::ListBans(ConversationId c) {
  NATTER_TRY(auto r, db_.Query("SELECT conversation_id, user_id, banned_by, banned_at, reason FROM conversation_bans "
                               "WHERE conversation_id = $1 ORDER BY banned_at, user_id",
                               {c}));
  return All<ConversationBan>(r, [](const Row& row) {
    return ConversationBan{row.Int(0), row.Int(1), row.Int(2), row.Int(3), row.Text(4)};
  });
}

}  // namespace natter::pg
