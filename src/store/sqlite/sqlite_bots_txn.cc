// SqliteTxn's bot tokens.
#include "store/sqlite/sqlite_rows.h"
#include "store/sqlite/sqlite_txn.h"

namespace natter::sqlite {

Status SqliteTxn::PutBotToken(const BotToken& t) {
  auto bot = db_.Prepare("UPDATE users SET bot = 1 WHERE id = ?");
  bot.Bind(1, t.user_id);
  NATTER_RETURN_IF_ERROR(bot.Run());
  auto earlier = db_.Prepare("DELETE FROM bot_tokens WHERE user_id = ?");
  earlier.Bind(1, t.user_id);
  NATTER_RETURN_IF_ERROR(earlier.Run());
  auto s = db_.Prepare("INSERT INTO bot_tokens(token_hash, user_id, session_id, created_at) VALUES(?,?,?,?)");
  s.Bind(1, t.token_hash).Bind(2, t.user_id).Bind(3, t.session_id).Bind(4, t.created_at);
  return s.Run();
}

Result<std::optional<BotToken>> SqliteTxn::FindBotToken(std::string_view token_hash) {
  auto s = db_.Prepare("SELECT token_hash, user_id, session_id, created_at FROM bot_tokens WHERE token_hash = ?");
  s.Bind(1, token_hash);
  return One<BotToken>(s, [](const Statement& r) { return BotToken{r.Text(0), r.Int(1), r.Int(2), r.Int(3)}; });
}

Result<bool> SqliteTxn::MoveBotSession(std::string_view token_hash, SessionId session) {
  auto s = db_.Prepare("UPDATE bot_tokens SET session_id = ? WHERE token_hash = ?");
  s.Bind(1, session).Bind(2, token_hash);
  NATTER_RETURN_IF_ERROR(s.Run());
  return db_.changes() > 0;
}

}  // namespace natter::sqlite
