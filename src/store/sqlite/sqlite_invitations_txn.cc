// SqliteTxn's consent: invitations waiting for an answer, who left or
// declined a conversation, and who may add a user straight away.
#include "store/row_readers.h"
#include "store/sqlite/sqlite_txn.h"

namespace natter::sqlite {

Status SqliteTxn::SetGroupAdds(UserId id, GroupAdds who) {
  auto s = db_.Prepare("UPDATE users SET group_adds = ? WHERE id = ?");
  s.Bind(1, GroupAddsName(who)).Bind(2, id);
  return s.Run();
}

Result<std::vector<UserId>> SqliteTxn::ChosenContacts(UserId id, const std::vector<UserId>& others) {
  std::vector<UserId> out;
  for (UserId other : others) {
    if (other == id) continue;
    auto s = db_.Prepare(
        "SELECT 1 FROM members m JOIN members o ON o.conversation_id = m.conversation_id "
        "JOIN conversations c ON c.id = m.conversation_id "
        "WHERE m.user_id = ? AND o.user_id = ? AND c.large = 0 AND (c.kind != 'direct' OR c.created_by = o.user_id "
        "OR EXISTS (SELECT 1 FROM messages x WHERE x.conversation_id = c.id AND x.sender_id = o.user_id "
        "AND x.kind = 'message')) LIMIT 1");
    s.Bind(1, id).Bind(2, other);
    NATTER_TRY(bool row, s.Step());
    if (row) out.push_back(other);
  }
  return out;
}

Result<bool> SqliteTxn::PutInvitation(const Invitation& invitation) {
  auto s = db_.Prepare("INSERT INTO invitations(" INVITATION_COLUMNS
                       ") VALUES(?,?,?,?,?) "
                       "ON CONFLICT(conversation_id, user_id) DO NOTHING");
  s.Bind(1, invitation.conversation_id)
      .Bind(2, invitation.user_id)
      .Bind(3, invitation.invited_by)
      .Bind(4, RoleName(invitation.role))
      .Bind(5, invitation.created_at);
  NATTER_RETURN_IF_ERROR(s.Run());
  return db_.changes() > 0;
}

Result<std::optional<Invitation>> SqliteTxn::FindInvitation(ConversationId c, UserId u) {
  auto s = db_.Prepare("SELECT " INVITATION_COLUMNS " FROM invitations WHERE conversation_id = ? AND user_id = ?");
  s.Bind(1, c).Bind(2, u);
  NATTER_TRY(bool row, s.Step());
  if (!row) return std::optional<Invitation>();
  return std::optional<Invitation>(rows::ReadInvitation(s));
}

Status SqliteTxn::DeleteInvitation(ConversationId c, UserId u) {
  auto s = db_.Prepare("DELETE FROM invitations WHERE conversation_id = ? AND user_id = ?");
  s.Bind(1, c).Bind(2, u);
  return s.Run();
}

Result<std::vector<PendingInvitation>> SqliteTxn::ListInvitations(UserId u, int limit) {
  // The invitation's columns, then the conversation's, then its member count.
  auto s = db_.Prepare(
      "SELECT i.conversation_id, i.user_id, i.invited_by, i.role, i.created_at, " JOINED_CONVERSATION_COLUMNS
      ", "
      "(SELECT count(*) FROM members m WHERE m.conversation_id = c.id) "
      "FROM invitations i JOIN conversations c ON c.id = i.conversation_id "
      "WHERE i.user_id = ? ORDER BY i.created_at DESC, i.conversation_id DESC LIMIT ?");
  s.Bind(1, u).Bind(2, int64_t{limit});
  std::vector<PendingInvitation> out;
  for (;;) {
    NATTER_TRY(bool row, s.Step());
    if (!row) return out;
    out.push_back(PendingInvitation{rows::ReadInvitation(s), rows::ReadConversation(s, 5),
                                    s.Int(5 + rows::kConversationColumns)});
  }
}

Status SqliteTxn::SetDeparted(ConversationId c, UserId u, bool departed, int64_t at_ms) {
  auto s =
      db_.Prepare(departed ? "INSERT INTO departures(conversation_id, user_id, departed_at) VALUES(?,?,?) "
                             "ON CONFLICT(conversation_id, user_id) DO UPDATE SET departed_at = excluded.departed_at"
                           : "DELETE FROM departures WHERE conversation_id = ? AND user_id = ?");
  s.Bind(1, c).Bind(2, u);
  if (departed) s.Bind(3, at_ms);
  return s.Run();
}

Result<bool> SqliteTxn::HasDeparted(ConversationId c, UserId u) {
  auto s = db_.Prepare("SELECT 1 FROM departures WHERE conversation_id = ? AND user_id = ?");
  s.Bind(1, c).Bind(2, u);
  return s.Step();
}

}  // namespace natter::sqlite
