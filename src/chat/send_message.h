// Sending a message: validate, check the sender may post, deduplicate by the
// client's id, assign the conversation's next sequence number and store it, all
// in one transaction. The caller acknowledges only after that transaction has
// committed (Store::Write's `done`).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "chat/conversations.h"
#include "chat/envelopes.h"
#include "chat/timeline.h"

namespace natter::chat {

struct SendRequest {
  ConversationId conversation_id = 0;
  std::string client_msg_id;
  std::string text;
  std::optional<Seq> reply_to;
  // The attachments as a JSON array (media/attachment.h), checked and made by
  // the caller from the sender's uploads; empty: none.
  std::string attachments = {};
  // Encrypted conversations (chat/envelopes.h): the ciphertexts, instead of
  // text and attachments (those travel inside them).
  std::optional<EncryptedPayload> encrypted = {};
};

struct SendResult {
  Message message;
  bool duplicate = false;             // a retry: the first result, nothing stored again
  std::vector<Recipient> recipients;  // every member, the sender included (their other devices)
};

// Checks that need no storage; run before queueing the write so bad input
// never reaches the writer thread.
Status ValidateSend(const ChatLimits& limits, const SendRequest& req);

Result<SendResult> SendMessage(ConversationTxn& txn, const Context& ctx, const ChatLimits& limits,
                               const SendRequest& req);

}  // namespace natter::chat
