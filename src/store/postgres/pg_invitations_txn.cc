// PgTxn's consent: invitations and departures live with their conversation
// (this partition); who may add a user straight away, with the accounts.
#include "store/postgres/pg_txn.h"
#include "store/row_readers.h"

namespace natter::pg {

Status PgTxn::SetGroupAdds(UserId id, GroupAdds who) {
  NATTER_TRY(auto r, accounts_.Query("UPDATE users SET group_adds = $1 WHERE id = $2", {GroupAddsName(who), id}));
  return OkStatus();
}

Result<std::vector<UserId>> PgTxn::ChosenContacts(UserId id, const std::vector<UserId>& others) {
  if (others.empty()) return std::vector<UserId>{};
  NATTER_TRY(auto r, db_.Query("SELECT DISTINCT o.user_id FROM members m "
                               "JOIN members o ON o.conversation_id = m.conversation_id "
                               "JOIN conversations c ON c.id = m.conversation_id "
                               "WHERE m.user_id = $1 AND o.user_id = ANY($2::bigint[]) AND o.user_id != $1 "
                               "AND NOT c.large AND (c.kind != 'direct' OR c.created_by = o.user_id "
                               "OR EXISTS (SELECT 1 FROM messages x WHERE x.conversation_id = c.id "
                               "AND x.sender_id = o.user_id AND x.kind = 'message'))",
                               {id, IdArray(others)}));
  std::vector<UserId> out;
  for (int i = 0; i < r.size(); ++i) out.push_back(r.Int(i, 0));
  return out;
}

Result<bool> PgTxn::PutInvitation(const Invitation& invitation) {
  NATTER_TRY(auto r, db_.Query("INSERT INTO invitations(" INVITATION_COLUMNS ") VALUES($1,$2,$3,$4,$5) "
                               "ON CONFLICT (conversation_id, user_id) DO NOTHING",
                               {invitation.conversation_id, invitation.user_id, invitation.invited_by,
                                RoleName(invitation.role), invitation.created_at}));
  return r.affected() > 0;
}

Result<std::optional<Invitation>> PgTxn::FindInvitation(ConversationId c, UserId u) {
  NATTER_TRY(
      auto r,
      db_.Query("SELECT " INVITATION_COLUMNS " FROM invitations WHERE conversation_id = $1 AND user_id = $2", {c, u}));
  if (r.empty()) return std::optional<Invitation>();
  return std::optional<Invitation>(rows::ReadInvitation(r.At(0)));
}

Status PgTxn::DeleteInvitation(ConversationId c, UserId u) {
  NATTER_TRY(auto r, db_.Query("DELETE FROM invitations WHERE conversation_id = $1 AND user_id = $2", {c, u}));
  return OkStatus();
}

Result<std::vector<PendingInvitation>> PgTxn::ListInvitations(UserId u, int limit) {
  NATTER_TRY(
      auto r,
      db_.Query("SELECT i.conversation_id, i.user_id, i.invited_by, i.role, i.created_at, " JOINED_CONVERSATION_COLUMNS
                ", "
                "(SELECT count(*) FROM members m WHERE m.conversation_id = c.id) "
                "FROM invitations i JOIN conversations c ON c.id = i.conversation_id "
                "WHERE i.user_id = $1 ORDER BY i.created_at DESC, i.conversation_id DESC LIMIT $2",
                {u, int64_t{limit}}));
  std::vector<PendingInvitation> out;
  for (int i = 0; i < r.size(); ++i) {
    Row row = r.At(i);
    out.push_back(PendingInvitation{rows::ReadInvitation(row), rows::ReadConversation(row, 5),
                                    row.Int(5 + rows::kConversationColumns)});
  }
  return out;
}

Status PgTxn::SetDeparted(ConversationId c, UserId u, bool departed, int64_t at_ms) {
  if (departed) {
    NATTER_TRY(auto r, db_.Query("INSERT INTO departures(conversation_id, user_id, departed_at) VALUES($1,$2,$3) "
                                 "ON CONFLICT (conversation_id, user_id) DO UPDATE SET departed_at = $3",
                                 {c, u, at_ms}));
    return OkStatus();
  }
  NATTER_TRY(auto r, db_.Query("DELETE FROM departures WHERE conversation_id = $1 AND user_id = $2", {c, u}));
  return OkStatus();
}

Result<bool> PgTxn::HasDeparted(ConversationId c, UserId u) {
  NATTER_TRY(auto r, db_.Query("SELECT 1 FROM departures WHERE conversation_id = $1 AND user_id = $2", {c, u}));
  return !r.empty();
}

}  // namespace natter::pg
