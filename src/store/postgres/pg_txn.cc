#include "store/postgres/pg_txn.h"
#include "store/postgres/pg_rows.h"

#include <algorithm>
#include <unordered_map>

#include "store/row_readers.h"

namespace natter::pg {
namespace {

using rows::kConversationColumns;
using rows::ReadConversation;
using rows::ReadMember;
using rows::ReadMembership;
using rows::ReadMessage;
using rows::ReadUser;

Param OptText(const std::string& s) { return s.empty() ? Param::Null() : Param(s); }

}  // namespace

Status PgTxn::InsertUser(const User& user) {
  // A taken handle inserts nothing rather than failing: a failed statement
  // would fail the writer's whole pipelined batch (pg_conn.h).
  NATTER_TRY(auto r, accounts_.Query("INSERT INTO users(id, handle, password_hash, created_at) VALUES($1,$2,$3,$4) "
                                     "ON CONFLICT DO NOTHING",
                                     {user.id, user.handle, user.password_hash, user.created_at}));
  if (r.affected() == 0) return Conflict("handle is taken");
  return OkStatus();
}

Result<std::optional<User>> PgTxn::FindUserByHandle(std::string_view handle) {
  NATTER_TRY(auto r, accounts_.Query("SELECT " USER_COLUMNS " FROM users WHERE lower(handle) = lower($1)", {handle}));
  return One<User>(r, ReadUser<Row>);
}

Result<std::optional<User>> PgTxn::FindUser(UserId id) {
  NATTER_TRY(auto r, accounts_.Query("SELECT " USER_COLUMNS " FROM users WHERE id = $1", {id}));
  return One<User>(r, ReadUser<Row>);
}

Status PgTxn::InsertSession(const Session& s) {
  NATTER_TRY(auto r, accounts_.Query("INSERT INTO sessions(id, user_id, device, revoked, created_at) "
                                     "VALUES($1,$2,$3,$4,$5)",
                                     {s.id, s.user_id, s.device, s.revoked, s.created_at}));
  return OkStatus();
}

Result<std::optional<Session>> PgTxn::FindSession(SessionId id) {
  NATTER_TRY(auto r, accounts_.Query("SELECT " SESSION_COLUMNS " FROM sessions WHERE id = $1", {id}));
  return One<Session>(r, rows::ReadSession<Row>);
}

Status PgTxn::RevokeSession(SessionId id) {
  NATTER_TRY(auto r, accounts_.Query("UPDATE sessions SET revoked = true WHERE id = $1", {id}));
  NATTER_TRY(auto p, accounts_.Query("DELETE FROM push_presence WHERE session_id = $1", {id}));
  // Its end-to-end encryption device goes with it: nobody should encrypt
  // for an app install that can no longer sign in.
  NATTER_TRY(auto keys, accounts_.Query("DELETE FROM e2ee_prekeys WHERE (user_id, device_id) IN ("
                                        "SELECT user_id, device_id FROM e2ee_devices WHERE user_id = "
                                        "(SELECT user_id FROM sessions WHERE id = $1) AND session_id = $1)",
                                        {id}));
  NATTER_TRY(auto device, accounts_.Query("DELETE FROM e2ee_devices WHERE user_id = "
                                          "(SELECT user_id FROM sessions WHERE id = $1) AND session_id = $1",
                                          {id}));
  return DeletePushDevice(id);
}

Status PgTxn::InsertRefreshToken(const RefreshTokenRecord& t) {
  NATTER_TRY(auto r, accounts_.Query("INSERT INTO refresh_tokens(token_hash, session_id, used) VALUES($1,$2,$3)",
                                     {t.token_hash, t.session_id, t.used}));
  return OkStatus();
}

Result<std::optional<RefreshTokenRecord>> PgTxn::FindRefreshToken(std::string_view hash) {
  NATTER_TRY(auto r,
             accounts_.Query("SELECT " REFRESH_TOKEN_COLUMNS " FROM refresh_tokens WHERE token_hash = $1", {hash}));
  return One<RefreshTokenRecord>(r, rows::ReadRefreshToken<Row>);
}

Result<bool> PgTxn::MarkRefreshTokenUsed(std::string_view hash) {
  NATTER_TRY(auto r,
             accounts_.Query("UPDATE refresh_tokens SET used = true WHERE token_hash = $1 AND NOT used", {hash}));
  return r.affected() > 0;
}

Status PgTxn::SetLastSeen(UserId id, int64_t ms) {
  NATTER_TRY(auto r, accounts_.Query("UPDATE users SET last_seen = $1 WHERE id = $2 AND erased_at = 0", {ms, id}));
  return OkStatus();
}

Status PgTxn::SetPresenceHidden(UserId id, bool hidden) {
  NATTER_TRY(auto r, accounts_.Query("UPDATE users SET presence_hidden = $1 WHERE id = $2", {hidden, id}));
  return OkStatus();
}

Result<bool> PgTxn::SetProfile(UserId id, std::string_view display_name, std::string_view avatar, int64_t avatar_upload,
                               int64_t avatar_before) {
  // The row lock makes a second node's change wait for this one and then
  // find the picture changed.
  NATTER_TRY(auto r, accounts_.Query("UPDATE users SET display_name = $1, avatar = $2, avatar_upload = $3::bigint "
                                     "WHERE id = $4::bigint AND avatar_upload = $5::bigint AND erased_at = 0",
                                     {display_name, avatar, avatar_upload, id, avatar_before}));
  return r.affected() > 0;
}

Status PgTxn::ReleaseUploadAt(int64_t upload_id, int64_t due_at) {
  // The accounts' instance is the first partition: its sweep finds it there.
  NATTER_TRY(auto r, accounts_.Query("INSERT INTO media_releases(upload_id, due_at) VALUES($1, $2) "
                                     "ON CONFLICT DO NOTHING",
                                     {upload_id, due_at}));
  return OkStatus();
}

Status PgTxn::CancelUploadRelease(int64_t upload_id) {
  NATTER_TRY(auto r, accounts_.Query("DELETE FROM media_releases WHERE upload_id = $1", {upload_id}));
  return OkStatus();
}

Status PgTxn::SetOnlineAt(UserId id, int node, bool online) {
  NATTER_TRY(auto r,
             accounts_.Query(online ? "UPDATE users SET online_nodes = online_nodes | (1::bigint << $1) WHERE id = $2"
                                    : "UPDATE users SET online_nodes = online_nodes & ~(1::bigint << $1) WHERE id = $2",
                             {node, id}));
  return OkStatus();
}

Status PgTxn::ClearOnlineAt(int node) {
  NATTER_TRY(auto r, accounts_.Query("UPDATE users SET online_nodes = online_nodes & ~(1::bigint << $1) "
                                     "WHERE online_nodes & (1::bigint << $1) <> 0",
                                     {node}));
  NATTER_TRY(auto d, accounts_.Query("UPDATE push_presence SET live_nodes = live_nodes & ~(1::bigint << $1) "
                                     "WHERE live_nodes & (1::bigint << $1) <> 0",
                                     {node}));
  return OkStatus();
}

Result<std::vector<MembersVersion>> PgTxn::ListSmallConversations(UserId id, int limit) {
  NATTER_TRY(auto r, db_.Query("SELECT c.id, c.members_version FROM members m JOIN conversations c "
                               "ON c.id = m.conversation_id WHERE m.user_id = $1 AND NOT c.large LIMIT $2",
                               {id, limit}));
  return All<MembersVersion>(r, [](const Row& row) { return MembersVersion{row.Int(0), row.Int(1)}; });
}

Result<bool> PgTxn::ShareConversation(UserId a, UserId b) {
  NATTER_TRY(auto r, db_.Query("SELECT 1 FROM members m JOIN members o ON o.conversation_id = m.conversation_id "
                               "JOIN conversations c ON c.id = m.conversation_id "
                               "WHERE m.user_id = $1 AND o.user_id = $2 AND NOT c.large LIMIT 1",
                               {a, b}));
  return !r.empty();
}

Result<std::vector<UserId>> PgTxn::WhoShareWith(UserId id, const std::vector<UserId>& others) {
  if (others.empty()) return std::vector<UserId>{};
  NATTER_TRY(
      auto r,
      db_.Query("SELECT DISTINCT o.user_id FROM members m JOIN members o ON o.conversation_id = m.conversation_id "
                "JOIN conversations c ON c.id = m.conversation_id "
                "WHERE m.user_id = $1 AND o.user_id = ANY($2::bigint[]) AND o.user_id != $1 AND NOT c.large",
                {id, IdArray(others)}));
  return All<UserId>(r, [](const Row& row) { return row.Int(0); });
}

Result<UpdateLogState> PgTxn::GetUpdateLogState(UserId id) {
  NATTER_TRY(auto r, db_.Query("SELECT pts, pts_floor FROM user_logs WHERE user_id = $1", {id}));
  if (r.empty()) return UpdateLogState{0, 0};
  return UpdateLogState{r.Int(0, 0), r.Int(0, 1)};
}

std::optional<int64_t> PgTxn::NextPts(UserId user) {
  auto it = view_.heads.find(user);
  if (it == view_.heads.end()) return std::nullopt;
  return ++it->second;
}

Member* PgTxn::ViewedMember(ConversationId c, UserId u) {
  auto* members = view_.MembersOf(c);
  if (!members) return nullptr;
  auto it = std::lower_bound(members->begin(), members->end(), u,
                             [](const Member& m, UserId user) { return m.user_id < user; });
  return it != members->end() && it->user_id == u ? &*it : nullptr;
}

Result<int64_t> PgTxn::AppendUserUpdate(UserId id, ConversationId c, Seq seq) {
  if (auto pts = NextPts(id)) {
    // The head is locked and known: written without waiting for an answer.
    kept_.LogEntry(id, *pts, c, seq);
    NATTER_RETURN_IF_ERROR(Keep());
    return *pts;
  }
  // The log's head row is locked until commit, so concurrent writers (other
  // nodes) number a user's entries one after the other, without gaps. One
  // statement: this runs once per member for every event in a small group.
  NATTER_TRY(auto r, db_.Query("WITH head AS (INSERT INTO user_logs(user_id, pts) VALUES($1, 1) "
                               "ON CONFLICT (user_id) DO UPDATE SET pts = user_logs.pts + 1 RETURNING pts) "
                               "INSERT INTO user_updates(user_id, pts, conversation_id, seq) "
                               "SELECT $1, pts, $2, $3 FROM head RETURNING pts",
                               {id, c, seq}));
  return r.Int(0, 0);
}

Result<std::vector<int64_t>> PgTxn::AppendUserUpdates(const std::vector<UserId>& users, ConversationId c, Seq seq) {
  if (users.size() == 1) {
    NATTER_TRY(int64_t pts, AppendUserUpdate(users.front(), c, seq));
    return std::vector<int64_t>{pts};
  }
  std::vector<int64_t> out;
  if (users.empty()) return out;
  bool viewed = std::all_of(users.begin(), users.end(), [&](UserId u) { return view_.heads.contains(u); });
  if (viewed) {
    for (UserId u : users) {
      out.push_back(*NextPts(u));
      kept_.LogEntry(u, out.back(), c, seq);
    }
    NATTER_RETURN_IF_ERROR(Keep());
    return out;
  }
  // One multi-row statement for the whole group: a round trip per member was
  // most of a group send's cost. Heads are taken in user order (as LockAhead
  // does), so this never waits on another transaction in a cycle.
  std::string array = IdArray(users);
  NATTER_TRY(auto r, db_.Query("WITH heads AS (INSERT INTO user_logs(user_id, pts) "
                               "SELECT u, 1 FROM unnest($1::bigint[]) AS u ORDER BY u "
                               "ON CONFLICT (user_id) DO UPDATE SET pts = user_logs.pts + 1 RETURNING user_id, pts) "
                               "INSERT INTO user_updates(user_id, pts, conversation_id, seq) "
                               "SELECT user_id, pts, $2, $3 FROM heads RETURNING user_id, pts",
                               {array, c, seq}));
  std::unordered_map<UserId, int64_t> by_user;
  for (int i = 0; i < r.size(); ++i) by_user[r.Int(i, 0)] = r.Int(i, 1);
  for (auto& [user, head] : view_.heads) {
    if (auto it = by_user.find(user); it != by_user.end()) head = it->second;  // the view stays true
  }
  out.reserve(users.size());
  for (UserId u : users) {
    auto it = by_user.find(u);
    if (it == by_user.end()) return Internal("update log entry missing for a member");
    out.push_back(it->second);
  }
  return out;
}

Result<std::vector<UserUpdate>> PgTxn::UserUpdatesSince(UserId id, int64_t after, int limit) {
  NATTER_TRY(auto r, db_.Query("SELECT pts, conversation_id, seq FROM user_updates WHERE user_id = $1 AND pts > $2 "
                               "ORDER BY pts LIMIT $3",
                               {id, after, limit}));
  return All<UserUpdate>(r, [](const Row& row) { return UserUpdate{row.Int(0), row.Int(1), row.Int(2)}; });
}

Status PgTxn::PruneUserUpdates(UserId id, int64_t floor) {
  NATTER_TRY(auto del, db_.Query("DELETE FROM user_updates WHERE user_id = $1 AND pts <= $2", {id, floor}));
  NATTER_TRY(auto r,
             db_.Query("UPDATE user_logs SET pts_floor = greatest(pts_floor, $1) WHERE user_id = $2", {floor, id}));
  return OkStatus();
}

Status PgTxn::InsertConversation(const Conversation& c) {
  NATTER_TRY(auto r,
             db_.Query("INSERT INTO conversations(id, kind, title, direct_key, created_by, created_at, "
                       "last_seq, last_activity, large, encrypted, by_seq) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)",
                       {c.id, KindName(c.kind), c.title, OptText(c.direct_key), c.created_by, c.created_at, c.last_seq,
                        c.last_activity, c.large, c.encrypted, c.by_seq}));
  return OkStatus();
}

Result<std::optional<Conversation>> PgTxn::FindConversation(ConversationId id) {
  if (const Conversation* viewed = view_.FindConversation(id)) return std::optional<Conversation>(*viewed);
  NATTER_TRY(auto r, db_.Query("SELECT " CONVERSATION_COLUMNS " FROM conversations WHERE id = $1", {id}));
  return One<Conversation>(r, [](const Row& row) { return ReadConversation(row); });
}

Result<std::optional<ConversationId>> PgTxn::FindDirect(std::string_view direct_key) {
  NATTER_TRY(auto r, db_.Query("SELECT id FROM conversations WHERE direct_key = $1", {direct_key}));
  return One<ConversationId>(r, [](const Row& row) { return row.Int(0); });
}

Status PgTxn::UpdateTitle(ConversationId id, std::string_view title) {
  view_.Clear();
  NATTER_TRY(auto r, db_.Query("UPDATE conversations SET title = $1 WHERE id = $2", {title, id}));
  return OkStatus();
}

Result<Seq> PgTxn::NextSeq(ConversationId id, int64_t now_ms) {
  // The row lock this takes is held until commit: a second writer (on this or
  // another node) waits, then continues from the committed value, so numbers
  // stay dense, and a rolled-back transaction gives its number back.
  if (auto it = view_.conversations.find(id); it != view_.conversations.end()) {
    // Its row is locked and known: written without waiting for an answer.
    Seq seq = ++it->second.last_seq;
    it->second.last_activity = now_ms;
    kept_.ConversationSeq(id, seq, now_ms);
    NATTER_RETURN_IF_ERROR(Keep());
    return seq;
  }
  NATTER_TRY(auto r, db_.Query("UPDATE conversations SET last_seq = last_seq + 1, last_activity = $1 WHERE id = $2 "
                               "RETURNING last_seq",
                               {now_ms, id}));
  if (r.empty()) return NotFound("conversation not found");
  return r.Int(0, 0);
}

Status PgTxn::InsertMember(const Member& m) {
  view_.Clear();
  NATTER_TRY(auto r,
             db_.Query("INSERT INTO members(" MEMBER_COLUMNS ") VALUES($1,$2,$3,$4,$5,$6)",
                       {m.conversation_id, m.user_id, RoleName(m.role), m.joined_at, m.read_seq, m.delivered_seq}));
  return OkStatus();
}

Status PgTxn::DeleteMember(ConversationId c, UserId u) {
  view_.Clear();
  NATTER_TRY(auto r, db_.Query("DELETE FROM members WHERE conversation_id = $1 AND user_id = $2", {c, u}));
  return OkStatus();
}

Status PgTxn::UpdateRole(ConversationId c, UserId u, Role role) {
  view_.Clear();
  NATTER_TRY(auto r, db_.Query("UPDATE members SET role = $1 WHERE conversation_id = $2 AND user_id = $3",
                               {RoleName(role), c, u}));
  return OkStatus();
}

Status PgTxn::SetLarge(ConversationId id) {
  view_.Clear();
  NATTER_TRY(auto r, db_.Query("UPDATE conversations SET large = true, by_seq = true WHERE id = $1", {id}));
  return OkStatus();
}

Status PgTxn::SetBySeq(ConversationId id) {
  view_.Clear();
  NATTER_TRY(auto r, db_.Query("UPDATE conversations SET by_seq = true WHERE id = $1", {id}));
  return OkStatus();
}

Status PgTxn::UpdateReadSeq(ConversationId c, UserId u, Seq seq) {
  if (Member* m = ViewedMember(c, u)) m->read_seq = std::max(m->read_seq, seq);
  return db_.Defer("UPDATE members SET read_seq = greatest(read_seq, $1) WHERE conversation_id = $2 AND user_id = $3",
                   {seq, c, u});
}

Status PgTxn::UpdateDeliveredSeq(ConversationId c, UserId u, Seq seq) {
  if (Member* m = ViewedMember(c, u)) m->delivered_seq = std::max(m->delivered_seq, seq);
  return db_.Defer(
      "UPDATE members SET delivered_seq = greatest(delivered_seq, $1) "
      "WHERE conversation_id = $2 AND user_id = $3",
      {seq, c, u});
}

Status PgTxn::UpdateWatermarks(ConversationId c, UserId u, Seq seq) {
  if (Member* m = ViewedMember(c, u)) {
    m->read_seq = std::max(m->read_seq, seq);
    m->delivered_seq = std::max(m->delivered_seq, seq);
  }
  kept_.Watermarks(c, u, seq);
  return Keep();
}

Result<std::optional<Member>> PgTxn::FindMember(ConversationId c, UserId u) {
  if (view_.MembersOf(c)) {
    const Member* m = ViewedMember(c, u);
    return m ? std::optional<Member>(*m) : std::optional<Member>();
  }
  NATTER_TRY(
      auto r,
      db_.Query("SELECT " MEMBER_READ_COLUMNS " FROM members WHERE conversation_id = $1 AND user_id = $2", {c, u}));
  return One<Member>(r, ReadMember<Row>);
}

Result<std::optional<std::pair<Conversation, Member>>> PgTxn::FindMembership(ConversationId c, UserId u) {
  if (view_.MembersOf(c)) {
    const Member* m = ViewedMember(c, u);
    if (!m) return std::optional<std::pair<Conversation, Member>>();
    return std::optional(std::make_pair(*view_.FindConversation(c), *m));
  }
  NATTER_TRY(auto r, db_.Query("SELECT " JOINED_CONVERSATION_COLUMNS
                               ", m.role, m.joined_at, m.read_seq, m.delivered_seq, m.silenced_until "
                               "FROM members m JOIN conversations c ON c.id = m.conversation_id "
                               "WHERE m.conversation_id = $1 AND m.user_id = $2",
                               {c, u}));
  return One<std::pair<Conversation, Member>>(r, [u](const Row& row) {
    Conversation conv = ReadConversation(row);
    Member m = ReadMembership(row, conv.id, u, kConversationColumns);
    return std::make_pair(std::move(conv), m);
  });
}

Result<std::vector<Member>> PgTxn::ListMembers(ConversationId c) {
  NATTER_TRY(auto r, db_.Query("SELECT " MEMBER_READ_COLUMNS " FROM members WHERE conversation_id = $1 "
                               "ORDER BY joined_at, user_id",
                               {c}));
  return All<Member>(r, ReadMember<Row>);
}

Result<std::vector<UserId>> PgTxn::ListMemberIds(ConversationId c) {
  if (const auto* members = view_.MembersOf(c)) {
    std::vector<UserId> ids;
    ids.reserve(members->size());
    for (const auto& m : *members) ids.push_back(m.user_id);
    return ids;
  }
  NATTER_TRY(auto r, db_.Query("SELECT user_id FROM members WHERE conversation_id = $1 ORDER BY user_id", {c}));
  return Ints(r);
}

Result<std::vector<std::pair<ConversationId, UserId>>> PgTxn::ListMemberIdsOf(
    const std::vector<ConversationId>& conversations) {
  NATTER_TRY(auto r, db_.Query("SELECT conversation_id, user_id FROM members WHERE conversation_id = ANY($1::bigint[]) "
                               "ORDER BY 1, 2",
                               {pg::IdArray(conversations)}));
  return All<std::pair<ConversationId, UserId>>(r, [](const Row& row) { return std::pair{row.Int(0), row.Int(1)}; });
}

Result<int64_t> PgTxn::CountMembers(ConversationId c) {
  NATTER_TRY(auto r, db_.Query("SELECT count(*) FROM members WHERE conversation_id = $1", {c}));
  return r.Int(0, 0);
}

Result<std::vector<ConversationSummary>> PgTxn::ListConversations(UserId u, int limit, ListCursor after) {
  // One query: the conversations, the caller's membership, the unread count
  // (others' live messages after the read mark) and the newest message.
  NATTER_TRY(
      auto r,
      db_.Query(
          "SELECT " JOINED_CONVERSATION_COLUMNS ", m.role, m.read_seq, m.delivered_seq, "
          "(SELECT count(*) FROM messages x WHERE x.conversation_id = c.id AND x.seq > m.read_seq "
          "   AND x.kind = 'message' AND NOT x.deleted AND x.sender_id != m.user_id), m.muted_until, "
          "l.conversation_id, l.seq, l.sender_id, coalesce(l.client_msg_id, ''), l.body, l.reply_to, l.created_at, "
          "l.kind, l.target_seq, l.target_user, l.edited_at, l.deleted, l.attachments "
          "FROM members m JOIN conversations c ON c.id = m.conversation_id "
          "LEFT JOIN LATERAL (SELECT * FROM messages y WHERE y.conversation_id = c.id AND y.kind = 'message' "
          "   ORDER BY y.seq DESC LIMIT 1) l ON true "
          "WHERE m.user_id = $1 AND (c.last_activity, c.id) < ($2, $3) "
          "ORDER BY c.last_activity DESC, c.id DESC LIMIT $4",
          {u, after.last_activity, after.id, limit}));
  std::vector<ConversationSummary> out;
  out.reserve(r.size());
  for (int i = 0; i < r.size(); ++i) {
    ConversationSummary summary;
    summary.conversation = ReadConversation(r.At(i));
    constexpr int k = kConversationColumns;
    summary.my_role = ParseRole(r.Text(i, k)).value_or(Role::kReadOnly);
    summary.my_read_seq = r.Int(i, k + 1);
    summary.my_delivered_seq = r.Int(i, k + 2);
    summary.unread = r.Int(i, k + 3);
    summary.my_muted_until = r.Int(i, k + 4);
    if (!r.IsNull(i, k + 5)) summary.last_message = ReadMessage(r.At(i), k + 5);
    out.push_back(std::move(summary));
  }
  return out;
}

Result<std::vector<ConversationId>> PgTxn::ListConversationIds(UserId u) {
  NATTER_TRY(auto r, db_.Query("SELECT conversation_id FROM members WHERE user_id = $1", {u}));
  return Ints(r);
}

Result<std::vector<Conversation>> PgTxn::ListBySeqConversations(UserId u) {
  NATTER_TRY(auto r, db_.Query("SELECT " CONVERSATION_COLUMNS " FROM conversations WHERE (by_seq OR large) AND id IN "
                               "(SELECT conversation_id FROM members WHERE user_id = $1)",
                               {u}));
  return All<Conversation>(r, [](const Row& row) { return ReadConversation(row); });
}

Status PgTxn::InsertMessage(const Message& m) {
  // A second send of it in this batch reads the database, which has it then.
  view_.sent.erase(std::tuple{m.conversation_id, m.sender_id, m.client_msg_id});
  view_.replied.erase(std::pair{m.conversation_id, m.seq});  // a reply to it, later in the batch
  kept_.Message(m);
  return Keep();
}

Status PgTxn::Keep() {
  if (keep_back_ && db_.pipelined()) {
    db_.KeptBack();
    return OkStatus();
  }
  return kept_.SendTo(db_);
}

Result<std::optional<Message>> PgTxn::FindMessage(ConversationId c, Seq seq) {
  auto viewed = view_.replied.find(std::pair{c, seq});
  if (viewed != view_.replied.end()) return viewed->second;
  NATTER_TRY(auto r,
             db_.Query("SELECT " MESSAGE_COLUMNS " FROM messages WHERE conversation_id = $1 AND seq = $2", {c, seq}));
  return One<Message>(r, [](const Row& row) { return ReadMessage(row); });
}

Result<std::optional<Message>> PgTxn::FindByClientMsgId(ConversationId c, UserId sender,
                                                        std::string_view client_msg_id) {
  auto viewed = view_.sent.find(std::tuple{c, sender, std::string(client_msg_id)});
  if (viewed != view_.sent.end()) return viewed->second;
  NATTER_TRY(auto r, db_.Query("SELECT " MESSAGE_COLUMNS " FROM messages "
                               "WHERE conversation_id = $1 AND sender_id = $2 AND client_msg_id = $3",
                               {c, sender, client_msg_id}));
  return One<Message>(r, [](const Row& row) { return ReadMessage(row); });
}

Result<std::vector<Message>> PgTxn::History(const HistoryQuery& q) {
  if (q.after) {
    NATTER_TRY(auto r, db_.Query("SELECT " MESSAGE_COLUMNS " FROM messages WHERE conversation_id = $1 AND seq > $2 "
                                 "ORDER BY seq ASC LIMIT $3",
                                 {q.conversation_id, *q.after, q.limit}));
    return All<Message>(r, [](const Row& row) { return ReadMessage(row); });
  }
  NATTER_TRY(auto r, db_.Query("SELECT " MESSAGE_COLUMNS " FROM messages WHERE conversation_id = $1 AND seq < $2 "
                               "ORDER BY seq DESC LIMIT $3",
                               {q.conversation_id, q.before.value_or(INT64_MAX), q.limit}));
  return All<Message>(r, [](const Row& row) { return ReadMessage(row); });
}

Status PgTxn::UpdateMessageText(ConversationId c, Seq seq, std::string_view text, int64_t edited_at) {
  view_.ForgetMessages();
  NATTER_TRY(auto r, db_.Query("UPDATE messages SET body = $1, edited_at = $2 WHERE conversation_id = $3 AND seq = $4",
                               {text, edited_at, c, seq}));
  return OkStatus();
}

Status PgTxn::EraseMessage(ConversationId c, Seq seq) {
  view_.ForgetMessages();
  NATTER_TRY(
      auto a,
      db_.Query(
          "UPDATE messages SET body = '', attachments = '', deleted = true WHERE conversation_id = $1 AND seq = $2",
          {c, seq}));
  NATTER_TRY(auto b, db_.Query("UPDATE messages SET body = '' WHERE conversation_id = $1 AND target_seq = $2 "
                               "AND kind IN ('edit', 'reaction')",
                               {c, seq}));
  NATTER_TRY(auto d, db_.Query("DELETE FROM reactions WHERE conversation_id = $1 AND message_seq = $2", {c, seq}));
  NATTER_TRY(auto e, db_.Query("DELETE FROM message_envelopes WHERE conversation_id = $1 AND (seq = $2 OR seq IN "
                               "(SELECT seq FROM messages WHERE conversation_id = $1 AND target_seq = $2 "
                               "AND kind IN ('edit', 'reaction')))",
                               {c, seq}));
  return OkStatus();
}

Result<bool> PgTxn::SetReaction(ConversationId c, Seq seq, UserId u, std::string_view emoji) {
  NATTER_TRY(auto r, db_.Query("INSERT INTO reactions(conversation_id, message_seq, user_id, emoji) "
                               "VALUES($1,$2,$3,$4) ON CONFLICT (conversation_id, message_seq, user_id) "
                               "DO UPDATE SET emoji = excluded.emoji WHERE reactions.emoji != excluded.emoji",
                               {c, seq, u, emoji}));
  return r.affected() > 0;
}

Result<bool> PgTxn::RemoveReaction(ConversationId c, Seq seq, UserId u) {
  NATTER_TRY(auto r, db_.Query("DELETE FROM reactions WHERE conversation_id = $1 AND message_seq = $2 AND user_id = $3",
                               {c, seq, u}));
  return r.affected() > 0;
}

Status PgTxn::LoadReactions(std::vector<Message>& messages) {
  if (messages.empty()) return OkStatus();
  Seq low = messages.front().seq, high = messages.front().seq;
  for (const auto& m : messages) {
    low = std::min(low, m.seq);
    high = std::max(high, m.seq);
  }
  NATTER_TRY(auto r, db_.Query("SELECT message_seq, user_id, emoji FROM reactions WHERE conversation_id = $1 "
                               "AND message_seq BETWEEN $2 AND $3 ORDER BY message_seq, user_id",
                               {messages.front().conversation_id, low, high}));
  for (int i = 0; i < r.size(); ++i) {
    Seq seq = r.Int(i, 0);
    for (auto& m : messages) {
      if (m.seq == seq) m.reactions.push_back(Reaction{r.Int(i, 1), r.Text(i, 2)});
    }
  }
  return OkStatus();
}

}  // namespace natter::pg
