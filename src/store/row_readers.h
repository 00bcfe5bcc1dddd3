// The columns both stores select for each model type, and how a row of them
// becomes one. `Row` is a store's view of one result row: Int, Bool, Text and
// OptInt by column index (sqlite::Statement, pg::Row).
#pragma once

#include "natter/model.h"
#include "store/key_records.h"

// SQL text, spliced into statements as string literals.
#define USER_COLUMNS                                                                                        \
  "id, handle, password_hash, created_at, last_seen, presence_hidden, online_nodes, display_name, avatar, " \
  "avatar_upload, group_adds, server_role, suspended_at, erased_at, bot"
#define SESSION_COLUMNS "id, user_id, device, revoked, created_at"
#define DEVICE_KEYS_COLUMNS                                                                          \
  "user_id, device_id, session_id, registration_id, identity_key, signed_prekey_id, signed_prekey, " \
  "signed_prekey_signature, created_at"
#define REFRESH_TOKEN_COLUMNS "token_hash, session_id, used"
#define CONVERSATION_COLUMNS                                                                                       \
  "id, kind, title, coalesce(direct_key, ''), created_by, created_at, last_seq, last_activity, large, encrypted, " \
  "by_seq"
// The same, of a conversation joined as `c`; kConversationColumns of them.
#define JOINED_CONVERSATION_COLUMNS                                                             \
  "c.id, c.kind, c.title, coalesce(c.direct_key, ''), c.created_by, c.created_at, c.last_seq, " \
  "c.last_activity, c.large, c.encrypted, c.by_seq"
#define MEMBER_COLUMNS "conversation_id, user_id, role, joined_at, read_seq, delivered_seq"
// What is read of a member: the columns written at insert, then what changes later.
#define MEMBER_READ_COLUMNS MEMBER_COLUMNS ", silenced_until"
#define INVITATION_COLUMNS "conversation_id, user_id, invited_by, role, created_at"
#define MESSAGE_COLUMNS                                                                              \
  "conversation_id, seq, sender_id, coalesce(client_msg_id, ''), body, reply_to, created_at, kind, " \
  "target_seq, target_user, edited_at, deleted, attachments"

namespace natter::rows {

// The USER_COLUMNS of `r`.
template <class Row>
User ReadUser(const Row& r) {
  return User{r.Int(0),
              r.Text(1),
              r.Text(2),
              r.Int(3),
              r.Int(4),
              r.Bool(5),
              r.Int(6),
              r.Text(7),
              r.Text(8),
              r.Int(9),
              ParseGroupAdds(r.Text(10)),
              ParseServerRole(r.Text(11)).value_or(ServerRole::kNone),
              r.Int(12),
              r.Int(13),
              r.Bool(14)};
}

// The INVITATION_COLUMNS of `r`.
template <class Row>
Invitation ReadInvitation(const Row& r) {
  return Invitation{r.Int(0), r.Int(1), r.Int(2), ParseRole(r.Text(3)).value_or(Role::kMember), r.Int(4)};
}

#define REPORT_COLUMNS                                                                                               \
  "id, created_at, reporter_id, target_user, conversation_id, seq, reason, text, message_text, state, resolved_by, " \
  "resolved_at, resolution, note"

// The REPORT_COLUMNS of `r`.
template <class Row>
Report ReadReport(const Row& r) {
  return Report{r.Int(0),  r.Int(1),  r.Int(2),  r.Int(3),  r.Int(4),  r.Int(5),   r.Text(6),
                r.Text(7), r.Text(8), r.Text(9), r.Int(10), r.Int(11), r.Text(12), r.Text(13)};
}

#define INVITE_CODE_COLUMNS "id, code_hash, hint, created_by, created_at, expires_at, uses_left"

// The INVITE_CODE_COLUMNS of `r`.
template <class Row>
InviteCode ReadInviteCode(const Row& r) {
  return InviteCode{r.Int(0), r.Text(1), r.Text(2), r.Int(3), r.Int(4), r.Int(5), r.Int(6)};
}

#define AUDIT_COLUMNS "id, at_ms, actor_id, action, target_user, detail, address, outcome"

// The AUDIT_COLUMNS of `r`.
template <class Row>
AuditEntry ReadAudit(const Row& r) {
  return AuditEntry{r.Int(0), r.Int(1), r.Int(2), r.Text(3), r.Int(4), r.Text(5), r.Text(6), r.Text(7)};
}

// The DEVICE_KEYS_COLUMNS of `r` (the key directory, store/key_records.h).
template <class Row>
DeviceKeys ReadDeviceKeys(const Row& r) {
  return DeviceKeys{r.Int(0), r.Int(1), r.Int(2), r.Int(3), r.Text(4), SignedPreKey{r.Int(5), r.Text(6), r.Text(7)},
                    r.Int(8)};
}

// The SESSION_COLUMNS of `r`.
template <class Row>
Session ReadSession(const Row& r) {
  return Session{r.Int(0), r.Int(1), r.Text(2), r.Bool(3), r.Int(4)};
}

// The REFRESH_TOKEN_COLUMNS of `r`.
template <class Row>
RefreshTokenRecord ReadRefreshToken(const Row& r) {
  return RefreshTokenRecord{r.Text(0), r.Int(1), r.Bool(2)};
}

constexpr int kConversationColumns = 11;

// The CONVERSATION_COLUMNS of `r`, starting at column `first`.
template <class Row>
Conversation ReadConversation(const Row& r, int first = 0) {
  Conversation c;
  c.id = r.Int(first);
  c.kind = ParseKind(r.Text(first + 1)).value_or(ConversationKind::kGroup);
  c.title = r.Text(first + 2);
  c.direct_key = r.Text(first + 3);
  c.created_by = r.Int(first + 4);
  c.created_at = r.Int(first + 5);
  c.last_seq = r.Int(first + 6);
  c.last_activity = r.Int(first + 7);
  c.large = r.Bool(first + 8);
  c.encrypted = r.Bool(first + 9);
  // A node of the version before by_seq wrote large ones without it (a
  // cluster upgraded one node at a time): large is always followed by seq.
  c.by_seq = r.Bool(first + 10) || c.large;
  return c;
}

// The membership columns (role, joined_at, read_seq, delivered_seq,
// silenced_until) of `user` in `conversation`, starting at column `first`.
template <class Row>
Member ReadMembership(const Row& r, ConversationId conversation, UserId user, int first) {
  return Member{conversation,
                user,
                ParseRole(r.Text(first)).value_or(Role::kReadOnly),
                r.Int(first + 1),
                r.Int(first + 2),
                r.Int(first + 3),
                r.Int(first + 4)};
}

// The MEMBER_READ_COLUMNS of `r`: its conversation and user, then a membership.
template <class Row>
Member ReadMember(const Row& r) {
  return ReadMembership(r, r.Int(0), r.Int(1), 2);
}

// The MESSAGE_COLUMNS of `r`, starting at column `first`.
template <class Row>
Message ReadMessage(const Row& r, int first = 0) {
  Message m;
  m.conversation_id = r.Int(first);
  m.seq = r.Int(first + 1);
  m.sender_id = r.Int(first + 2);
  m.client_msg_id = r.Text(first + 3);
  m.text = r.Text(first + 4);
  m.reply_to = r.OptInt(first + 5);
  m.created_at = r.Int(first + 6);
  m.kind = ParseEventKind(r.Text(first + 7)).value_or(EventKind::kMessage);
  m.target_seq = r.OptInt(first + 8);
  m.target_user = r.OptInt(first + 9);
  m.edited_at = r.OptInt(first + 10);
  m.deleted = r.Bool(first + 11);
  m.attachments = r.Text(first + 12);
  return m;
}

}  // namespace natter::rows
