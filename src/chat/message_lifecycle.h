// What happens to a message after it is sent: edits (author only, within a
// window), delete for everyone (author; admins and owner in groups and
// channels), reactions (one emoji per member per message). Each change is an
// event with its own seq, so sync carries it like a message.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "chat/conversations.h"
#include "chat/envelopes.h"
#include "chat/timeline.h"

namespace natter::chat {

Result<Appended> EditMessage(ConversationTxn& txn, const Context& ctx, const ChatLimits& limits, ConversationId id,
                             Seq seq, const std::string& text);
// Everything EditMessage checks, without the write: the conversation, for
// callers that ask first (the pre-send hook).
Result<Conversation> CheckEdit(ConversationTxn& txn, const Context& ctx, const ChatLimits& limits, ConversationId id,
                               Seq seq, const std::string& text);
// The author's edit window and rights (CheckEdit's checks of the message).
Status MayEdit(const Context& ctx, const ChatLimits& limits, const std::pair<Conversation, Member>& membership,
               const Message& message);
// Encrypted conversations: an edit (author only, within the window) or a
// reaction (any member who may write) as ciphertexts for every device, like
// a message (chat/envelopes.h); the server never sees the new text or the
// emoji, so no reaction is counted.
Result<Appended> ChangeEncrypted(ConversationTxn& txn, const Context& ctx, const ChatLimits& limits, ConversationId id,
                                 Seq seq, EventKind kind, EncryptedPayload payload);
// Leaves a tombstone: the text, and every earlier edit's text, is erased from storage.
Result<Appended> DeleteMessage(ConversationTxn& txn, const Context& ctx, const ChatLimits& limits, ConversationId id,
                               Seq seq);
// Sets the caller's reaction to `emoji`, or removes it when `emoji` is empty.
// When nothing changes, returns the message itself with no recipients.
Result<Appended> React(ConversationTxn& txn, const Context& ctx, const ChatLimits& limits, ConversationId id, Seq seq,
                       const std::string& emoji);

// Erasing a user (docs/admin.md), in one conversation: their live messages
// after `after_seq` become tombstones, each with a delete event as though
// they deleted it, at most `max` of them, and fewer in a small conversation
// with many members (each event is a log entry per member); once none is
// left, their reactions go, each with its event. `more`: messages are left
// for another call, after the last one erased.
struct ErasedContent {
  std::vector<Appended> events;
  std::vector<Message> erased;  // as they were: their attachments are released
  bool more = false;
};
Result<ErasedContent> EraseContentBy(ConversationTxn& txn, const ChatLimits& limits, ConversationId id, UserId user,
                                     int64_t now_ms, Seq after_seq, int max);

}  // namespace natter::chat
