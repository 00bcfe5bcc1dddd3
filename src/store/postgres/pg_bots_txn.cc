// PgTxn's bot tokens (with the accounts, on the first instance).
#include "store/postgres/pg_rows.h"
#include "store/postgres/pg_txn.h"

namespace natter::pg {

Status PgTxn::PutBotToken(const BotToken& t) {
  NATTER_TRY(auto bot, accounts_.Query("UPDATE users SET bot = true WHERE id = $1", {t.user_id}));
  NATTER_TRY(auto earlier, accounts_.Query("DELETE FROM bot_tokens WHERE user_id = $1", {t.user_id}));
  NATTER_TRY(auto put, accounts_.Query("INSERT INTO bot_tokens(token_hash, user_id, session_id, created_at) "
                                       "VALUES($1,$2,$3,$4)",
                                       {t.token_hash, t.user_id, t.session_id, t.created_at}));
  return OkStatus();
}

Result<std::optional<BotToken>> PgTxn::FindBotToken(std::string_view token_hash) {
  NATTER_TRY(auto r, accounts_.Query("SELECT token_hash, user_id, session_id, created_at FROM bot_tokens "
                                     "WHERE token_hash = $1",
                                     {token_hash}));
  return One<BotToken>(r, [](const Row& row) { return BotToken{row.Text(0), row.Int(1), row.Int(2), row.Int(3)}; });
}

Result<bool> PgTxn::MoveBotSession(std::string_view token_hash, SessionId session) {
  NATTER_TRY(auto r,
             accounts_.Query("UPDATE bot_tokens SET session_id = $1 WHERE token_hash = $2", {session, token_hash}));
  return r.affected() > 0;
}

}  // namespace natter::pg
