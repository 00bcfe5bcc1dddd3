// messages.*, receipts and typing: the timeline of a conversation.
#include <chrono>

#include "api/answers.h"
#include "api/attach_uploads.h"
#include "api/dispatcher.h"
#include "api/json_views.h"
#include "chat/blocks.h"
#include "chat/history_query.h"
#include "chat/message_lifecycle.h"
#include "chat/moderation.h"
#include "chat/permissions.h"
#include "chat/receipts.h"
#include "chat/send_message.h"
#include "media/attachment.h"
#include "media/attachment_release.h"
#include "media/media_service.h"
#include "push/push_triggers.h"

namespace natter::api {

namespace json = boost::json;

namespace {

constexpr int64_t kTypingExpiresMs = 6000;

// What the sender is answered: of an encrypted message, its header, not the
// envelopes it sent.
json::object AnswerJson(const Message& m) {
  if (m.envelopes.size() <= 1) return ToJson(m);
  Message header_only = m;
  header_only.envelopes.resize(1);
  return ToJson(header_only);
}

int64_t MonotonicUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void Dispatcher::SendMessage(const Caller& c, SendParams p, Reply reply) {
  // Cheap checks first, so bad input never reaches the writer thread.
  chat::SendRequest probe = p.request;
  if (!p.attachments.empty()) probe.attachments = "[]";  // made below, from the uploads
  if (auto st = chat::ValidateSend(*Limits(), probe); !st.ok()) return reply(st.take_error());
  // The pre-send hook cannot read an encrypted message (docs/e2ee.md).
  if (d_.presend && !p.request.encrypted)
    return CheckThenSend(c, std::move(p), std::move(reply));  // presend_methods.cc
  SendChecked(c, std::move(p), std::move(reply));
}

void Dispatcher::SendChecked(const Caller& c, SendParams p, Reply reply) {
  if (p.attachments.empty()) return Send(c, std::move(p.request), std::move(reply));
  AttachThenSend(c, std::move(p), std::move(reply));
}

void Dispatcher::AttachThenSend(const Caller& c, SendParams p, Reply reply) {
  // Whether the sender may post there, first: an upload is not attached for a
  // send that is refused anyway.
  ConversationId id = p.request.conversation_id;
  d_.store.ReadResult<bool>(
      d_.store.PartitionOf(id), ExecutorOf(c),
      [user = c.user, id, now = d_.clock.NowMs(),
       encrypted = p.request.encrypted.has_value()](ConversationTxn& txn) -> Result<bool> {
        NATTER_TRY(auto membership, chat::RequireMember(txn, user, id));
        // An encrypted conversation takes attachments with an encrypted message only.
        NATTER_RETURN_IF_ERROR(chat::CheckEncryption(membership.first, encrypted));
        if (!chat::CanPost(membership.first.kind, membership.second.role)) {
          return Forbidden("your role may not post here");
        }
        NATTER_RETURN_IF_ERROR(chat::CheckNotSilenced(membership.second, now));
        return true;
      },
      [this, c, p = std::move(p), reply = std::move(reply)](Result<bool> may) mutable {
        if (!may.ok()) return reply(may.take_error());
        Attach(c, std::move(p), std::move(reply));
      });
}

void Dispatcher::Attach(const Caller& c, SendParams p, Reply reply) {
  // The uploads live with the accounts, the message with its conversation:
  // attached first, so a message never names an upload that could expire.
  // A send refused afterwards leaves them attached, and a retry finds them so.
  // Named before the call: its arguments are made in no set order, and the
  // second one moves the request away.
  std::string send_key = std::to_string(p.request.conversation_id) + ":" + p.request.client_msg_id;
  d_.store.WriteAccountsResult<std::vector<media::Attachment>>(
      ExecutorOf(c),
      [refs = p.attachments, user = c.user, now = d_.clock.NowMs(), send_key = std::move(send_key),
       encrypted = p.request.encrypted.has_value()](AccountsTxn& txn) {
        return AttachUploads(txn, user, refs, now, send_key, encrypted);
      },
      [this, c, request = std::move(p.request),
       reply = std::move(reply)](Result<std::vector<media::Attachment>> r) mutable {
        if (!r.ok()) return reply(r.take_error());
        request.attachments = media::AttachmentsText(*r);
        Send(c, std::move(request), std::move(reply));
      });
}

void Dispatcher::Send(const Caller& c, chat::SendRequest request, Reply reply) {
  int64_t started = MonotonicUs();
  WriteKey key = d_.store.ForSend(request.conversation_id, c.user, request.client_msg_id, request.reply_to.value_or(0));
  d_.store.WriteResult<chat::SendResult>(
      std::move(key), ExecutorOf(c),
      [ctx = ContextOf(c), req = std::move(request), limits = Limits(),
       &timing = d_.push_timing](ConversationTxn& txn) -> Result<chat::SendResult> {
        NATTER_TRY(auto sent, chat::SendMessage(txn, ctx, limits, req));
        if (!sent.duplicate) NATTER_RETURN_IF_ERROR(push::OnMessageAppended(txn, timing, sent.message, ctx.now_ms));
        return sent;
      },
      [this, reply = std::move(reply), started, origin = c.connection, user = c.user](Result<chat::SendResult> r,
                                                                                      const CommitTurn& turn) {
        if (!r.ok()) return reply(r.take_error());
        // Durable now: acknowledge, then fan out.
        d_.metrics.commit_latency.Observe(MonotonicUs() - started);
        json::object ack = AnswerJson(r->message);
        ack["duplicate"] = r->duplicate;
        AddCallerPts(ack, r->recipients, user);
        if (r->duplicate) {
          d_.metrics.messages_duplicate.fetch_add(1, std::memory_order_relaxed);
          return reply(json::value(std::move(ack)));
        }
        d_.metrics.messages_accepted.fetch_add(1, std::memory_order_relaxed);
        reply(json::value(std::move(ack)));
        auto appended =
            std::make_shared<const chat::Appended>(chat::Appended{std::move(r->message), std::move(r->recipients)});
        turn.Then([this, appended, origin] {
          if (Publishing()) PublishTimeline(*appended, origin);
        });
      });
}

void Dispatcher::History(const Caller& c, HistoryParams p, Reply reply) {
  d_.store.ReadResult<chat::HistoryPage>(
      d_.store.PartitionOf(p.query.conversation_id), ExecutorOf(c),
      [ctx = ContextOf(c), q = p.query, limits = Limits()](ConversationTxn& txn) {
        return chat::ReadHistory(txn, ctx, limits, q);
      },
      Respond<chat::HistoryPage>(std::move(reply), [](const auto& page) { return ToJson(page); }));
}

void Dispatcher::Edit(const Caller& c, EditParams p, Reply reply) {
  if (p.encrypted)
    return ChangeEncrypted(c, p.conversation_id, p.seq, EventKind::kEdit, std::move(*p.encrypted), std::move(reply));
  if (d_.presend) return CheckThenEdit(c, std::move(p), std::move(reply));  // presend_methods.cc
  EditChecked(c, std::move(p), std::move(reply));
}

void Dispatcher::EditChecked(const Caller& c, EditParams p, Reply reply) {
  ConversationId id = p.conversation_id;  // read before `p` moves into the op
  ChangeMessage(
      c, id,
      [ctx = ContextOf(c), limits = Limits(), p = std::move(p)](ConversationTxn& txn) {
        return chat::EditMessage(txn, ctx, limits, p.conversation_id, p.seq, p.text);
      },
      std::move(reply));
}

void Dispatcher::Delete(const Caller& c, MessageParams p, Reply reply) {
  // A deleted message's attachments are released after a grace period, in
  // the same transaction as the deletion (media/media_sweep.cc).
  int64_t release_at = d_.media ? d_.clock.NowMs() + d_.media->limits()->delete_grace_ms : 0;
  ChangeMessage(
      c, p.conversation_id,
      [ctx = ContextOf(c), limits = Limits(), p, release_at](ConversationTxn& txn) -> Result<chat::Appended> {
        NATTER_TRY(auto before, txn.FindMessage(p.conversation_id, p.seq));
        NATTER_TRY(auto appended, chat::DeleteMessage(txn, ctx, limits, p.conversation_id, p.seq));
        if (release_at != 0 && before) NATTER_RETURN_IF_ERROR(media::ReleaseAttachments(txn, *before, release_at));
        return appended;
      },
      std::move(reply));
}

void Dispatcher::React(const Caller& c, ReactParams p, Reply reply) {
  if (p.encrypted) {
    if (!p.emoji.empty()) return reply(BadRequest("an encrypted reaction carries its emoji inside its ciphertexts"));
    return ChangeEncrypted(c, p.conversation_id, p.seq, EventKind::kReaction, std::move(*p.encrypted),
                           std::move(reply));
  }
  ConversationId id = p.conversation_id;  // read before `p` moves into the op
  ChangeMessage(
      c, id,
      [ctx = ContextOf(c), limits = Limits(), p = std::move(p)](ConversationTxn& txn) {
        return chat::React(txn, ctx, limits, p.conversation_id, p.seq, p.emoji);
      },
      std::move(reply));
}

void Dispatcher::ChangeEncrypted(const Caller& c, ConversationId id, Seq seq, EventKind kind,
                                 chat::EncryptedPayload payload, Reply reply) {
  // Bad input never reaches the writer thread.
  if (auto st = chat::ValidatePayload(*Limits(), payload); !st.ok()) return reply(st.take_error());
  ChangeMessage(
      c, id,
      [ctx = ContextOf(c), limits = Limits(), id, seq, kind, payload = std::move(payload)](ConversationTxn& txn) {
        return chat::ChangeEncrypted(txn, ctx, limits, id, seq, kind, payload);
      },
      std::move(reply));
}

void Dispatcher::ChangeMessage(const Caller& c, ConversationId id,
                               std::function<Result<chat::Appended>(ConversationTxn&)> op, Reply reply) {
  d_.store.WriteResult<chat::Appended>(d_.store.For(id), ExecutorOf(c), std::move(op),
                                       [this, reply = std::move(reply), origin = c.connection, user = c.user](
                                           Result<chat::Appended> r, const CommitTurn& turn) {
                                         if (!r.ok()) return reply(r.take_error());
                                         json::object answer = AnswerJson(r->event);
                                         AddCallerPts(answer, r->recipients, user);
                                         reply(json::value(std::move(answer)));
                                         if (r->recipients.empty()) return;  // nothing changed
                                         auto appended = std::make_shared<const chat::Appended>(std::move(*r));
                                         turn.Then([this, appended, origin] {
                                           if (Publishing()) PublishTimeline(*appended, origin);
                                         });
                                       });
}

void Dispatcher::MarkRead(const Caller& c, MessageParams p, Reply reply) {
  MarkReceipt(c, p, std::nullopt, p.seq, std::move(reply));
}

void Dispatcher::MarkDelivered(const Caller& c, MessageParams p, Reply reply) {
  MarkReceipt(c, p, p.seq, std::nullopt, std::move(reply));
}

void Dispatcher::MarkReceipt(const Caller& c, const MessageParams& p, std::optional<Seq> delivered,
                             std::optional<Seq> read, Reply reply) {
  d_.store.WriteResult<chat::ReceiptChange>(
      d_.store.For(p.conversation_id), ExecutorOf(c),
      [ctx = ContextOf(c), id = p.conversation_id, delivered, read, limits = Limits(),
       &timing = d_.push_timing](ConversationTxn& txn) -> Result<chat::ReceiptChange> {
        NATTER_TRY(auto change, chat::MarkReceipt(txn, ctx, limits, id, delivered, read));
        if (read && change.changed) {
          NATTER_RETURN_IF_ERROR(push::OnRead(txn, timing, id, ctx.caller, change.read_seq, ctx.now_ms));
        }
        return change;
      },
      [this, reply = std::move(reply), origin = c.connection, user = c.user](Result<chat::ReceiptChange> r,
                                                                             const CommitTurn& turn) {
        if (!r.ok()) return reply(r.take_error());
        json::object receipt = ToJson(*r);
        json::object answer = receipt;
        AddCallerPts(answer, r->recipients, user);
        reply(json::value(std::move(answer)));
        if (!r->changed) return;
        receipt["type"] = "receipt";
        Event event;
        event.conversation_id = r->conversation_id;
        event.payload = Frame(receipt);
        event.recipients = ToRecipients(r->recipients);
        event.origin_connection = origin;
        auto shared = std::make_shared<Event>(std::move(event));
        turn.Then([this, shared] {
          if (Publishing()) d_.broker.Publish(std::move(*shared));
        });
      });
}

void Dispatcher::CountReceipts(const Caller& c, MessageParams p, Reply reply) {
  d_.store.ReadResult<chat::ReceiptCounts>(
      d_.store.PartitionOf(p.conversation_id), ExecutorOf(c),
      [ctx = ContextOf(c), p](ConversationTxn& txn) { return chat::CountReceipts(txn, ctx, p.conversation_id, p.seq); },
      Respond<chat::ReceiptCounts>(std::move(reply), [](const auto& counts) { return ToJson(counts); }));
}

void Dispatcher::Typing(const Caller& c, ConversationParams p, Reply reply) {
  ConversationId id = p.conversation_id;
  d_.store.ReadResult<std::vector<Member>>(
      d_.store.PartitionOf(id), ExecutorOf(c),
      [user = c.user, id](ConversationTxn& txn) -> Result<std::vector<Member>> {
        NATTER_TRY(auto membership, chat::RequireMember(txn, user, id));
        if (!chat::CanPost(membership.first.kind, membership.second.role)) {
          return Forbidden("your role may not post here");
        }
        // Large conversations get no typing storm.
        if (membership.first.large) return std::vector<Member>{};
        NATTER_TRY(auto members, txn.ListMembers(id));
        // Nobody hears typing from someone they blocked, or who blocked them.
        NATTER_TRY(auto blocked, chat::BlockedEitherWay(txn.accounts(), user));
        std::erase_if(members, [&](const Member& m) { return blocked.contains(m.user_id); });
        return members;
      },
      [this, reply = std::move(reply), user = c.user, id](auto r) {
        if (!r.ok()) return reply(r.take_error());
        reply(json::value(json::object{{"conversation_id", id}}));
        if (r->empty()) return;
        Event event;
        event.conversation_id = id;
        event.payload = Frame(
            {{"type", "typing"}, {"conversation_id", id}, {"user_id", user}, {"expires_in_ms", kTypingExpiresMs}});
        for (const auto& m : *r) {
          if (m.user_id != user) event.recipients.push_back(EventRecipient{m.user_id, 0});
        }
        d_.broker.Publish(std::move(event));
      });
}

}  // namespace natter::api
