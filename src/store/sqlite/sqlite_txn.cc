#include "store/sqlite/sqlite_txn.h"

#include <algorithm>

#include "store/row_readers.h"
#include "store/sqlite/sqlite_rows.h"

namespace natter::sqlite {
namespace {

using rows::kConversationColumns;
using rows::ReadConversation;
using rows::ReadMember;
using rows::ReadMembership;
using rows::ReadMessage;
using rows::ReadUser;

}  // namespace

Status SqliteTxn::InsertUser(const User& user) {
  auto s = db_.Prepare("INSERT INTO users(id, handle, password_hash, created_at) VALUES(?,?,?,?)");
  s.Bind(1, user.id).Bind(2, user.handle).Bind(3, user.password_hash).Bind(4, user.created_at);
  auto st = s.Run();
  if (!st.ok() && st.error().code == ErrorCode::kConflict) return Conflict("handle is taken");
  return st;
}

Result<std::optional<User>> SqliteTxn::FindUserByHandle(std::string_view handle) {
  auto s = db_.Prepare("SELECT " USER_COLUMNS " FROM users WHERE handle = ?");
  s.Bind(1, handle);
  return One<User>(s, ReadUser<Statement>);
}

Result<std::optional<User>> SqliteTxn::FindUser(UserId id) {
  auto s = db_.Prepare("SELECT " USER_COLUMNS " FROM users WHERE id = ?");
  s.Bind(1, id);
  return One<User>(s, ReadUser<Statement>);
}

Status SqliteTxn::InsertSession(const Session& session) {
  auto s = db_.Prepare("INSERT INTO sessions(id, user_id, device, revoked, created_at) VALUES(?,?,?,?,?)");
  s.Bind(1, session.id)
      .Bind(2, session.user_id)
      .Bind(3, session.device)
      .Bind(4, int64_t{session.revoked})
      .Bind(5, session.created_at);
  return s.Run();
}

Result<std::optional<Session>> SqliteTxn::FindSession(SessionId id) {
  auto s = db_.Prepare("SELECT " SESSION_COLUMNS " FROM sessions WHERE id = ?");
  s.Bind(1, id);
  return One<Session>(s, rows::ReadSession<Statement>);
}

Status SqliteTxn::RevokeSession(SessionId id) {
  auto s = db_.Prepare("UPDATE sessions SET revoked = 1 WHERE id = ?");
  s.Bind(1, id);
  NATTER_RETURN_IF_ERROR(s.Run());
  auto presence = db_.Prepare("DELETE FROM push_presence WHERE session_id = ?");
  presence.Bind(1, id);
  NATTER_RETURN_IF_ERROR(presence.Run());
  // Its end-to-end encryption device goes with it: nobody should encrypt
  // for an app install that can no longer sign in.
  for (const char* sql :
       {"DELETE FROM e2ee_prekeys WHERE (user_id, device_id) IN (SELECT user_id, device_id FROM e2ee_devices "
        "WHERE user_id = (SELECT user_id FROM sessions WHERE id = ?1) AND session_id = ?1)",
        "DELETE FROM e2ee_devices WHERE user_id = (SELECT user_id FROM sessions WHERE id = ?1) AND session_id = ?1"}) {
    auto keys = db_.Prepare(sql);
    keys.Bind(1, id);
    NATTER_RETURN_IF_ERROR(keys.Run());
  }
  return DeletePushDevice(id);
}

Status SqliteTxn::InsertRefreshToken(const RefreshTokenRecord& token) {
  auto s = db_.Prepare("INSERT INTO refresh_tokens(token_hash, session_id, used) VALUES(?,?,?)");
  s.Bind(1, token.token_hash).Bind(2, token.session_id).Bind(3, int64_t{token.used});
  return s.Run();
}

Result<std::optional<RefreshTokenRecord>> SqliteTxn::FindRefreshToken(std::string_view hash) {
  auto s = db_.Prepare("SELECT " REFRESH_TOKEN_COLUMNS " FROM refresh_tokens WHERE token_hash = ?");
  s.Bind(1, hash);
  return One<RefreshTokenRecord>(s, rows::ReadRefreshToken<Statement>);
}

Result<bool> SqliteTxn::MarkRefreshTokenUsed(std::string_view hash) {
  auto s = db_.Prepare("UPDATE refresh_tokens SET used = 1 WHERE token_hash = ? AND used = 0");
  s.Bind(1, hash);
  NATTER_RETURN_IF_ERROR(s.Run());
  return db_.changes() > 0;
}

Status SqliteTxn::InsertConversation(const Conversation& c) {
  auto s = db_.Prepare(
      "INSERT INTO conversations(id, kind, title, direct_key, created_by, created_at, last_seq, "
      "last_activity, large, encrypted, by_seq) VALUES(?,?,?,?,?,?,?,?,?,?,?)");
  s.Bind(1, c.id).Bind(2, KindName(c.kind)).Bind(3, c.title);
  if (c.direct_key.empty())
    s.BindNull(4);
  else
    s.Bind(4, c.direct_key);
  s.Bind(5, c.created_by).Bind(6, c.created_at).Bind(7, c.last_seq).Bind(8, c.last_activity).Bind(9, int64_t{c.large});
  s.Bind(10, int64_t{c.encrypted}).Bind(11, int64_t{c.by_seq});
  return s.Run();
}

Result<std::optional<Conversation>> SqliteTxn::FindConversation(ConversationId id) {
  auto s = db_.Prepare("SELECT " CONVERSATION_COLUMNS " FROM conversations WHERE id = ?");
  s.Bind(1, id);
  return One<Conversation>(s, [](const Statement& s) { return ReadConversation(s); });
}

Result<std::optional<ConversationId>> SqliteTxn::FindDirect(std::string_view direct_key) {
  auto s = db_.Prepare("SELECT id FROM conversations WHERE direct_key = ?");
  s.Bind(1, direct_key);
  return One<ConversationId>(s, [](const Statement& s) { return s.Int(0); });
}

Status SqliteTxn::UpdateTitle(ConversationId id, std::string_view title) {
  auto s = db_.Prepare("UPDATE conversations SET title = ? WHERE id = ?");
  s.Bind(1, title).Bind(2, id);
  return s.Run();
}

Result<Seq> SqliteTxn::NextSeq(ConversationId id, int64_t now_ms) {
  // An update and a read rather than UPDATE ... RETURNING: SQLite gathers
  // returned rows in a temporary table it opens and closes each time, which
  // cost more than the update itself (this runs for every event).
  auto bump = db_.Prepare("UPDATE conversations SET last_seq = last_seq + 1, last_activity = ? WHERE id = ?");
  bump.Bind(1, now_ms).Bind(2, id);
  NATTER_RETURN_IF_ERROR(bump.Run());
  if (db_.changes() == 0) return NotFound("conversation not found");
  auto read = db_.Prepare("SELECT last_seq FROM conversations WHERE id = ?");
  read.Bind(1, id);
  NATTER_TRY(bool row, read.Step());
  if (!row) return NotFound("conversation not found");
  return read.Int(0);
}

Status SqliteTxn::InsertMember(const Member& m) {
  auto s = db_.Prepare("INSERT INTO members(" MEMBER_COLUMNS ") VALUES(?,?,?,?,?,?)");
  s.Bind(1, m.conversation_id)
      .Bind(2, m.user_id)
      .Bind(3, RoleName(m.role))
      .Bind(4, m.joined_at)
      .Bind(5, m.read_seq)
      .Bind(6, m.delivered_seq);
  return s.Run();
}

Status SqliteTxn::DeleteMember(ConversationId c, UserId u) {
  auto s = db_.Prepare("DELETE FROM members WHERE conversation_id = ? AND user_id = ?");
  s.Bind(1, c).Bind(2, u);
  return s.Run();
}

Status SqliteTxn::UpdateRole(ConversationId c, UserId u, Role role) {
  auto s = db_.Prepare("UPDATE members SET role = ? WHERE conversation_id = ? AND user_id = ?");
  s.Bind(1, RoleName(role)).Bind(2, c).Bind(3, u);
  return s.Run();
}

Status SqliteTxn::UpdateReadSeq(ConversationId c, UserId u, Seq seq) {
  auto s = db_.Prepare("UPDATE members SET read_seq = max(read_seq, ?) WHERE conversation_id = ? AND user_id = ?");
  s.Bind(1, seq).Bind(2, c).Bind(3, u);
  return s.Run();
}

Result<std::optional<Member>> SqliteTxn::FindMember(ConversationId c, UserId u) {
  auto s = db_.Prepare("SELECT " MEMBER_READ_COLUMNS " FROM members WHERE conversation_id = ? AND user_id = ?");
  s.Bind(1, c).Bind(2, u);
  return One<Member>(s, ReadMember<Statement>);
}

Result<std::optional<std::pair<Conversation, Member>>> SqliteTxn::FindMembership(ConversationId c, UserId u) {
  auto s = db_.Prepare("SELECT " JOINED_CONVERSATION_COLUMNS
                       ", m.role, m.joined_at, m.read_seq, m.delivered_seq, m.silenced_until "
                       "FROM members m JOIN conversations c ON c.id = m.conversation_id "
                       "WHERE m.conversation_id = ? AND m.user_id = ?");
  s.Bind(1, c).Bind(2, u);
  return One<std::pair<Conversation, Member>>(s, [u](const Statement& s) {
    Conversation conv = ReadConversation(s);
    Member m = ReadMembership(s, conv.id, u, kConversationColumns);
    return std::make_pair(std::move(conv), m);
  });
}

Result<std::vector<Member>> SqliteTxn::ListMembers(ConversationId c) {
  auto s =
      db_.Prepare("SELECT " MEMBER_READ_COLUMNS " FROM members WHERE conversation_id = ? ORDER BY joined_at, user_id");
  s.Bind(1, c);
  return All<Member>(s, ReadMember<Statement>);
}

Result<std::vector<UserId>> SqliteTxn::ListMemberIds(ConversationId c) {
  auto s = db_.Prepare("SELECT user_id FROM members WHERE conversation_id = ? ORDER BY user_id");
  s.Bind(1, c);
  return Ints(s);
}

Result<std::vector<std::pair<ConversationId, UserId>>> SqliteTxn::ListMemberIdsOf(
    const std::vector<ConversationId>& conversations) {
  auto s = db_.Prepare(
      "SELECT conversation_id, user_id FROM members WHERE conversation_id IN (SELECT value FROM json_each(?)) "
      "ORDER BY conversation_id, user_id");
  s.Bind(1, JsonIds(conversations));
  return All<std::pair<ConversationId, UserId>>(s, [](const Statement& s) { return std::pair{s.Int(0), s.Int(1)}; });
}

Result<int64_t> SqliteTxn::CountMembers(ConversationId c) {
  auto s = db_.Prepare("SELECT count(*) FROM members WHERE conversation_id = ?");
  s.Bind(1, c);
  NATTER_TRY(bool row, s.Step());
  return row ? s.Int(0) : 0;
}

Result<std::vector<ConversationSummary>> SqliteTxn::ListConversations(UserId u, int limit, ListCursor after) {
  // Unread excludes the member's own messages, so it is counted, bounded by
  // the (usually small) span between read_seq and last_seq.
  auto s = db_.Prepare("SELECT " JOINED_CONVERSATION_COLUMNS
                       ", m.role, m.read_seq, m.delivered_seq, "
                       "(SELECT count(*) FROM messages x WHERE x.conversation_id = c.id AND x.seq > m.read_seq "
                       "   AND x.kind = 'message' AND x.deleted = 0 AND x.sender_id != m.user_id), m.muted_until "
                       "FROM members m JOIN conversations c ON c.id = m.conversation_id "
                       "WHERE m.user_id = ? AND (c.last_activity, c.id) < (?, ?) "
                       "ORDER BY c.last_activity DESC, c.id DESC LIMIT ?");
  s.Bind(1, u).Bind(2, after.last_activity).Bind(3, after.id).Bind(4, int64_t{limit});
  std::vector<ConversationSummary> out;
  for (;;) {
    NATTER_TRY(bool row, s.Step());
    if (!row) break;
    ConversationSummary summary;
    summary.conversation = ReadConversation(s);
    constexpr int k = kConversationColumns;
    summary.my_role = ParseRole(s.Text(k)).value_or(Role::kReadOnly);
    summary.my_read_seq = s.Int(k + 1);
    summary.my_delivered_seq = s.Int(k + 2);
    summary.unread = s.Int(k + 3);
    summary.my_muted_until = s.Int(k + 4);
    out.push_back(std::move(summary));
  }
  // The newest message, not the newest event: a reaction is not a preview.
  for (auto& summary : out) {
    if (summary.conversation.last_seq == 0) continue;
    auto last = db_.Prepare("SELECT " MESSAGE_COLUMNS
                            " FROM messages WHERE conversation_id = ? "
                            "AND kind = 'message' ORDER BY seq DESC LIMIT 1");
    last.Bind(1, summary.conversation.id);
    NATTER_TRY(summary.last_message, One<Message>(last, [](const Statement& s) { return ReadMessage(s); }));
  }
  return out;
}

Status SqliteTxn::InsertMessage(const Message& m) {
  auto s = db_.Prepare(
      "INSERT INTO messages(conversation_id, seq, sender_id, client_msg_id, body, reply_to, created_at, "
      "kind, target_seq, target_user, edited_at, deleted, attachments) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)");
  s.Bind(1, m.conversation_id).Bind(2, m.seq).Bind(3, m.sender_id);
  if (m.client_msg_id.empty())
    s.BindNull(4);
  else
    s.Bind(4, m.client_msg_id);
  s.Bind(5, m.text)
      .Bind(6, m.reply_to)
      .Bind(7, m.created_at)
      .Bind(8, EventKindName(m.kind))
      .Bind(9, m.target_seq)
      .Bind(10, m.target_user)
      .Bind(11, m.edited_at)
      .Bind(12, int64_t{m.deleted})
      .Bind(13, m.attachments);
  return s.Run();
}

Result<std::optional<Message>> SqliteTxn::FindMessage(ConversationId c, Seq seq) {
  auto s = db_.Prepare("SELECT " MESSAGE_COLUMNS " FROM messages WHERE conversation_id = ? AND seq = ?");
  s.Bind(1, c).Bind(2, seq);
  return One<Message>(s, [](const Statement& s) { return ReadMessage(s); });
}

Result<std::optional<Message>> SqliteTxn::FindByClientMsgId(ConversationId c, UserId sender,
                                                            std::string_view client_msg_id) {
  auto s = db_.Prepare("SELECT " MESSAGE_COLUMNS
                       " FROM messages "
                       "WHERE conversation_id = ? AND sender_id = ? AND client_msg_id = ?");
  s.Bind(1, c).Bind(2, sender).Bind(3, client_msg_id);
  return One<Message>(s, [](const Statement& s) { return ReadMessage(s); });
}

Result<std::vector<Message>> SqliteTxn::History(const HistoryQuery& q) {
  auto collect = [](Statement& s) { return All<Message>(s, [](const Statement& s) { return ReadMessage(s); }); };
  if (q.after) {
    auto s = db_.Prepare("SELECT " MESSAGE_COLUMNS
                         " FROM messages "
                         "WHERE conversation_id = ? AND seq > ? ORDER BY seq ASC LIMIT ?");
    s.Bind(1, q.conversation_id).Bind(2, *q.after).Bind(3, int64_t{q.limit});
    return collect(s);
  }
  auto s = db_.Prepare("SELECT " MESSAGE_COLUMNS
                       " FROM messages "
                       "WHERE conversation_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?");
  s.Bind(1, q.conversation_id).Bind(2, q.before.value_or(INT64_MAX)).Bind(3, int64_t{q.limit});
  return collect(s);
}

Status SqliteTxn::SetLastSeen(UserId id, int64_t ms) {
  auto s = db_.Prepare("UPDATE users SET last_seen = ? WHERE id = ? AND erased_at = 0");
  s.Bind(1, ms).Bind(2, id);
  return s.Run();
}

Status SqliteTxn::SetPresenceHidden(UserId id, bool hidden) {
  auto s = db_.Prepare("UPDATE users SET presence_hidden = ? WHERE id = ?");
  s.Bind(1, int64_t{hidden}).Bind(2, id);
  return s.Run();
}

Result<bool> SqliteTxn::SetProfile(UserId id, std::string_view display_name, std::string_view avatar,
                                   int64_t avatar_upload, int64_t avatar_before) {
  auto s = db_.Prepare(
      "UPDATE users SET display_name = ?, avatar = ?, avatar_upload = ? WHERE id = ? AND avatar_upload = ? "
      "AND erased_at = 0");
  s.Bind(1, display_name).Bind(2, avatar).Bind(3, avatar_upload).Bind(4, id).Bind(5, avatar_before);
  NATTER_RETURN_IF_ERROR(s.Run());
  return db_.changes() > 0;
}

Status SqliteTxn::ReleaseUploadAt(int64_t upload_id, int64_t due_at) { return AddMediaRelease(upload_id, due_at); }

Status SqliteTxn::CancelUploadRelease(int64_t upload_id) { return DeleteMediaRelease(upload_id); }

Status SqliteTxn::SetOnlineAt(UserId id, int node, bool online) {
  auto s = db_.Prepare(online ? "UPDATE users SET online_nodes = online_nodes | (1 << ?) WHERE id = ?"
                              : "UPDATE users SET online_nodes = online_nodes & ~(1 << ?) WHERE id = ?");
  s.Bind(1, int64_t{node}).Bind(2, id);
  return s.Run();
}

Status SqliteTxn::ClearOnlineAt(int node) {
  auto s = db_.Prepare("UPDATE users SET online_nodes = online_nodes & ~(1 << ?1) WHERE online_nodes & (1 << ?1) != 0");
  s.Bind(1, int64_t{node});
  NATTER_RETURN_IF_ERROR(s.Run());
  auto devices =
      db_.Prepare("UPDATE push_presence SET live_nodes = live_nodes & ~(1 << ?1) WHERE live_nodes & (1 << ?1) != 0");
  devices.Bind(1, int64_t{node});
  return devices.Run();
}

Result<std::vector<MembersVersion>> SqliteTxn::ListSmallConversations(UserId id, int limit) {
  auto s = db_.Prepare(
      "SELECT c.id, c.members_version FROM members m JOIN conversations c ON c.id = m.conversation_id "
      "WHERE m.user_id = ? AND c.large = 0 LIMIT ?");
  s.Bind(1, id).Bind(2, int64_t{limit});
  return All<MembersVersion>(s, [](const Statement& s) { return MembersVersion{s.Int(0), s.Int(1)}; });
}

Result<bool> SqliteTxn::ShareConversation(UserId a, UserId b) {
  auto s = db_.Prepare(
      "SELECT 1 FROM members m JOIN members o ON o.conversation_id = m.conversation_id "
      "JOIN conversations c ON c.id = m.conversation_id "
      "WHERE m.user_id = ? AND o.user_id = ? AND c.large = 0 LIMIT 1");
  s.Bind(1, a).Bind(2, b);
  NATTER_TRY(bool row, s.Step());
  return row;
}

Result<UpdateLogState> SqliteTxn::GetUpdateLogState(UserId id) {
  // The newest entry is never pruned, so the log's last row is the user's pts.
  auto s = db_.Prepare(
      "SELECT (SELECT coalesce(max(pts), 0) FROM user_updates WHERE user_id = ?1), pts_floor FROM users WHERE id = ?1");
  s.Bind(1, id);
  NATTER_TRY(bool row, s.Step());
  if (!row) return NotFound("user not found");
  return UpdateLogState{s.Int(0), s.Int(1)};
}

Result<int64_t> SqliteTxn::AppendUserUpdate(UserId id, ConversationId c, Seq seq) {
  // The log's last key (remembered, or read) instead of a counter in the
  // (wide) users row: this runs once per member for every event in a direct
  // chat or small group.
  constexpr size_t kRememberedUsers = 65536;  // about 3 MiB
  auto known = last_pts_.find(id);
  int64_t pts = 0;
  if (known != last_pts_.end()) {
    pts = known->second + 1;
  } else {
    auto last = db_.Prepare("SELECT coalesce(max(pts), 0) FROM user_updates WHERE user_id = ?");
    last.Bind(1, id);
    NATTER_TRY(bool row, last.Step());
    pts = (row ? last.Int(0) : 0) + 1;
  }
  auto s = db_.Prepare("INSERT INTO user_updates(user_id, pts, conversation_id, seq) VALUES(?,?,?,?)");
  s.Bind(1, id).Bind(2, pts).Bind(3, c).Bind(4, seq);
  if (Status st = s.Run(); !st.ok()) {
    last_pts_.erase(id);
    return st.take_error();
  }
  if (known != last_pts_.end()) {
    known->second = pts;
  } else {
    if (last_pts_.size() >= kRememberedUsers) last_pts_.clear();
    last_pts_.emplace(id, pts);
  }
  uncommitted_.push_back(id);
  return pts;
}

Result<std::vector<UserUpdate>> SqliteTxn::UserUpdatesSince(UserId id, int64_t after, int limit) {
  auto s = db_.Prepare(
      "SELECT pts, conversation_id, seq FROM user_updates WHERE user_id = ? AND pts > ? ORDER BY pts LIMIT ?");
  s.Bind(1, id).Bind(2, after).Bind(3, int64_t{limit});
  return All<UserUpdate>(s, [](const Statement& s) { return UserUpdate{s.Int(0), s.Int(1), s.Int(2)}; });
}

Status SqliteTxn::PruneUserUpdates(UserId id, int64_t floor) {
  last_pts_.erase(id);  // read again next time, whatever this leaves
  auto del = db_.Prepare("DELETE FROM user_updates WHERE user_id = ? AND pts <= ?");
  del.Bind(1, id).Bind(2, floor);
  NATTER_RETURN_IF_ERROR(del.Run());
  auto s = db_.Prepare("UPDATE users SET pts_floor = max(pts_floor, ?) WHERE id = ?");
  s.Bind(1, floor).Bind(2, id);
  return s.Run();
}

Status SqliteTxn::SetLarge(ConversationId id) {
  auto s = db_.Prepare("UPDATE conversations SET large = 1, by_seq = 1 WHERE id = ?");
  s.Bind(1, id);
  return s.Run();
}

Status SqliteTxn::SetBySeq(ConversationId id) {
  auto s = db_.Prepare("UPDATE conversations SET by_seq = 1 WHERE id = ?");
  s.Bind(1, id);
  return s.Run();
}

Status SqliteTxn::UpdateDeliveredSeq(ConversationId c, UserId u, Seq seq) {
  auto s =
      db_.Prepare("UPDATE members SET delivered_seq = max(delivered_seq, ?) WHERE conversation_id = ? AND user_id = ?");
  s.Bind(1, seq).Bind(2, c).Bind(3, u);
  return s.Run();
}

Status SqliteTxn::UpdateWatermarks(ConversationId c, UserId u, Seq seq) {
  auto s = db_.Prepare(
      "UPDATE members SET read_seq = max(read_seq, ?1), delivered_seq = max(delivered_seq, ?1) "
      "WHERE conversation_id = ?2 AND user_id = ?3");
  s.Bind(1, seq).Bind(2, c).Bind(3, u);
  return s.Run();
}

Result<std::vector<ConversationId>> SqliteTxn::ListConversationIds(UserId u) {
  auto s = db_.Prepare("SELECT conversation_id FROM members WHERE user_id = ?");
  s.Bind(1, u);
  return Ints(s);
}

Result<std::vector<Conversation>> SqliteTxn::ListBySeqConversations(UserId u) {
  auto s = db_.Prepare("SELECT " CONVERSATION_COLUMNS
                       " FROM conversations WHERE (by_seq = 1 OR large = 1) AND id IN "
                       "(SELECT conversation_id FROM members WHERE user_id = ?)");
  s.Bind(1, u);
  return All<Conversation>(s, [](const Statement& s) { return ReadConversation(s); });
}

Status SqliteTxn::UpdateMessageText(ConversationId c, Seq seq, std::string_view text, int64_t edited_at) {
  auto s = db_.Prepare("UPDATE messages SET body = ?, edited_at = ? WHERE conversation_id = ? AND seq = ?");
  s.Bind(1, text).Bind(2, edited_at).Bind(3, c).Bind(4, seq);
  return s.Run();
}

Status SqliteTxn::EraseMessage(ConversationId c, Seq seq) {
  auto s =
      db_.Prepare("UPDATE messages SET body = '', attachments = '', deleted = 1 WHERE conversation_id = ? AND seq = ?");
  s.Bind(1, c).Bind(2, seq);
  NATTER_RETURN_IF_ERROR(s.Run());
  auto edits = db_.Prepare(
      "UPDATE messages SET body = '' WHERE conversation_id = ? AND target_seq = ? "
      "AND kind IN ('edit', 'reaction')");
  edits.Bind(1, c).Bind(2, seq);
  NATTER_RETURN_IF_ERROR(edits.Run());
  auto envelopes = db_.Prepare(
      "DELETE FROM message_envelopes WHERE conversation_id = ?1 AND (seq = ?2 OR seq IN "
      "(SELECT seq FROM messages WHERE conversation_id = ?1 AND target_seq = ?2 AND kind IN ('edit', 'reaction')))");
  envelopes.Bind(1, c).Bind(2, seq);
  NATTER_RETURN_IF_ERROR(envelopes.Run());
  auto reactions = db_.Prepare("DELETE FROM reactions WHERE conversation_id = ? AND message_seq = ?");
  reactions.Bind(1, c).Bind(2, seq);
  return reactions.Run();
}

Result<bool> SqliteTxn::SetReaction(ConversationId c, Seq seq, UserId u, std::string_view emoji) {
  auto s = db_.Prepare(
      "INSERT INTO reactions(conversation_id, message_seq, user_id, emoji) VALUES(?,?,?,?) "
      "ON CONFLICT(conversation_id, message_seq, user_id) DO UPDATE SET emoji = excluded.emoji "
      "WHERE emoji != excluded.emoji");
  s.Bind(1, c).Bind(2, seq).Bind(3, u).Bind(4, emoji);
  NATTER_RETURN_IF_ERROR(s.Run());
  return db_.changes() > 0;
}

Result<bool> SqliteTxn::RemoveReaction(ConversationId c, Seq seq, UserId u) {
  auto s = db_.Prepare("DELETE FROM reactions WHERE conversation_id = ? AND message_seq = ? AND user_id = ?");
  s.Bind(1, c).Bind(2, seq).Bind(3, u);
  NATTER_RETURN_IF_ERROR(s.Run());
  return db_.changes() > 0;
}

Status SqliteTxn::LoadReactions(std::vector<Message>& messages) {
  if (messages.empty()) return OkStatus();
  Seq low = messages.front().seq, high = messages.front().seq;
  for (const auto& m : messages) {
    low = std::min(low, m.seq);
    high = std::max(high, m.seq);
  }
  auto s = db_.Prepare(
      "SELECT message_seq, user_id, emoji FROM reactions WHERE conversation_id = ? "
      "AND message_seq BETWEEN ? AND ? ORDER BY message_seq, user_id");
  s.Bind(1, messages.front().conversation_id).Bind(2, low).Bind(3, high);
  for (;;) {
    NATTER_TRY(bool row, s.Step());
    if (!row) return OkStatus();
    Seq seq = s.Int(0);
    for (auto& m : messages) {
      if (m.seq == seq) m.reactions.push_back(Reaction{s.Int(1), s.Text(2)});
    }
  }
}

}  // namespace natter::sqlite
