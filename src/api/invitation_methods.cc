// invitations.* and privacy.*: additions that wait for consent, and who may
// add the caller without one (chat/consent.h).
#include "api/answers.h"
#include "api/dispatcher.h"
#include "api/json_views.h"

namespace natter::api {

namespace json = boost::json;

namespace {

// Tells the invited user's other devices that an invitation is answered.
void PublishAnswered(Broker& broker, UserId user, ConversationId id, std::string_view outcome, uint64_t origin) {
  Event event;
  event.payload = Frame({{"type", "invitation_closed"}, {"conversation_id", id}, {"outcome", outcome}});
  event.recipients = {EventRecipient{user, 0}};
  event.origin_connection = origin;
  broker.Publish(std::move(event));
}

}  // namespace

void Dispatcher::ReadContacts(const Caller& c, std::vector<UserId> users, std::function<void(chat::Contacts)> then) {
  if (users.empty()) return then({});
  auto shared = std::make_shared<const std::vector<UserId>>(std::move(users));
  // A partition that cannot answer counts no contacts: its users are
  // invited rather than added, never the other way round.
  d_.store.ReadEach<std::vector<UserId>>(
      ExecutorOf(c),
      [caller = c.user, shared](ConversationTxn& txn, int) { return txn.ChosenContacts(caller, *shared); },
      [then = std::move(then)](std::vector<Result<std::vector<UserId>>> parts) {
        chat::Contacts contacts;
        for (const auto& part : parts) {
          if (part.ok()) contacts.insert(part->begin(), part->end());
        }
        then(std::move(contacts));
      });
}

void Dispatcher::PublishInvitations(const chat::ConversationView& view) {
  for (UserId user : view.invitations_closed) PublishAnswered(d_.broker, user, view.conversation.id, "added", 0);
  for (const auto& invitation : view.invitations) {
    PendingInvitation pending{invitation, view.conversation, static_cast<int64_t>(view.members.size())};
    Event event;
    event.payload = Frame({{"type", "invitation"}, {"invitation", ToJson(pending)}});
    event.recipients = {EventRecipient{invitation.user_id, 0}};
    d_.broker.Publish(std::move(event));
  }
}

void Dispatcher::ListInvitations(const Caller& c, NoParams, Reply reply) {
  size_t limit = static_cast<size_t>(Limits()->max_conversation_list);
  d_.store.ReadEach<std::vector<PendingInvitation>>(
      ExecutorOf(c),
      [user = c.user, limit](ConversationTxn& txn, int) { return txn.ListInvitations(user, static_cast<int>(limit)); },
      [reply = std::move(reply), limit](std::vector<Result<std::vector<PendingInvitation>>> parts) {
        auto merged = chat::MergeInvitations(std::move(parts), limit);
        if (!merged.ok()) return reply(merged.take_error());
        json::array list;
        for (const auto& i : *merged) list.push_back(ToJson(i));
        reply(json::value(json::object{{"invitations", std::move(list)}}));
      });
}

void Dispatcher::AcceptInvitation(const Caller& c, ConversationParams p, Reply reply) {
  // Answered like any change to the conversation; the user's other devices
  // also learn the invitation is gone.
  Reply answered = [this, reply = std::move(reply), user = c.user, id = p.conversation_id,
                    origin = c.connection](Result<json::value> r) {
    if (r.ok()) PublishAnswered(d_.broker, user, id, "accepted", origin);
    reply(std::move(r));
  };
  WriteConversation(
      c, d_.store.For(p.conversation_id),
      [ctx = ContextOf(c), limits = Limits(), id = p.conversation_id](ConversationTxn& txn) {
        return chat::AcceptInvitation(txn, ctx, limits, id);
      },
      std::move(answered));
}

void Dispatcher::DeclineInvitation(const Caller& c, ConversationParams p, Reply reply) {
  d_.store.WriteResult<Invitation>(
      d_.store.For(p.conversation_id), ExecutorOf(c),
      [ctx = ContextOf(c), id = p.conversation_id](ConversationTxn& txn) {
        return chat::DeclineInvitation(txn, ctx, id);
      },
      [this, reply = std::move(reply), origin = c.connection](Result<Invitation> r, const CommitTurn& turn) {
        if (!r.ok()) return reply(r.take_error());
        turn.Then([this, reply, origin, user = r->user_id, id = r->conversation_id] {
          if (!Publishing()) return;
          PublishAnswered(d_.broker, user, id, "declined", origin);
          reply(json::value(json::object{{"conversation_id", id}, {"declined", true}}));
        });
      });
}

void Dispatcher::GetPrivacy(const Caller& c, NoParams, Reply reply) {
  d_.store.ReadAccountsResult<std::optional<User>>(
      ExecutorOf(c), [user = c.user](AccountsTxn& txn) { return txn.FindUser(user); },
      [reply = std::move(reply), fallback = Limits()->default_group_adds](Result<std::optional<User>> r) {
        if (!r.ok()) return reply(r.take_error());
        if (!*r) return reply(NotFound("no such user"));
        reply(json::value(json::object{{"group_adds", GroupAddsName((*r)->group_adds.value_or(fallback))}}));
      });
}

void Dispatcher::SetPrivacy(const Caller& c, PrivacyParams p, Reply reply) {
  d_.store.WriteAccounts(
      ExecutorOf(c), [user = c.user, who = p.group_adds](AccountsTxn& txn) { return txn.SetGroupAdds(user, who); },
      [reply = std::move(reply), who = p.group_adds](Status st) {
        if (!st.ok()) return reply(st.take_error());
        reply(json::value(json::object{{"group_adds", GroupAddsName(who)}}));
      });
}

}  // namespace natter::api
