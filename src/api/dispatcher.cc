#include "api/dispatcher.h"

#include <boost/json/serialize.hpp>
#include <chrono>
#include <map>
#include <set>

#include "api/json_fields.h"
#include "api/json_views.h"
#include "chat/conversations.h"
#include "api/sync_token.h"
#include "chat/history_query.h"
#include "chat/message_lifecycle.h"
#include "chat/receipts.h"
#include "chat/permissions.h"
#include "chat/sync.h"
#include "presence/presence_service.h"
#include "chat/send_message.h"

namespace natter::api {

namespace json = boost::json;

namespace {

// Adapts a typed use-case result into the JSON reply.
template <class T, class ToJsonFn>
auto Respond(Reply reply, ToJsonFn to_json) {
  return [reply = std::move(reply), to_json](Result<T> r) {
    if (!r.ok()) return reply(r.take_error());
    reply(json::value(to_json(*r)));
  };
}

std::shared_ptr<const std::string> Frame(json::object event) {
  return std::make_shared<const std::string>(json::serialize(event));
}

std::vector<EventRecipient> ToRecipients(const std::vector<chat::Recipient>& in) {
  std::vector<EventRecipient> out;
  out.reserve(in.size());
  for (const auto& r : in) out.push_back(EventRecipient{r.user, r.pts});
  return out;
}

constexpr int64_t kTypingExpiresMs = 6000;

// The caller's own connection gets an answer, not the event, so the answer
// carries the caller's new pts: a client can then tell its own changes from
// missed ones.
void AddCallerPts(json::object& answer, const std::vector<chat::Recipient>& recipients, UserId caller) {
  for (const auto& r : recipients) {
    if (r.user == caller && r.pts > 0) {
      int64_t current = answer.contains("pts") ? answer["pts"].as_int64() : 0;
      answer["pts"] = std::max(current, r.pts);
    }
  }
}

json::object ViewAnswer(const chat::ConversationView& view, UserId caller) {
  json::object answer = ToJson(view);
  for (const auto& e : view.events) AddCallerPts(answer, e.recipients, caller);
  AddCallerPts(answer, view.notified, caller);
  return answer;
}

// A sync answer's "pts": the count of every change the client has, summed
// over the store's partitions (each keeps its own log).
int64_t TotalPts(const chat::SyncPosition& position) {
  int64_t total = 0;
  for (int64_t p : position.pts) total += p;
  return total;
}

int64_t MonotonicUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

bool Dispatcher::IsPublic(std::string_view method) {
  return method == "auth.register" || method == "auth.login" || method == "auth.refresh";
}

void Dispatcher::Dispatch(const Caller& caller, std::string_view method, const json::object& params,
                          Reply reply) {
  if (!IsPublic(method) && caller.user == 0) return reply(Unauthorized("authenticate first"));
  if (method == "messages.send") return SendMessage(caller, params, std::move(reply));
  if (method == "messages.history") return History(caller, params, std::move(reply));
  if (method == "messages.read" || method == "messages.delivered") {
    return MarkReceipt(caller, method, params, std::move(reply));
  }
  if (method == "messages.edit" || method == "messages.delete" || method == "messages.react") {
    return ChangeMessage(caller, method, params, std::move(reply));
  }
  if (method == "receipts.get") return CountReceipts(caller, params, std::move(reply));
  if (method == "sync") return Sync(caller, params, std::move(reply));
  if (method == "typing") return Typing(caller, params, std::move(reply));
  if (method == "presence.get") return GetPresence(caller, params, std::move(reply));
  if (method == "presence.set") return SetPresence(caller, params, std::move(reply));
  if (method == "conversations.list") return ListConversations(caller, params, std::move(reply));
  if (method == "conversations.create") return CreateConversation(caller, params, std::move(reply));
  if (method == "conversations.get") return GetConversation(caller, params, std::move(reply));
  if (method == "conversations.rename" || method == "members.add" || method == "members.remove" ||
      method == "members.leave" || method == "members.set_role") {
    return ChangeConversation(caller, method, params, std::move(reply));
  }
  if (method == "users.get") return GetUser(params, std::move(reply));
  if (method == "auth.register") return Register(params, std::move(reply));
  if (method == "auth.login") return Login(caller, params, std::move(reply));
  if (method == "auth.refresh") return Refresh(params, std::move(reply));
  if (method == "auth.logout") return Logout(caller, std::move(reply));
  reply(BadRequest("unknown method '" + std::string(method) + "'"));
}

void Dispatcher::Register(const json::object& p, Reply reply) {
  auto handle = RequireString(p, "handle");
  if (!handle.ok()) return reply(handle.take_error());
  auto password = RequireString(p, "password");
  if (!password.ok()) return reply(password.take_error());
  d_.accounts.Register(std::move(*handle), std::move(*password),
                       Respond<User>(std::move(reply), [](const User& u) { return ToJson(u); }));
}

void Dispatcher::Login(const Caller& c, const json::object& p, Reply reply) {
  auto handle = RequireString(p, "handle");
  if (!handle.ok()) return reply(handle.take_error());
  auto password = RequireString(p, "password");
  if (!password.ok()) return reply(password.take_error());
  auto device = OptionalString(p, "device");
  if (!device.ok()) return reply(device.take_error());
  d_.accounts.Login(std::move(*handle), std::move(*password), device->value_or(""), c.address,
                    Respond<accounts::LoginResult>(std::move(reply),
                                                   [](const auto& r) { return ToJson(r); }));
}

void Dispatcher::Refresh(const json::object& p, Reply reply) {
  auto token = RequireString(p, "refresh_token");
  if (!token.ok()) return reply(token.take_error());
  d_.accounts.Refresh(std::move(*token), Respond<accounts::LoginResult>(
                                             std::move(reply), [](const auto& r) { return ToJson(r); }));
}

void Dispatcher::Logout(const Caller& c, Reply reply) {
  d_.accounts.Logout(c.session, [this, reply = std::move(reply), user = c.user, session = c.session](Status st) {
    if (!st.ok()) return reply(st.take_error());
    reply(json::value(json::object{}));
    // Open sockets of this session end too, on every node.
    Event revoke;
    revoke.recipients.push_back(EventRecipient{user, 0});
    revoke.revoke_session = session;
    d_.broker.Publish(std::move(revoke));
  });
}

void Dispatcher::GetUser(const json::object& p, Reply reply) {
  auto handle = OptionalString(p, "handle");
  if (!handle.ok()) return reply(handle.take_error());
  auto id = OptionalInt(p, "user_id");
  if (!id.ok()) return reply(id.take_error());
  if (!*handle && !*id) return reply(BadRequest("give handle or user_id"));
  d_.store.ReadResult<User>(
      [handle = *handle, id = *id](StoreTxn& txn) -> Result<User> {
        NATTER_TRY(auto user, handle ? txn.FindUserByHandle(*handle) : txn.FindUser(*id));
        if (!user) return NotFound("user not found");
        return std::move(*user);
      },
      Respond<User>(std::move(reply), [](const User& u) { return ToJson(u); }));
}

void Dispatcher::ListConversations(const Caller& c, const json::object& p, Reply reply) {
  auto limit = OptionalInt(p, "limit");
  if (!limit.ok()) return reply(limit.take_error());
  chat::Context ctx{c.user, d_.clock.NowMs()};
  int n = static_cast<int>(std::clamp<int64_t>(limit->value_or(0), 0, 100000));
  auto respond = Respond<std::vector<ConversationSummary>>(std::move(reply), [](const auto& list) {
    json::array items;
    for (const auto& s : list) items.push_back(ToJson(s));
    return json::object{{"conversations", std::move(items)}};
  });
  d_.store.ReadEach<std::vector<ConversationSummary>>(
      [ctx, n, &limits = d_.limits](StoreTxn& txn, int) { return chat::ListMyConversations(txn, ctx, limits, n); },
      [respond = std::move(respond), n, &limits = d_.limits](auto parts) mutable {
        respond(chat::MergeConversationLists(std::move(parts), limits, n));
      });
}

void Dispatcher::CreateConversation(const Caller& c, const json::object& p, Reply reply) {
  auto kind_name = RequireString(p, "kind");
  if (!kind_name.ok()) return reply(kind_name.take_error());
  auto kind = ParseKind(*kind_name);
  if (!kind) return reply(BadRequest("kind must be direct, group or channel"));
  chat::Context ctx{c.user, d_.clock.NowMs()};
  // Every field is read before `reply` moves into the completion.
  std::function<Result<chat::ConversationView>(StoreTxn&)> op;
  // The id decides the partition. A direct chat's partition comes from its
  // pair of users, so every node looks for an existing one in the same place.
  ConversationId new_id = d_.ids.Next();
  int partition = d_.store.PartitionOf(new_id);
  if (*kind == ConversationKind::kDirect) {
    auto peer = RequireInt(p, "peer_id");
    if (!peer.ok()) return reply(peer.take_error());
    partition = d_.store.PartitionOfPair(c.user, *peer);
    while (d_.store.PartitionOf(new_id) != partition) new_id = d_.ids.Next();
    op = [ctx, peer = *peer, new_id, &limits = d_.limits](StoreTxn& txn) {
      return chat::CreateDirect(txn, ctx, new_id, limits, peer);
    };
  } else {
    chat::CreateGroupRequest req;
    req.kind = *kind;
    auto title = OptionalString(p, "title");
    if (!title.ok()) return reply(title.take_error());
    req.title = title->value_or("");
    auto members = IntArray(p, "members");
    if (!members.ok()) return reply(members.take_error());
    req.members = std::move(*members);
    op = [ctx, req = std::move(req), new_id, &limits = d_.limits](StoreTxn& txn) {
      return chat::CreateGroup(txn, ctx, new_id, limits, req);
    };
  }
  d_.store.WriteResult<chat::ConversationView>(
      partition, std::move(op),
      [this, reply = std::move(reply), origin = c.connection, user = c.user](Result<chat::ConversationView> r) {
        if (!r.ok()) return reply(r.take_error());
        PublishConversation(*r, origin);
        reply(json::value(ViewAnswer(*r, user)));
      });
}

void Dispatcher::GetConversation(const Caller& c, const json::object& p, Reply reply) {
  auto id = RequireInt(p, "conversation_id");
  if (!id.ok()) return reply(id.take_error());
  chat::Context ctx{c.user, d_.clock.NowMs()};
  d_.store.ReadResult<chat::ConversationView>(
      d_.store.PartitionOf(*id), [ctx, id = *id](StoreTxn& txn) { return chat::GetConversation(txn, ctx, id); },
      Respond<chat::ConversationView>(std::move(reply), [](const auto& v) { return ToJson(v); }));
}

void Dispatcher::ChangeConversation(const Caller& c, std::string_view method, const json::object& p,
                                    Reply reply) {
  auto id = RequireInt(p, "conversation_id");
  if (!id.ok()) return reply(id.take_error());
  chat::Context ctx{c.user, d_.clock.NowMs()};
  const chat::ChatLimits& limits = d_.limits;
  std::function<Result<chat::ConversationView>(StoreTxn&)> op;
  if (method == "conversations.rename") {
    auto title = RequireString(p, "title");
    if (!title.ok()) return reply(title.take_error());
    op = [=, &limits, title = *title](StoreTxn& txn) { return chat::Rename(txn, ctx, limits, *id, title); };
  } else if (method == "members.add") {
    auto users = IntArray(p, "user_ids");
    if (!users.ok()) return reply(users.take_error());
    auto role_name = OptionalString(p, "role");
    if (!role_name.ok()) return reply(role_name.take_error());
    auto role = ParseRole(role_name->value_or("member"));
    if (!role) return reply(BadRequest("role must be read_only, member, admin or owner"));
    op = [=, &limits, users = *users](StoreTxn& txn) {
      return chat::AddMembers(txn, ctx, limits, *id, users, *role);
    };
  } else if (method == "members.remove" || method == "members.leave") {
    auto user = method == "members.leave" ? Result<int64_t>(c.user) : RequireInt(p, "user_id");
    if (!user.ok()) return reply(user.take_error());
    op = [=, &limits, user = *user](StoreTxn& txn) { return chat::RemoveMember(txn, ctx, limits, *id, user); };
  } else {  // members.set_role
    auto user = RequireInt(p, "user_id");
    if (!user.ok()) return reply(user.take_error());
    auto role_name = RequireString(p, "role");
    if (!role_name.ok()) return reply(role_name.take_error());
    auto role = ParseRole(*role_name);
    if (!role) return reply(BadRequest("role must be read_only, member, admin or owner"));
    op = [=, &limits](StoreTxn& txn) { return chat::ChangeRole(txn, ctx, limits, *id, *user, *role); };
  }
  d_.store.WriteResult<chat::ConversationView>(
      d_.store.For(*id), std::move(op),
      [this, reply = std::move(reply), origin = c.connection, user = c.user](auto r) {
        if (!r.ok()) return reply(r.take_error());
        PublishConversation(*r, origin);
        reply(json::value(ViewAnswer(*r, user)));
      });
}

void Dispatcher::SendMessage(const Caller& c, const json::object& p, Reply reply) {
  chat::SendRequest req;
  auto id = RequireInt(p, "conversation_id");
  if (!id.ok()) return reply(id.take_error());
  req.conversation_id = *id;
  auto client_id = RequireString(p, "client_msg_id");
  if (!client_id.ok()) return reply(client_id.take_error());
  req.client_msg_id = std::move(*client_id);
  auto text = RequireString(p, "text");
  if (!text.ok()) return reply(text.take_error());
  req.text = std::move(*text);
  auto reply_to = OptionalInt(p, "reply_to");
  if (!reply_to.ok()) return reply(reply_to.take_error());
  req.reply_to = *reply_to;
  // Cheap checks first, so bad input never reaches the writer thread.
  if (auto st = chat::ValidateSend(d_.limits, req); !st.ok()) return reply(st.take_error());

  chat::Context ctx{c.user, d_.clock.NowMs()};
  int64_t started = MonotonicUs();
  d_.store.WriteResult<chat::SendResult>(
      d_.store.For(*id), [ctx, req = std::move(req), &limits = d_.limits](StoreTxn& txn) {
        return chat::SendMessage(txn, ctx, limits, req);
      },
      [this, reply = std::move(reply), started, origin = c.connection, user = c.user](Result<chat::SendResult> r) {
        if (!r.ok()) return reply(r.take_error());
        // Durable now: acknowledge, then fan out.
        d_.metrics.commit_latency.Observe(MonotonicUs() - started);
        json::object ack = ToJson(r->message);
        ack["duplicate"] = r->duplicate;
        AddCallerPts(ack, r->recipients, user);
        if (r->duplicate) {
          d_.metrics.messages_duplicate.fetch_add(1, std::memory_order_relaxed);
          return reply(json::value(std::move(ack)));
        }
        d_.metrics.messages_accepted.fetch_add(1, std::memory_order_relaxed);
        reply(json::value(std::move(ack)));
        PublishTimeline(chat::Appended{std::move(r->message), std::move(r->recipients)}, origin);
      });
}

void Dispatcher::History(const Caller& c, const json::object& p, Reply reply) {
  HistoryQuery q;
  auto id = RequireInt(p, "conversation_id");
  if (!id.ok()) return reply(id.take_error());
  q.conversation_id = *id;
  auto before = OptionalInt(p, "before");
  if (!before.ok()) return reply(before.take_error());
  auto after = OptionalInt(p, "after");
  if (!after.ok()) return reply(after.take_error());
  auto limit = OptionalInt(p, "limit");
  if (!limit.ok()) return reply(limit.take_error());
  q.before = *before;
  q.after = *after;
  q.limit = static_cast<int>(std::clamp<int64_t>(limit->value_or(50), 0, 100000));
  chat::Context ctx{c.user, d_.clock.NowMs()};
  d_.store.ReadResult<chat::HistoryPage>(
      d_.store.PartitionOf(*id), [ctx, q, &limits = d_.limits](StoreTxn& txn) { return chat::ReadHistory(txn, ctx, limits, q); },
      Respond<chat::HistoryPage>(std::move(reply), [](const auto& page) { return ToJson(page); }));
}

void Dispatcher::MarkReceipt(const Caller& c, std::string_view method, const json::object& p, Reply reply) {
  auto id = RequireInt(p, "conversation_id");
  if (!id.ok()) return reply(id.take_error());
  auto seq = RequireInt(p, "seq");
  if (!seq.ok()) return reply(seq.take_error());
  std::optional<Seq> delivered, read;
  (method == "messages.read" ? read : delivered) = *seq;
  chat::Context ctx{c.user, d_.clock.NowMs()};
  d_.store.WriteResult<chat::ReceiptChange>(
      d_.store.For(*id), [ctx, id = *id, delivered, read, &limits = d_.limits](StoreTxn& txn) {
        return chat::MarkReceipt(txn, ctx, limits, id, delivered, read);
      },
      [this, reply = std::move(reply), origin = c.connection, user = c.user](Result<chat::ReceiptChange> r) {
        if (!r.ok()) return reply(r.take_error());
        json::object receipt = ToJson(*r);
        json::object answer = receipt;
        AddCallerPts(answer, r->recipients, user);
        reply(json::value(std::move(answer)));
        if (!r->changed) return;
        receipt["type"] = "receipt";
        Event event;
        event.conversation_id = r->conversation_id;
        event.payload = Frame(std::move(receipt));
        event.recipients = ToRecipients(r->recipients);
        event.origin_connection = origin;
        d_.broker.Publish(std::move(event));
      });
}

void Dispatcher::CountReceipts(const Caller& c, const json::object& p, Reply reply) {
  auto id = RequireInt(p, "conversation_id");
  if (!id.ok()) return reply(id.take_error());
  auto seq = RequireInt(p, "seq");
  if (!seq.ok()) return reply(seq.take_error());
  chat::Context ctx{c.user, d_.clock.NowMs()};
  d_.store.ReadResult<chat::ReceiptCounts>(
      d_.store.PartitionOf(*id), [ctx, id = *id, seq = *seq](StoreTxn& txn) { return chat::CountReceipts(txn, ctx, id, seq); },
      Respond<chat::ReceiptCounts>(std::move(reply), [](const auto& counts) { return ToJson(counts); }));
}

void Dispatcher::ChangeMessage(const Caller& c, std::string_view method, const json::object& p, Reply reply) {
  auto id = RequireInt(p, "conversation_id");
  if (!id.ok()) return reply(id.take_error());
  auto seq = RequireInt(p, "seq");
  if (!seq.ok()) return reply(seq.take_error());
  chat::Context ctx{c.user, d_.clock.NowMs()};
  const chat::ChatLimits& limits = d_.limits;
  std::function<Result<chat::Appended>(StoreTxn&)> op;
  if (method == "messages.edit") {
    auto text = RequireString(p, "text");
    if (!text.ok()) return reply(text.take_error());
    op = [=, &limits, text = *text](StoreTxn& txn) { return chat::EditMessage(txn, ctx, limits, *id, *seq, text); };
  } else if (method == "messages.delete") {
    op = [=, &limits](StoreTxn& txn) { return chat::DeleteMessage(txn, ctx, limits, *id, *seq); };
  } else {
    auto emoji = OptionalString(p, "emoji");
    if (!emoji.ok()) return reply(emoji.take_error());
    op = [=, &limits, emoji = emoji->value_or("")](StoreTxn& txn) {
      return chat::React(txn, ctx, limits, *id, *seq, emoji);
    };
  }
  d_.store.WriteResult<chat::Appended>(
      d_.store.For(*id), std::move(op), [this, reply = std::move(reply), origin = c.connection, user = c.user](Result<chat::Appended> r) {
        if (!r.ok()) return reply(r.take_error());
        json::object answer = ToJson(r->event);
        AddCallerPts(answer, r->recipients, user);
        reply(json::value(std::move(answer)));
        if (!r->recipients.empty()) PublishTimeline(*r, origin);  // empty: nothing changed
      });
}

void Dispatcher::Sync(const Caller& c, const json::object& p, Reply reply) {
  auto token = OptionalString(p, "token");
  if (!token.ok()) return reply(token.take_error());
  std::optional<chat::SyncPosition> since;
  if (*token && !(*token)->empty()) {
    auto decoded = DecodeSyncToken(d_.keys, c.user, **token);
    if (!decoded.ok()) return reply(decoded.take_error());
    if (!decoded->has_value()) {
      // Signed with a key this server no longer has: the client starts over.
      return reply(json::value(json::object{{"resync_required", true},
                                            {"reason", "the sync token's signing key was retired"},
                                            {"conversations", json::array{}}}));
    }
    since = std::move(**decoded);
  }
  chat::Context ctx{c.user, d_.clock.NowMs()};
  if (since && since->pts.size() != static_cast<size_t>(d_.store.Partitions())) {
    // Made when the store had another number of partitions.
    return reply(json::value(json::object{{"resync_required", true},
                                          {"reason", "the server's storage layout changed"},
                                          {"conversations", json::array{}}}));
  }
  auto shared_since = std::make_shared<const std::optional<chat::SyncPosition>>(std::move(since));
  d_.store.ReadEach<chat::SyncResult>(
      [ctx, shared_since, &limits = d_.limits](StoreTxn& txn, int partition) {
        return chat::CatchUp(txn, ctx, limits, *shared_since, partition);
      },
      [this, reply = std::move(reply), user = c.user, shared_since](std::vector<Result<chat::SyncResult>> parts) {
        auto r = chat::MergeCatchUps(std::move(parts), *shared_since,
                                     [this](ConversationId id) { return d_.store.PartitionOf(id); },
                                     static_cast<size_t>(d_.limits.max_sync_conversations));
        if (!r.ok()) return reply(r.take_error());
        if (r->resync_required) {
          return reply(json::value(json::object{
              {"resync_required", true}, {"reason", r->reason}, {"conversations", json::array{}}}));
        }
        json::array conversations;
        for (const auto& entry : r->conversations) conversations.push_back(ToJson(entry));
        reply(json::value(json::object{{"resync_required", false},
                                       {"conversations", std::move(conversations)},
                                       {"pts", TotalPts(r->position)},
                                       {"token", EncodeSyncToken(d_.keys, user, r->position)}}));
      });
}

void Dispatcher::Typing(const Caller& c, const json::object& p, Reply reply) {
  auto id = RequireInt(p, "conversation_id");
  if (!id.ok()) return reply(id.take_error());
  d_.store.ReadResult<std::vector<Member>>(
      d_.store.PartitionOf(*id), [user = c.user, id = *id](StoreTxn& txn) -> Result<std::vector<Member>> {
        NATTER_TRY(auto membership, chat::RequireMember(txn, user, id));
        if (!chat::CanPost(membership.first.kind, membership.second.role)) {
          return Forbidden("your role may not post here");
        }
        // Large conversations get no typing storm.
        if (membership.first.large) return std::vector<Member>{};
        return txn.ListMembers(id);
      },
      [this, reply = std::move(reply), user = c.user, id = *id, origin = c.connection](auto r) {
        if (!r.ok()) return reply(r.take_error());
        reply(json::value(json::object{{"conversation_id", id}}));
        if (r->empty()) return;
        Event event;
        event.conversation_id = id;
        event.payload = Frame({{"type", "typing"}, {"conversation_id", id}, {"user_id", user},
                               {"expires_in_ms", kTypingExpiresMs}});
        for (const auto& m : *r) {
          if (m.user_id != user) event.recipients.push_back(EventRecipient{m.user_id, 0});
        }
        d_.broker.Publish(std::move(event));
      });
}

void Dispatcher::GetPresence(const Caller& c, const json::object& p, Reply reply) {
  auto users = IntArray(p, "user_ids");
  if (!users.ok()) return reply(users.take_error());
  if (users->size() > 500) return reply(TooLarge("ask for at most 500 users at once"));
  // Only users who share a conversation with the caller are answered; others
  // are left out exactly like users who do not exist. Each partition answers
  // for the conversations it holds (one query each); an instance that is down
  // hides only the users shared there.
  d_.store.ReadEach<std::vector<UserId>>(
      [caller = c.user, users = *users](StoreTxn& txn, int) { return txn.WhoShareWith(caller, users); },
      [this, reply = std::move(reply)](std::vector<Result<std::vector<UserId>>> parts) mutable {
        auto answered = JoinAnswered(std::move(parts));
        if (!answered.ok()) return reply(answered.take_error());
        std::set<UserId> shared(answered->begin(), answered->end());
        d_.store.ReadResult<std::vector<User>>(
            0,
            [shared = std::move(shared)](StoreTxn& txn) -> Result<std::vector<User>> {
              std::vector<User> visible;
              for (UserId u : shared) {
                NATTER_TRY(auto user, txn.FindUser(u));
                if (user) visible.push_back(std::move(*user));
              }
              return visible;
            },
            [this, reply = std::move(reply)](Result<std::vector<User>> r) { AnswerPresence(std::move(r), reply); });
      });
}

void Dispatcher::AnswerPresence(Result<std::vector<User>> visible, const Reply& reply) {
  if (!visible.ok()) return reply(visible.take_error());
  json::array out;
  for (const auto& u : *visible) {
    json::object o{{"user_id", u.id}};
    if (u.presence_hidden) {
      o["status"] = "hidden";
    } else if (d_.presence && d_.presence->IsOnline(u)) {
      o["status"] = "online";
    } else {
      o["status"] = "offline";
      o["last_seen"] = u.last_seen;
    }
    out.push_back(std::move(o));
  }
  reply(json::value(json::object{{"presence", std::move(out)}}));
}

void Dispatcher::SetPresence(const Caller& c, const json::object& p, Reply reply) {
  const auto* hidden = p.if_contains("hidden");
  if (!hidden || !hidden->is_bool()) return reply(BadRequest("field 'hidden' must be true or false"));
  bool h = hidden->get_bool();
  d_.store.Write([user = c.user, h](StoreTxn& txn) { return txn.SetPresenceHidden(user, h); },
                 [this, reply = std::move(reply), user = c.user, h](Status st) {
                   if (!st.ok()) return reply(st.take_error());
                   reply(json::value(json::object{{"hidden", h}}));
                   if (d_.presence) d_.presence->VisibilityChanged(user, h);
                 });
}

void Dispatcher::PublishConversation(const chat::ConversationView& view, uint64_t origin) {
  // The conversation's new state first: in a cluster it is what makes a new
  // member's node listen to the conversation, so the events that follow reach
  // them there too.
  if (!view.notified.empty()) {
    Event event;
    event.payload = Frame({{"type", "conversation"}, {"conversation", ToJson(view)}});
    event.recipients = ToRecipients(view.notified);
    event.origin_connection = origin;
    d_.broker.Publish(std::move(event));
  }
  for (const auto& appended : view.events) PublishTimeline(appended, origin, /*to_each_recipient=*/true);
}

void Dispatcher::PublishTimeline(const chat::Appended& appended, uint64_t origin, bool to_each_recipient) {
  Event event;
  event.to_each_recipient = to_each_recipient;
  event.payload = Frame({{"type", "message"}, {"message", ToJson(appended.event)}});
  event.recipients = ToRecipients(appended.recipients);
  event.origin_connection = origin;
  event.conversation_id = appended.event.conversation_id;
  event.seq = appended.event.seq;
  d_.broker.Publish(std::move(event));
}

}  // namespace natter::api
