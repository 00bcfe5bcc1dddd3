#include "chat/send_message.h"

#include "chat/blocks.h"
#include "chat/moderation.h"
#include "chat/permissions.h"
#include "chat/text_rules.h"

namespace natter::chat {

Status ValidateSend(const ChatLimits& limits, const SendRequest& req) {
  if (req.conversation_id <= 0) return BadRequest("conversation_id is required");
  if (req.client_msg_id.empty()) return BadRequest("client_msg_id is required");
  if (req.client_msg_id.size() > limits.max_client_msg_id_bytes) return TooLarge("client_msg_id is too long");
  if (!IsValidUtf8Text(req.client_msg_id)) return BadRequest("client_msg_id must be UTF-8 text");
  if (req.encrypted) {
    // What an encrypted message says is inside its ciphertexts; its
    // attachments are uploads of ciphertext whose keys are in there too.
    if (!req.text.empty()) return BadRequest("an encrypted message carries its text inside its ciphertexts");
    NATTER_RETURN_IF_ERROR(ValidatePayload(limits, *req.encrypted));
  }
  // A photo may go without words; a message with neither is refused.
  if (req.text.empty() && req.attachments.empty() && !req.encrypted) return BadRequest("text is empty");
  if (req.text.size() > limits.max_text_bytes) {
    return TooLarge("text is longer than " + std::to_string(limits.max_text_bytes) + " bytes");
  }
  if (!IsValidUtf8Text(req.text)) return BadRequest("text must be valid UTF-8");
  if (req.reply_to && *req.reply_to <= 0) return BadRequest("reply_to must be a sequence number");
  return OkStatus();
}

Result<SendResult> SendMessage(ConversationTxn& txn, const Context& ctx, const ChatLimits& limits,
                               const SendRequest& req) {
  NATTER_RETURN_IF_ERROR(ValidateSend(limits, req));
  NATTER_TRY(auto membership, RequireMember(txn, ctx.caller, req.conversation_id));
  auto& [conversation, me] = membership;

  SendResult result;
  NATTER_TRY(auto earlier, txn.FindByClientMsgId(req.conversation_id, ctx.caller, req.client_msg_id));
  if (earlier) {
    // A retry after a lost ack. The same id with other content is a client
    // bug; once the message was edited or deleted its first text is gone, so
    // the id alone decides.
    bool unchanged = !earlier->edited_at && !earlier->deleted;
    if (earlier->reply_to != req.reply_to ||
        (unchanged && (earlier->text != req.text || earlier->attachments != req.attachments))) {
      return Conflict("client_msg_id was already used for another message");
    }
    result.message = std::move(*earlier);
    result.duplicate = true;
    if (conversation.encrypted) {
      // Answered as the first time: with the header (reader 0: no envelopes).
      std::vector<Message> one{std::move(result.message)};
      NATTER_RETURN_IF_ERROR(txn.LoadEnvelopes(one, 0));
      result.message = std::move(one.front());
    }
    return result;
  }
  NATTER_RETURN_IF_ERROR(CheckEncryption(conversation, req.encrypted.has_value()));
  if (!CanPost(conversation.kind, me.role)) return Forbidden("your role may not post here");
  NATTER_RETURN_IF_ERROR(CheckNotSilenced(me, ctx.now_ms));
  NATTER_RETURN_IF_ERROR(CheckMayWriteIn(txn.accounts(), conversation, ctx.caller));
  if (req.reply_to) {
    NATTER_TRY(auto target, txn.FindMessage(req.conversation_id, *req.reply_to));
    if (!target || target->kind != EventKind::kMessage) return NotFound("the message replied to does not exist");
  }

  std::vector<Envelope> envelopes;
  if (req.encrypted) {
    NATTER_TRY(envelopes, AddressMessage(txn, ctx, conversation.id, *req.encrypted));
  }

  Message m;
  m.kind = EventKind::kMessage;
  m.sender_id = ctx.caller;
  m.client_msg_id = req.client_msg_id;
  m.text = req.text;
  m.reply_to = req.reply_to;
  m.attachments = req.attachments;
  NATTER_TRY(auto appended, AppendEvent(txn, conversation, std::move(m), ctx.now_ms, limits));
  if (!envelopes.empty()) {
    NATTER_RETURN_IF_ERROR(txn.InsertEnvelopes(conversation.id, appended.event.seq, envelopes));
    appended.event.envelopes = std::move(envelopes);
  }
  // The sender has read (and received) what they wrote.
  NATTER_RETURN_IF_ERROR(txn.UpdateWatermarks(req.conversation_id, ctx.caller, appended.event.seq));
  result.message = std::move(appended.event);
  result.recipients = std::move(appended.recipients);
  return result;
}

}  // namespace natter::chat
