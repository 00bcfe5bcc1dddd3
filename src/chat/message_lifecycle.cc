#include "chat/message_lifecycle.h"

#include <algorithm>

#include "chat/blocks.h"
#include "chat/moderation.h"
#include "chat/permissions.h"
#include "chat/send_message.h"
#include "chat/text_rules.h"

namespace natter::chat {
namespace {

// The live message `seq` in a conversation the caller belongs to. Deleted
// messages and system events answer not_found: there is nothing to act on.
Result<std::pair<std::pair<Conversation, Member>, Message>> LiveMessage(ConversationTxn& txn, const Context& ctx,
                                                                        ConversationId id, Seq seq) {
  std::pair<Conversation, Member> membership;
  if (ctx.server_moderator) {
    NATTER_TRY(auto conversation, txn.FindConversation(id));
    if (!conversation) return NotFound("conversation not found");
    membership = {std::move(*conversation), Member{id, ctx.caller, Role::kReadOnly, 0, 0, 0}};
  } else {
    NATTER_TRY(membership, RequireMember(txn, ctx.caller, id));
  }
  NATTER_TRY(auto message, txn.FindMessage(id, seq));
  if (!message || message->kind != EventKind::kMessage || message->deleted) {
    return NotFound("message not found");
  }
  return std::make_pair(std::move(membership), std::move(*message));
}

Message About(EventKind kind, UserId actor, Seq target, std::string text = {}) {
  Message e;
  e.kind = kind;
  e.sender_id = actor;
  e.target_seq = target;
  e.text = std::move(text);
  return e;
}

}  // namespace

Result<Appended> EditMessage(ConversationTxn& txn, const Context& ctx, const ChatLimits& limits, ConversationId id,
                             Seq seq, const std::string& text) {
  NATTER_TRY(auto conversation, CheckEdit(txn, ctx, limits, id, seq, text));
  NATTER_RETURN_IF_ERROR(txn.UpdateMessageText(id, seq, text, ctx.now_ms));
  return AppendEvent(txn, conversation, About(EventKind::kEdit, ctx.caller, seq, text), ctx.now_ms, limits);
}

Result<Conversation> CheckEdit(ConversationTxn& txn, const Context& ctx, const ChatLimits& limits, ConversationId id,
                               Seq seq, const std::string& text) {
  if (text.empty()) return BadRequest("text is empty");
  if (text.size() > limits.max_text_bytes) return TooLarge("text is too long");
  if (!IsValidUtf8Text(text)) return BadRequest("text must be valid UTF-8");
  NATTER_TRY(auto found, LiveMessage(txn, ctx, id, seq));
  auto& [membership, message] = found;
  NATTER_RETURN_IF_ERROR(CheckEncryption(membership.first, false));
  NATTER_RETURN_IF_ERROR(MayEdit(ctx, limits, membership, message));
  NATTER_RETURN_IF_ERROR(CheckMayWriteIn(txn.accounts(), membership.first, ctx.caller));
  return std::move(membership.first);
}

Status MayEdit(const Context& ctx, const ChatLimits& limits, const std::pair<Conversation, Member>& membership,
               const Message& message) {
  if (message.sender_id != ctx.caller) return Forbidden("only the author may edit a message");
  if (!CanPost(membership.first.kind, membership.second.role)) return Forbidden("your role may not post here");
  NATTER_RETURN_IF_ERROR(CheckNotSilenced(membership.second, ctx.now_ms));
  if (ctx.now_ms - message.created_at > limits.edit_window_ms) {
    return Forbidden("the edit window for this message has passed");
  }
  return OkStatus();
}

Result<Appended> DeleteMessage(ConversationTxn& txn, const Context& ctx, const ChatLimits& limits, ConversationId id,
                               Seq seq) {
  NATTER_TRY(auto found, LiveMessage(txn, ctx, id, seq));
  auto& [membership, message] = found;
  const auto& [conversation, me] = membership;
  bool moderator = ctx.server_moderator || (conversation.kind != ConversationKind::kDirect && me.role >= Role::kAdmin);
  if (message.sender_id != ctx.caller && !moderator) {
    return Forbidden("only the author or an admin may delete this message");
  }
  NATTER_RETURN_IF_ERROR(txn.EraseMessage(id, seq));
  return AppendEvent(txn, conversation, About(EventKind::kDelete, ctx.caller, seq), ctx.now_ms, limits);
}

Result<Appended> React(ConversationTxn& txn, const Context& ctx, const ChatLimits& limits, ConversationId id, Seq seq,
                       const std::string& emoji) {
  if (emoji.size() > limits.max_emoji_bytes) return TooLarge("emoji is too long");
  if (!IsValidUtf8Text(emoji)) return BadRequest("emoji must be valid UTF-8");
  for (unsigned char c : emoji) {
    if (c < 0x20) return BadRequest("emoji must be printable");
  }
  NATTER_TRY(auto found, LiveMessage(txn, ctx, id, seq));
  auto& [membership, message] = found;
  NATTER_RETURN_IF_ERROR(CheckEncryption(membership.first, false));
  if (membership.second.role == Role::kReadOnly) return Forbidden("read-only members may not react");
  // Taking a reaction back is always allowed; a new one is writing to them.
  if (!emoji.empty()) {
    NATTER_RETURN_IF_ERROR(CheckNotSilenced(membership.second, ctx.now_ms));
    NATTER_RETURN_IF_ERROR(CheckMayWriteIn(txn.accounts(), membership.first, ctx.caller));
  }
  NATTER_TRY(bool changed,
             emoji.empty() ? txn.RemoveReaction(id, seq, ctx.caller) : txn.SetReaction(id, seq, ctx.caller, emoji));
  if (!changed) {
    // The same reaction again, or removing none: nothing happened, nobody is told.
    std::vector<Message> current{std::move(message)};
    NATTER_RETURN_IF_ERROR(txn.LoadReactions(current));
    Appended unchanged;
    unchanged.event = std::move(current.front());
    return unchanged;
  }
  return AppendEvent(txn, membership.first, About(EventKind::kReaction, ctx.caller, seq, emoji), ctx.now_ms, limits);
}

Result<Appended> ChangeEncrypted(ConversationTxn& txn, const Context& ctx, const ChatLimits& limits, ConversationId id,
                                 Seq seq, EventKind kind, EncryptedPayload payload) {
  NATTER_RETURN_IF_ERROR(ValidatePayload(limits, payload));
  if (kind != EventKind::kEdit && kind != EventKind::kReaction) return Internal("not an edit or a reaction");
  NATTER_TRY(auto found, LiveMessage(txn, ctx, id, seq));
  auto& [membership, message] = found;
  NATTER_RETURN_IF_ERROR(CheckEncryption(membership.first, true));
  if (kind == EventKind::kEdit) {
    NATTER_RETURN_IF_ERROR(MayEdit(ctx, limits, membership, message));
  } else if (membership.second.role == Role::kReadOnly) {
    return Forbidden("read-only members may not react");
  } else {
    NATTER_RETURN_IF_ERROR(CheckNotSilenced(membership.second, ctx.now_ms));
  }
  NATTER_RETURN_IF_ERROR(CheckMayWriteIn(txn.accounts(), membership.first, ctx.caller));
  NATTER_TRY(auto envelopes, AddressMessage(txn, ctx, id, std::move(payload)));
  // The message keeps the ciphertexts it was sent with: a device catching up
  // decrypts each of them, then this one, in order, as the ratchet needs.
  if (kind == EventKind::kEdit) NATTER_RETURN_IF_ERROR(txn.UpdateMessageText(id, seq, "", ctx.now_ms));
  NATTER_TRY(auto appended, AppendEvent(txn, membership.first, About(kind, ctx.caller, seq), ctx.now_ms, limits));
  NATTER_RETURN_IF_ERROR(txn.InsertEnvelopes(id, appended.event.seq, envelopes));
  appended.event.envelopes = std::move(envelopes);
  return appended;
}

Result<ErasedContent> EraseContentBy(ConversationTxn& txn, const ChatLimits& limits, ConversationId id, UserId user,
                                     int64_t now_ms, Seq after_seq, int max) {
  // Update-log entries one slice may write: the same work as a burst of
  // messages, never a long hold on the conversation's writes.
  constexpr int64_t kLogEntriesPerSlice = 20000;
  ErasedContent erased;
  NATTER_TRY(auto conversation, txn.FindConversation(id));
  if (!conversation) return erased;
  if (!conversation->large) {
    NATTER_TRY(int64_t members, txn.CountMembers(id));
    max = static_cast<int>(std::clamp<int64_t>(kLogEntriesPerSlice / std::max<int64_t>(members, 1), 1, max));
  }
  NATTER_TRY(erased.erased, txn.ListMessagesBy(id, user, after_seq, max + 1));
  erased.more = erased.erased.size() > static_cast<size_t>(max);
  if (erased.more) erased.erased.pop_back();
  for (const auto& m : erased.erased) {
    NATTER_RETURN_IF_ERROR(txn.EraseMessage(id, m.seq));
    NATTER_TRY(auto e, AppendEvent(txn, *conversation, About(EventKind::kDelete, user, m.seq), now_ms, limits));
    erased.events.push_back(std::move(e));
  }
  if (erased.more) return erased;
  NATTER_TRY(auto reacted, txn.ForgetReactionsBy(id, user));
  for (Seq seq : reacted) {
    NATTER_TRY(auto e, AppendEvent(txn, *conversation, About(EventKind::kReaction, user, seq), now_ms, limits));
    erased.events.push_back(std::move(e));
  }
  return erased;
}

}  // namespace natter::chat
