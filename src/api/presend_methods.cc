// messages.send and messages.edit through the operator's pre-send hook
// (docs/webhooks.md): a read first, so that who may not post, an edit of
// someone else's message and a retry of a message already committed never
// reach the hook; then the hook's verdict on the caller's thread.
#include "api/dispatcher.h"
#include "chat/conversations.h"
#include "chat/message_lifecycle.h"
#include "chat/moderation.h"
#include "chat/permissions.h"
#include "hooks/presend_hook.h"

namespace natter::api {

void Dispatcher::AskPresend(const Caller& c, const hooks::PresendCall& call, Reply reply,
                            std::function<void(std::string text, Reply reply)> go) {
  d_.presend->Check(call, ExecutorOf(c), [go = std::move(go), reply = std::move(reply)](Result<std::string> text) {
    if (!text.ok()) return reply(text.take_error());
    go(std::move(*text), std::move(reply));
  });
}

void Dispatcher::CheckThenSend(const Caller& c, SendParams p, Reply reply) {
  // Named before the call: its arguments are made in no set order, and the
  // last one moves `p` away.
  ConversationId id = p.request.conversation_id;
  std::string client_msg_id = p.request.client_msg_id;
  // What a retry committed before: its text (as the hook left it), answered again without asking.
  using Earlier = std::optional<std::string>;
  d_.store.ReadResult<Earlier>(
      d_.store.PartitionOf(id), ExecutorOf(c),
      [user = c.user, id, client_msg_id = std::move(client_msg_id),
       now = d_.clock.NowMs()](ConversationTxn& txn) -> Result<Earlier> {
        NATTER_TRY(auto membership, chat::RequireMember(txn, user, id));
        // Plain text for an encrypted conversation is never shown to the hook.
        NATTER_RETURN_IF_ERROR(chat::CheckEncryption(membership.first, false));
        NATTER_TRY(auto earlier, txn.FindByClientMsgId(id, user, client_msg_id));
        if (earlier) return Earlier(earlier->text);
        if (!chat::CanPost(membership.first.kind, membership.second.role)) {
          return Forbidden("your role may not post here");
        }
        NATTER_RETURN_IF_ERROR(chat::CheckNotSilenced(membership.second, now));
        return Earlier();
      },
      [this, c, p = std::move(p), reply = std::move(reply)](Result<Earlier> earlier) mutable {
        if (!earlier.ok()) return reply(earlier.take_error());
        if (*earlier) {
          p.request.text = std::move(**earlier);
          return SendChecked(c, std::move(p), std::move(reply));
        }
        hooks::PresendCall call;
        call.sender = c.user;
        call.conversation_id = p.request.conversation_id;
        call.client_msg_id = p.request.client_msg_id;
        call.text = p.request.text;
        call.max_text_bytes = Limits()->max_text_bytes;
        for (const auto& a : p.attachments) call.captions.push_back(a.caption);
        AskPresend(c, call, std::move(reply), [this, c, p = std::move(p)](std::string text, Reply reply) mutable {
          p.request.text = std::move(text);
          SendChecked(c, std::move(p), std::move(reply));
        });
      });
}

void Dispatcher::CheckThenEdit(const Caller& c, EditParams p, Reply reply) {
  ConversationId id = p.conversation_id;  // named before the call, as above
  Seq seq = p.seq;
  std::string text = p.text;
  // Every check the edit makes, first: one that would be refused anyway
  // (not theirs, muted, too late, bad text) is, with its own reason, unasked.
  d_.store.ReadResult<bool>(
      d_.store.PartitionOf(id), ExecutorOf(c),
      [ctx = ContextOf(c), limits = Limits(), id, seq, text = std::move(text)](ConversationTxn& txn) -> Result<bool> {
        NATTER_TRY(auto conversation, chat::CheckEdit(txn, ctx, limits, id, seq, text));
        (void)conversation;
        return true;
      },
      [this, c, p = std::move(p), reply = std::move(reply)](Result<bool> editable) mutable {
        if (!editable.ok()) return reply(editable.take_error());
        hooks::PresendCall call;
        call.edit = true;
        call.sender = c.user;
        call.conversation_id = p.conversation_id;
        call.seq = p.seq;
        call.text = p.text;
        call.max_text_bytes = Limits()->max_text_bytes;
        AskPresend(c, call, std::move(reply), [this, c, p = std::move(p)](std::string text, Reply reply) mutable {
          p.text = std::move(text);
          EditChecked(c, std::move(p), std::move(reply));
        });
      });
}

}  // namespace natter::api
