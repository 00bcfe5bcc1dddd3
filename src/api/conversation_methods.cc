// conversations.* and members.*: creating, reading and changing conversations.
#include "api/answers.h"
#include "api/dispatcher.h"
#include "api/json_views.h"

namespace natter::api {

namespace json = boost::json;

void Dispatcher::ListConversations(const Caller& c, ListConversationsParams p, Reply reply) {
  chat::Context ctx = ContextOf(c);
  int n = p.limit <= 0 || p.limit > Limits()->max_conversation_list ? Limits()->max_conversation_list : p.limit;
  // A full page may have more after it: "next" says where they go on.
  auto respond = Respond<std::vector<ConversationSummary>>(std::move(reply), [n](const auto& list) {
    json::array items;
    for (const auto& s : list) items.push_back(ToJson(s));
    json::object answer{{"conversations", std::move(items)}};
    if (!list.empty() && list.size() == static_cast<size_t>(n)) {
      answer["next"] =
          FormatListCursor(ListCursor{list.back().conversation.last_activity, list.back().conversation.id});
    }
    return answer;
  });
  d_.store.ReadEach<std::vector<ConversationSummary>>(
      ExecutorOf(c),
      [ctx, n, before = p.before, limits = Limits()](ConversationTxn& txn, int) {
        return chat::ListMyConversations(txn, ctx, before, limits, n);
      },
      [respond = std::move(respond), n, limits = Limits()](auto parts) mutable {
        respond(chat::MergeConversationLists(std::move(parts), limits, n));
      });
}

std::optional<Error> Dispatcher::ChargeForMembership(UserId user, size_t members, bool creates) {
  // The creation first: a refused one costs no additions.
  int64_t now_us = d_.clock.SteadyMs() * 1000;
  if (creates && !creations_.Take(user, now_us)) {
    return RateLimited("you have created too many conversations this hour (" +
                       std::to_string(Limits()->max_conversations_per_hour) + "); try again later");
  }
  if (members > 0 && !additions_.Take(user, now_us, static_cast<double>(members))) {
    return RateLimited("you have put too many people into conversations this hour (" +
                       std::to_string(Limits()->max_member_adds_per_hour) + "); try again later");
  }
  return std::nullopt;
}

void Dispatcher::SettleMembership(UserId user, size_t members, bool creates, const chat::ConversationView* view) {
  // A new conversation tells everyone in it (`joined`); an existing direct
  // chat, nobody. Added users are the members that changed.
  // Invitations it made count as additions: asking strangers costs the same.
  bool created = creates && view && !view->joined.empty();
  size_t added = !view     ? 0
                 : creates ? (created ? view->joined.size() - 1 : 0) + view->invitations.size()
                           : view->members_changed.size() + view->invitations.size();
  if (creates && !created) creations_.Give(user, 1);
  if (members > added) additions_.Give(user, static_cast<double>(members - added));
}

void Dispatcher::CreateConversation(const Caller& c, CreateConversationParams p, Reply reply) {
  size_t others = p.kind == ConversationKind::kDirect ? 1 : p.members.size();
  if (auto refused = ChargeForMembership(c.user, others, true)) return reply(std::move(*refused));
  Settle settle = [this, user = c.user, others](const chat::ConversationView* view) {
    SettleMembership(user, others, true, view);
  };
  // The id decides the partition. A direct chat's partition comes from its
  // pair of users, so every node looks for an existing one in the same place.
  ConversationId new_id = d_.ids.Next();
  int partition = d_.store.PartitionOf(new_id);
  if (p.kind == ConversationKind::kDirect) {
    partition = d_.store.PartitionOfPair(c.user, p.peer_id);
    while (d_.store.PartitionOf(new_id) != partition) new_id = d_.ids.Next();
    auto op = [ctx = ContextOf(c), peer = p.peer_id, new_id, limits = Limits(), encrypted = p.encrypted](
                  ConversationTxn& txn) { return chat::CreateDirect(txn, ctx, new_id, limits, peer, encrypted); };
    WriteConversation(c, WriteKey(partition), std::move(op), std::move(reply), std::move(settle));
    return;
  }
  // Who may be added at once depends on who shares a conversation with the
  // caller, on any partition: read first.
  std::vector<UserId> named = p.members;
  chat::CreateGroupRequest req{p.kind, std::move(p.title), std::move(p.members), {}, p.encrypted};
  ReadContacts(c, std::move(named),
               [this, c, req = std::move(req), new_id, partition, settle = std::move(settle),
                reply = std::move(reply)](chat::Contacts contacts) mutable {
                 req.contacts = std::move(contacts);
                 WriteConversation(
                     c, WriteKey(partition),
                     [ctx = ContextOf(c), req = std::move(req), new_id, limits = Limits()](ConversationTxn& txn) {
                       return chat::CreateGroup(txn, ctx, new_id, limits, req);
                     },
                     std::move(reply), std::move(settle));
               });
}

void Dispatcher::GetConversation(const Caller& c, ConversationParams p, Reply reply) {
  d_.store.ReadResult<chat::ConversationView>(
      d_.store.PartitionOf(p.conversation_id), ExecutorOf(c),
      [ctx = ContextOf(c), id = p.conversation_id](ConversationTxn& txn) {
        return chat::GetConversation(txn, ctx, id);
      },
      Respond<chat::ConversationView>(std::move(reply), [](const auto& v) { return ToJson(v); }));
}

void Dispatcher::Rename(const Caller& c, RenameParams p, Reply reply) {
  ConversationId id = p.conversation_id;  // read before `p` moves into the op
  WriteConversation(
      c, d_.store.For(id),
      [ctx = ContextOf(c), limits = Limits(), p = std::move(p)](ConversationTxn& txn) {
        return chat::Rename(txn, ctx, limits, p.conversation_id, p.title);
      },
      std::move(reply));
}

void Dispatcher::AddMembers(const Caller& c, AddMembersParams p, Reply reply) {
  size_t named = p.user_ids.size();
  if (auto refused = ChargeForMembership(c.user, named, false)) return reply(std::move(*refused));
  std::vector<UserId> users = p.user_ids;
  ReadContacts(c, std::move(users),
               [this, c, p = std::move(p), named, reply = std::move(reply)](chat::Contacts contacts) mutable {
                 ConversationId id = p.conversation_id;  // read before `p` moves into the op
                 WriteConversation(
                     c, d_.store.For(id),
                     [ctx = ContextOf(c), limits = Limits(), p = std::move(p),
                      contacts = std::move(contacts)](ConversationTxn& txn) {
                       return chat::AddMembers(txn, ctx, limits, p.conversation_id, p.user_ids, p.role, contacts);
                     },
                     std::move(reply),
                     [this, user = c.user, named](const chat::ConversationView* view) {
                       SettleMembership(user, named, false, view);
                     });
               });
}

void Dispatcher::RemoveMember(const Caller& c, RemoveMemberParams p, Reply reply) {
  WriteConversation(
      c, d_.store.For(p.conversation_id),
      [ctx = ContextOf(c), limits = Limits(), p](ConversationTxn& txn) {
        return chat::RemoveMember(txn, ctx, limits, p.conversation_id, p.user_id);
      },
      std::move(reply));
}

void Dispatcher::Leave(const Caller& c, ConversationParams p, Reply reply) {
  RemoveMember(c, RemoveMemberParams{p.conversation_id, c.user}, std::move(reply));
}

void Dispatcher::SetRole(const Caller& c, SetRoleParams p, Reply reply) {
  WriteConversation(
      c, d_.store.For(p.conversation_id),
      [ctx = ContextOf(c), limits = Limits(), p](ConversationTxn& txn) {
        return chat::ChangeRole(txn, ctx, limits, p.conversation_id, p.user_id, p.role);
      },
      std::move(reply));
}

void Dispatcher::WriteConversation(const Caller& c, WriteKey key,
                                   std::function<Result<chat::ConversationView>(ConversationTxn&)> op, Reply reply,
                                   Settle settle) {
  d_.store.WriteResult<chat::ConversationView>(
      key, ExecutorOf(c), std::move(op),
      [this, reply = std::move(reply), origin = c.connection, user = c.user, settle = std::move(settle)](
          Result<chat::ConversationView> r, const CommitTurn& turn) {
        if (settle) settle(r.ok() ? &*r : nullptr);
        if (!r.ok()) return reply(r.take_error());
        // Published before it is answered: in a cluster the new state is what
        // makes other nodes listen, so a send the answer prompts reaches them.
        auto view = std::make_shared<const chat::ConversationView>(std::move(*r));
        turn.Then([this, view, origin, user, reply] {
          if (!Publishing()) return;
          PublishConversation(*view, origin);
          PublishInvitations(*view);
          reply(json::value(ViewAnswer(*view, user)));
        });
      });
}

}  // namespace natter::api
