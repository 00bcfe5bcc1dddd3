#include "chat/moderation.h"

namespace natter::chat {
namespace {

// The group or channel `id`: refused for a direct chat or none.
Result<Conversation> Moderated(ConversationTxn& txn, ConversationId id) {
  NATTER_TRY(auto conversation, txn.FindConversation(id));
  if (!conversation) return NotFound("no such conversation");
  if (conversation->kind == ConversationKind::kDirect) {
    return BadRequest("a direct chat has no mutes or bans: its users block each other, moderators suspend");
  }
  return std::move(*conversation);
}

}  // namespace

Result<Member> SilenceMember(ConversationTxn& txn, ConversationId id, UserId user, int64_t until) {
  NATTER_TRY(auto conversation, Moderated(txn, id));
  (void)conversation;
  NATTER_TRY(auto member, txn.FindMember(id, user));
  if (!member && until != 0) return NotFound("that user is not a member");
  NATTER_RETURN_IF_ERROR(txn.SetSilenced(id, user, until));
  Member now = member.value_or(Member{id, user});
  now.silenced_until = until;
  return now;
}

Result<std::optional<ConversationView>> BanMember(ConversationTxn& txn, const ChatLimits& limits,
                                                  const ConversationBan& ban) {
  NATTER_TRY(auto conversation, Moderated(txn, ban.conversation_id));
  (void)conversation;
  NATTER_TRY(auto user, txn.accounts().FindUser(ban.user_id));
  if (!user) return NotFound("no such user");
  NATTER_RETURN_IF_ERROR(txn.PutBan(ban));
  return ExpelMember(txn, limits, ban.conversation_id, ban.user_id, ban.banned_at, ban.banned_by);
}

Result<bool> LiftBan(ConversationTxn& txn, ConversationId id, UserId user) {
  NATTER_TRY(auto conversation, Moderated(txn, id));
  (void)conversation;
  return txn.DeleteBan(id, user);
}

Result<std::vector<ConversationBan>> ListBans(ConversationTxn& txn, ConversationId id) {
  NATTER_TRY(auto conversation, Moderated(txn, id));
  (void)conversation;
  return txn.ListBans(id);
}

Status CheckNotSilenced(const Member& member, int64_t now_ms) {
  if (member.silenced_until > now_ms) return Forbidden("a moderator muted you in this conversation");
  return OkStatus();
}

}  // namespace natter::chat
