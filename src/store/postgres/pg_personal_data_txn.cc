// PgTxn's side of exporting and erasing a user (docs/admin.md): what the
// accounts (the first instance) keep of them, and what each partition's rows
// hold.
#include "store/media_records.h"
#include "store/postgres/pg_rows.h"
#include "store/postgres/pg_txn.h"
#include "store/row_readers.h"

namespace natter::pg {
namespace {

// Runs each of `statements` on `conn`, with `$1` = `id`.
Status RunEach(Connection& conn, UserId id, std::initializer_list<const char*> statements) {
  for (const char* sql : statements) {
    NATTER_TRY(auto r, conn.Query(sql, {id}));
  }
  return OkStatus();
}

}  // namespace

Result<std::vector<SessionId>> PgTxn::EraseAccount(UserId id, int64_t now_ms, int64_t release_at) {
  view_.Clear();
  NATTER_TRY(auto user,
             accounts_.Query("UPDATE users SET handle = '~erased-' || id, password_hash = '', display_name = '', "
                             "avatar = '', avatar_upload = 0, server_role = '', group_adds = 'nobody', last_seen = 0, "
                             "presence_hidden = true, online_nodes = 0, push_preview = false, "
                             "suspended_at = CASE suspended_at WHEN 0 THEN $1 ELSE suspended_at END, "
                             "erased_at = CASE erased_at WHEN 0 THEN $1 ELSE erased_at END WHERE id = $2",
                             {now_ms, id}));
  // The bot token first: a sign-in with it under way holds its row, and
  // the sessions are read once that sign-in has committed its own.
  NATTER_TRY(auto token, accounts_.Query("DELETE FROM bot_tokens WHERE user_id = $1", {id}));
  NATTER_TRY(auto ended, RevokeUserSessions(id));
  NATTER_RETURN_IF_ERROR(RunEach(
      accounts_, id,
      {"DELETE FROM push_presence WHERE session_id IN (SELECT id FROM sessions WHERE user_id = $1)",
       "DELETE FROM push_devices WHERE user_id = $1",
       "DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions WHERE user_id = $1)",
       "DELETE FROM sessions WHERE user_id = $1", "DELETE FROM blocks WHERE user_id = $1 OR blocked_id = $1",
       "DELETE FROM external_identities WHERE user_id = $1", "UPDATE reports SET text = '' WHERE reporter_id = $1",
       "UPDATE reports SET message_text = '' WHERE target_user = $1", "DELETE FROM e2ee_prekeys WHERE user_id = $1",
       "DELETE FROM e2ee_devices WHERE user_id = $1"}));
  // Attached uploads go after the grace downloads under way get; the others
  // expire, and the sweep takes them with their objects.
  NATTER_TRY(auto attached, accounts_.Query("INSERT INTO media_releases(upload_id, due_at) "
                                            "SELECT id, $1 FROM media_uploads WHERE user_id = $2 AND state = 2 "
                                            "ON CONFLICT DO NOTHING",
                                            {release_at, id}));
  NATTER_TRY(
      auto unattached,
      accounts_.Query("UPDATE media_uploads SET expires_at = $1 WHERE user_id = $2 AND state IN (0, 1)", {now_ms, id}));
  return ended;
}

Result<std::vector<ConversationId>> PgTxn::ListTouchedConversations(UserId u) {
  // Messages have no index by sender: an erasure reads them all once.
  NATTER_TRY(auto r, db_.Query("SELECT conversation_id FROM members WHERE user_id = $1 "
                               "UNION SELECT conversation_id FROM invitations WHERE user_id = $1 "
                               "UNION SELECT conversation_id FROM departures WHERE user_id = $1 "
                               "UNION SELECT conversation_id FROM reactions WHERE user_id = $1 "
                               "UNION SELECT conversation_id FROM messages WHERE sender_id = $1 "
                               "AND ((kind = 'message' AND NOT deleted) OR (kind = 'reaction' AND body <> '')) "
                               // Encrypted edits and reactions have no text, only envelopes.
                               "UNION SELECT e.conversation_id FROM message_envelopes e JOIN messages m "
                               "ON m.conversation_id = e.conversation_id AND m.seq = e.seq "
                               "WHERE e.user_id = 0 AND m.sender_id = $1",
                               {u}));
  return Ints(r);
}

Result<std::vector<Message>> PgTxn::ListMessagesBy(ConversationId c, UserId u, Seq after_seq, int limit) {
  NATTER_TRY(auto r, db_.Query("SELECT " MESSAGE_COLUMNS
                               " FROM messages WHERE conversation_id = $1 AND seq > $2 AND sender_id = $3 "
                               "AND kind = 'message' AND NOT deleted ORDER BY seq LIMIT $4",
                               {c, after_seq, u, int64_t{limit}}));
  return All<Message>(r, [](const Row& row) { return rows::ReadMessage(row); });
}

Result<std::vector<std::pair<Seq, std::string>>> PgTxn::ListReactionsBy(ConversationId c, UserId u) {
  NATTER_TRY(auto r, db_.Query("SELECT message_seq, emoji FROM reactions WHERE conversation_id = $1 AND user_id = $2 "
                               "ORDER BY 1",
                               {c, u}));
  return All<std::pair<Seq, std::string>>(r, [](const Row& row) { return std::pair(row.Int(0), row.Text(1)); });
}

Result<std::vector<MediaUpload>> PgTxn::ListUploadsOf(UserId id) {
  NATTER_TRY(
      auto r,
      accounts_.Query("SELECT " UPLOAD_COLUMNS " FROM media_uploads WHERE user_id = $1 ORDER BY created_at, id", {id}));
  return All<MediaUpload>(r, [](const Row& row) { return rows::ReadUpload(row); });
}

Result<std::vector<Report>> PgTxn::ListReportsBy(UserId reporter) {
  NATTER_TRY(auto r,
             accounts_.Query("SELECT " REPORT_COLUMNS " FROM reports WHERE reporter_id = $1 ORDER BY id", {reporter}));
  return All<Report>(r, [](const Row& row) { return rows::ReadReport(row); });
}

Result<std::vector<Seq>> PgTxn::ForgetReactionsBy(ConversationId c, UserId u) {
  view_.ForgetMessages();
  NATTER_TRY(
      auto taken,
      db_.Query("DELETE FROM reactions WHERE conversation_id = $1 AND user_id = $2 RETURNING message_seq", {c, u}));
  NATTER_TRY(auto events, db_.Query("UPDATE messages SET body = '' WHERE conversation_id = $1 AND sender_id = $2 "
                                    "AND kind = 'reaction' AND body <> ''",
                                    {c, u}));
  // Encrypted reactions and edits are ciphertexts only: they go whole.
  NATTER_TRY(auto envelopes, db_.Query("DELETE FROM message_envelopes WHERE conversation_id = $1 AND seq IN "
                                       "(SELECT seq FROM messages WHERE conversation_id = $1 AND sender_id = $2 "
                                       "AND kind IN ('edit', 'reaction'))",
                                       {c, u}));
  return Ints(taken);
}

Status PgTxn::ForgetUserRows(UserId u) {
  view_.Clear();
  return RunEach(
      db_, u,
      {"DELETE FROM user_updates WHERE user_id = $1", "DELETE FROM invitations WHERE user_id = $1 OR invited_by = $1",
       "DELETE FROM departures WHERE user_id = $1", "DELETE FROM push_queue WHERE user_id = $1",
       "DELETE FROM push_shown WHERE user_id = $1", "DELETE FROM conversation_bans WHERE user_id = $1",
       "DELETE FROM conversation_mutes WHERE user_id = $1", "DELETE FROM message_envelopes WHERE user_id = $1"});
}

}  // namespace natter::pg
