// SqliteTxn's side of exporting and erasing a user (docs/admin.md): what the
// accounts keep of them, and what each conversation's rows hold.
#include "store/media_records.h"
#include "store/row_readers.h"
#include "store/sqlite/sqlite_rows.h"
#include "store/sqlite/sqlite_txn.h"

namespace natter::sqlite {
namespace {

// Runs each of `statements`, every `?` bound to `id`.
Status RunEach(Database& db, UserId id, std::initializer_list<const char*> statements) {
  for (const char* sql : statements) {
    auto s = db.Prepare(sql);
    s.Bind(1, id);
    NATTER_RETURN_IF_ERROR(s.Run());
  }
  return OkStatus();
}

}  // namespace

Result<std::vector<SessionId>> SqliteTxn::EraseAccount(UserId id, int64_t now_ms, int64_t release_at) {
  auto user = db_.Prepare(
      "UPDATE users SET handle = '~erased-' || id, password_hash = '', display_name = '', avatar = '', "
      "avatar_upload = 0, server_role = '', group_adds = 'nobody', last_seen = 0, presence_hidden = 1, "
      "online_nodes = 0, push_preview = 0, "
      "suspended_at = CASE suspended_at WHEN 0 THEN ?1 ELSE suspended_at END, "
      "erased_at = CASE erased_at WHEN 0 THEN ?1 ELSE erased_at END WHERE id = ?2");
  user.Bind(1, now_ms).Bind(2, id);
  NATTER_RETURN_IF_ERROR(user.Run());
  // The bot token first: a sign-in with it under way holds its row, and
  // the sessions are read once that sign-in has committed its own.
  auto token = db_.Prepare("DELETE FROM bot_tokens WHERE user_id = ?");
  token.Bind(1, id);
  NATTER_RETURN_IF_ERROR(token.Run());
  NATTER_TRY(auto ended, RevokeUserSessions(id));
  NATTER_RETURN_IF_ERROR(RunEach(
      db_, id,
      {"DELETE FROM push_presence WHERE session_id IN (SELECT id FROM sessions WHERE user_id = ?1)",
       "DELETE FROM push_devices WHERE user_id = ?1",
       "DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions WHERE user_id = ?1)",
       "DELETE FROM sessions WHERE user_id = ?1", "DELETE FROM blocks WHERE user_id = ?1 OR blocked_id = ?1",
       "DELETE FROM external_identities WHERE user_id = ?1", "UPDATE reports SET text = '' WHERE reporter_id = ?1",
       "UPDATE reports SET message_text = '' WHERE target_user = ?1", "DELETE FROM e2ee_prekeys WHERE user_id = ?1",
       "DELETE FROM e2ee_devices WHERE user_id = ?1"}));
  // Attached uploads go after the grace downloads under way get; the others
  // expire, and the sweep takes them with their files.
  auto attached = db_.Prepare(
      "INSERT OR IGNORE INTO media_releases(upload_id, due_at) "
      "SELECT id, ?1 FROM media_uploads WHERE user_id = ?2 AND state = 2");
  attached.Bind(1, release_at).Bind(2, id);
  NATTER_RETURN_IF_ERROR(attached.Run());
  auto unattached = db_.Prepare("UPDATE media_uploads SET expires_at = ?1 WHERE user_id = ?2 AND state IN (0, 1)");
  unattached.Bind(1, now_ms).Bind(2, id);
  NATTER_RETURN_IF_ERROR(unattached.Run());
  return ended;
}

Result<std::vector<ConversationId>> SqliteTxn::ListTouchedConversations(UserId u) {
  // Messages have no index by sender: an erasure reads them all once.
  auto s = db_.Prepare(
      "SELECT conversation_id FROM members WHERE user_id = ?1 "
      "UNION SELECT conversation_id FROM invitations WHERE user_id = ?1 "
      "UNION SELECT conversation_id FROM departures WHERE user_id = ?1 "
      "UNION SELECT conversation_id FROM reactions WHERE user_id = ?1 "
      "UNION SELECT conversation_id FROM messages WHERE sender_id = ?1 "
      "AND ((kind = 'message' AND deleted = 0) OR (kind = 'reaction' AND body != '')) "
      // Encrypted edits and reactions have no text, only envelopes.
      "UNION SELECT e.conversation_id FROM message_envelopes e JOIN messages m "
      "ON m.conversation_id = e.conversation_id AND m.seq = e.seq WHERE e.user_id = 0 AND m.sender_id = ?1");
  s.Bind(1, u);
  return Ints(s);
}

Result<std::vector<Message>> SqliteTxn::ListMessagesBy(ConversationId c, UserId u, Seq after_seq, int limit) {
  auto s = db_.Prepare("SELECT " MESSAGE_COLUMNS
                       " FROM messages WHERE conversation_id = ? AND seq > ? AND sender_id = ? AND kind = 'message' "
                       "AND deleted = 0 ORDER BY seq LIMIT ?");
  s.Bind(1, c).Bind(2, after_seq).Bind(3, u).Bind(4, int64_t{limit});
  return All<Message>(s, [](const Statement& row) { return rows::ReadMessage(row); });
}

Result<std::vector<std::pair<Seq, std::string>>> SqliteTxn::ListReactionsBy(ConversationId c, UserId u) {
  auto s = db_.Prepare("SELECT message_seq, emoji FROM reactions WHERE conversation_id = ? AND user_id = ? ORDER BY 1");
  s.Bind(1, c).Bind(2, u);
  return All<std::pair<Seq, std::string>>(s, [](const Statement& row) { return std::pair(row.Int(0), row.Text(1)); });
}

Result<std::vector<MediaUpload>> SqliteTxn::ListUploadsOf(UserId id) {
  auto s = db_.Prepare("SELECT " UPLOAD_COLUMNS " FROM media_uploads WHERE user_id = ? ORDER BY created_at, id");
  s.Bind(1, id);
  return All<MediaUpload>(s, [](const Statement& row) { return rows::ReadUpload(row); });
}

Result<std::vector<Report>> SqliteTxn::ListReportsBy(UserId reporter) {
  auto s = db_.Prepare("SELECT " REPORT_COLUMNS " FROM reports WHERE reporter_id = ? ORDER BY id");
  s.Bind(1, reporter);
  return All<Report>(s, [](const Statement& row) { return rows::ReadReport(row); });
}

Result<std::vector<Seq>> SqliteTxn::ForgetReactionsBy(ConversationId c, UserId u) {
  auto taken = db_.Prepare("DELETE FROM reactions WHERE conversation_id = ? AND user_id = ? RETURNING message_seq");
  taken.Bind(1, c).Bind(2, u);
  NATTER_TRY(auto seqs, Ints(taken));
  auto events = db_.Prepare(
      "UPDATE messages SET body = '' WHERE conversation_id = ? AND sender_id = ? AND kind = 'reaction' AND body != ''");
  events.Bind(1, c).Bind(2, u);
  NATTER_RETURN_IF_ERROR(events.Run());
  // Encrypted reactions and edits are ciphertexts only: they go whole.
  auto envelopes = db_.Prepare(
      "DELETE FROM message_envelopes WHERE conversation_id = ?1 AND seq IN (SELECT seq FROM messages "
      "WHERE conversation_id = ?1 AND sender_id = ?2 AND kind IN ('edit', 'reaction'))");
  envelopes.Bind(1, c).Bind(2, u);
  NATTER_RETURN_IF_ERROR(envelopes.Run());
  return seqs;
}

Status SqliteTxn::ForgetUserRows(UserId u) {
  last_pts_.erase(u);  // the log is emptied below
  return RunEach(
      db_, u,
      {"DELETE FROM user_updates WHERE user_id = ?1", "DELETE FROM invitations WHERE user_id = ?1 OR invited_by = ?1",
       "DELETE FROM departures WHERE user_id = ?1", "DELETE FROM push_queue WHERE user_id = ?1",
       "DELETE FROM push_shown WHERE user_id = ?1", "DELETE FROM conversation_bans WHERE user_id = ?1",
       "DELETE FROM conversation_mutes WHERE user_id = ?1", "DELETE FROM message_envelopes WHERE user_id = ?1"});
}

}  // namespace natter::sqlite
