#include "api/dispatcher.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <unordered_set>

#include "api/answers.h"
#include "api/json_views.h"
#include "api/method_table.h"
#include "common/guarded.h"
#include "ops/log_event.h"
#include "ops/recent_requests.h"

namespace natter::api {

namespace json = boost::json;

namespace {

int64_t SteadyUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::vector<EventRecipient> ToRecipients(const std::vector<chat::Recipient>& in) {
  std::vector<EventRecipient> out;
  out.reserve(in.size());
  for (const auto& r : in) out.push_back(EventRecipient{r.user, r.pts});
  return out;
}

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
  // Who was asked instead of added: only the one who added them hears of it.
  if (!view.invited.empty()) answer["invited"] = json::array(view.invited.begin(), view.invited.end());
  for (const auto& e : view.events) AddCallerPts(answer, e.recipients, caller);
  AddCallerPts(answer, view.notified, caller);
  return answer;
}

void Dispatcher::Call(const Method& method, const Caller& caller, const json::object& params, Reply reply) {
  if (caller.executor == nullptr) return reply(Internal("no executor for the answer"));  // a wiring bug
  if (!caller.request_id.empty()) ops::RecordRecentRequest(caller.request_id);           // for a crash report
  // A handler that throws (a bug) is answered `internal`, unless it has
  // answered already: an answer goes out once, whatever happens.
  struct Once {
    const Dispatcher* dispatcher;
    const Method* method;
    Caller caller;
    RequestSubject subject;
    int64_t started_us;
    Reply reply;
    std::atomic<bool> answered{false};
    void operator()(Result<json::value> r) {
      if (answered.exchange(true)) return;
      ScopedRequestId scope(caller.request_id);
      dispatcher->Finished(*method, caller, subject, r, started_us);
      reply(std::move(r));
    }
  };
  auto once = std::make_shared<Once>();
  once->dispatcher = this;
  once->method = &method;
  once->caller = caller;
  once->subject = RequestSubject::Of(params);
  once->started_us = SteadyUs();
  once->reply = std::move(reply);
  if (method.access != Access::kPublic && caller.user == 0) return (*once)(Unauthorized("authenticate first"));
  if (!method.invoke) {
    return (*once)(BadRequest("'" + std::string(method.name) + "' is served by the WebSocket only"));
  }
  if (method.access == Access::kModerator || method.access == Access::kAdmin) {
    return CallAsOperator(method, caller, params, [once](auto r) { (*once)(std::move(r)); });
  }
  if (!RunCatching(method.name,
                   [&] { method.invoke(*this, caller, params, [once](auto r) { (*once)(std::move(r)); }); })) {
    (*once)(Internal("internal error"));
  }
}

RequestSubject RequestSubject::Of(const json::object& params) {
  RequestSubject s;
  if (const auto* handle = params.if_contains("handle"); handle && handle->is_string()) {
    s.handle = std::string(std::string_view(handle->get_string()).substr(0, 64));
  }
  if (const auto* user = params.if_contains("user_id"); user && user->is_int64()) s.user = user->get_int64();
  if (const auto* suspended = params.if_contains("suspended"); suspended && suspended->is_bool()) {
    s.lifts = !suspended->get_bool();
  }
  return s;
}

void Dispatcher::Finished(const Method& method, const Caller& caller, const RequestSubject& subject,
                          const Result<json::value>& result, int64_t started_us) const {
  int64_t took_us = SteadyUs() - started_us;
  std::optional<ErrorCode> error;
  if (!result.ok()) error = result.error().code;
  d_.metrics.requests.Record(static_cast<size_t>(&method - Methods().data()), error, took_us);
  bool login = method.name == "auth.login" || method.name == "auth.external" || method.name == "auth.bot";
  if (login && error && (*error == ErrorCode::kUnauthorized || *error == ErrorCode::kRateLimited)) {
    ops::LogFields fields;
    fields.Str("method", method.name).Str("address", caller.address);
    if (!subject.handle.empty()) fields.Str("handle", subject.handle);
    fields.Str("reason", result.error().message);
    // Throttled: the account or the address has failed too often.
    ops::LogEvent(spdlog::level::warn, *error == ErrorCode::kRateLimited ? "login_throttled" : "login_failed", fields);
    return;
  }
  static constexpr std::string_view kEndsSessions[] = {"admin.users.suspend", "admin.users.revoke_sessions",
                                                       "admin.users.reset_password", "admin.users.erase",
                                                       "admin.bots.rotate_token"};
  if (!error && !subject.lifts &&
      std::find(std::begin(kEndsSessions), std::end(kEndsSessions), method.name) != std::end(kEndsSessions)) {
    ops::LogFields fields;
    fields.Str("method", method.name).Int("operator", caller.user);
    if (subject.user) fields.Int("user", subject.user);
    ops::LogEvent(spdlog::level::warn, "sessions_revoked", fields);
    return;
  }
  if (ops::LogEnabled(spdlog::level::debug)) {
    ops::LogFields fields;
    fields.Str("method", method.name).Str("code", error ? ErrorCodeName(*error) : "ok").Int("duration_us", took_us);
    if (caller.user) fields.Int("user", caller.user);
    if (caller.connection) fields.Int("connection", static_cast<int64_t>(caller.connection));
    ops::LogEvent(spdlog::level::debug, "request", fields);
  }
}

void Dispatcher::Register(const Caller& c, RegisterParams p, Reply reply) {
  d_.accounts.Register(ExecutorOf(c), std::move(p.handle), std::move(p.password), std::move(p.invite_code), c.address,
                       Respond<User>(std::move(reply), [](const User& u) { return ToJson(u); }));
}

void Dispatcher::ExternalLogin(const Caller& c, ExternalLoginParams p, Reply reply) {
  if (!d_.external) return reply(NotFound("this server accepts no external tokens"));
  auto claims = d_.external->Verify(p.token, d_.clock.NowSeconds());
  if (!claims.ok()) return reply(claims.take_error());
  d_.accounts.ExternalLogin(
      ExecutorOf(c), std::move(*claims), std::move(p.device), c.address,
      Respond<accounts::LoginResult>(std::move(reply), [](const accounts::LoginResult& r) { return ToJson(r); }));
}

void Dispatcher::Login(const Caller& c, LoginParams p, Reply reply) {
  d_.accounts.Login(ExecutorOf(c), p.handle, std::move(p.password), std::move(p.device), c.address,
                    Respond<accounts::LoginResult>(std::move(reply), [](const auto& r) { return ToJson(r); }));
}

// NOLINTNEXTLINE(performance-unnecessary-value-param): the method table's handler signature
void Dispatcher::Refresh(const Caller& c, RefreshParams p, Reply reply) {
  d_.accounts.Refresh(ExecutorOf(c), p.refresh_token,
                      Respond<accounts::LoginResult>(std::move(reply), [](const auto& r) { return ToJson(r); }));
}

void Dispatcher::Logout(const Caller& c, NoParams, Reply reply) {
  d_.accounts.Logout(ExecutorOf(c), c.session,
                     [this, reply = std::move(reply), user = c.user, session = c.session](Status st) {
                       if (!st.ok()) return reply(st.take_error());
                       reply(json::value(json::object{}));
                       // Open sockets of this session end too, on every node.
                       Event revoke;
                       revoke.recipients.push_back(EventRecipient{user, 0});
                       revoke.revoke_session = session;
                       d_.broker.Publish(std::move(revoke));
                       DevicesMayHaveChanged(user);
                     });
}

void Dispatcher::GetUser(const Caller& c, UserLookupParams p, Reply reply) {
  d_.store.ReadAccountsResult<User>(
      ExecutorOf(c),
      [p = std::move(p)](AccountsTxn& txn) -> Result<User> {
        NATTER_TRY(auto user, p.handle ? txn.FindUserByHandle(*p.handle) : txn.FindUser(*p.user_id));
        if (!user) return NotFound("user not found");
        return std::move(*user);
      },
      Respond<User>(std::move(reply), [](const User& u) { return ToJson(u); }));
}

// NOLINTNEXTLINE(performance-unnecessary-value-param): the method table's handler signature
void Dispatcher::Ping(const Caller&, NoParams, Reply reply) { reply(json::value(json::object{{"pong", true}})); }

void Dispatcher::SetLimits(const chat::ChatLimits& limits) {
  limits_.Set(limits);
  creations_.SetRate(limits.max_conversations_per_hour / 3600.0, limits.max_conversations_per_hour);
  additions_.SetRate(limits.max_member_adds_per_hour / 3600.0, limits.max_member_adds_per_hour);
  reports_.SetRate(limits.max_reports_per_hour / 3600.0, limits.max_reports_per_hour);
  key_bundles_.SetRate(limits.max_key_bundles_per_hour / 3600.0, limits.max_key_bundles_per_hour);
}

void Dispatcher::PublishConversation(const chat::ConversationView& view, uint64_t origin) {
  // Who just joined gets the whole conversation, first: in a cluster that
  // frame is what makes a new member's node listen to the conversation, so the
  // events that follow reach them there too. Who knew it gets what changed:
  // a change in a 1,000-member group sends each member one member, not 1,000.
  std::unordered_set<UserId> joined(view.joined.begin(), view.joined.end());
  std::vector<chat::Recipient> whole, changed;
  for (const auto& r : view.notified) (joined.contains(r.user) ? whole : changed).push_back(r);
  auto publish = [&](json::object frame, const std::vector<chat::Recipient>& to, bool joins) {
    if (to.empty()) return;
    Event event;
    event.payload = Frame(frame);
    if (joins) {  // their sockets follow the conversation's seq order from here
      event.joins = true;
      event.conversation_id = view.conversation.id;
    }
    event.recipients = ToRecipients(to);
    event.origin_connection = origin;
    d_.broker.Publish(std::move(event));
  };
  // A large conversation's member list is read on request (conversations.get), never pushed.
  publish(
      {{"type", "conversation"}, {"conversation", view.conversation.large ? ToJson(view.conversation) : ToJson(view)}},
      whole, true);
  json::object change{{"type", "conversation"}, {"conversation", ToJson(view.conversation)}};
  if (!view.members_changed.empty()) {
    json::array members;
    for (const auto& m : view.members_changed) members.push_back(ToJson(m));
    change["members_changed"] = std::move(members);
  }
  if (!view.members_removed.empty()) {
    change["members_removed"] = json::array(view.members_removed.begin(), view.members_removed.end());
  }
  publish(std::move(change), changed, false);
  for (const auto& appended : view.events) PublishTimeline(appended, origin, /*to_each_recipient=*/true);
}

void Dispatcher::PublishTimeline(const chat::Appended& appended, uint64_t origin, bool to_each_recipient) {
  auto publish = [&](const Message& message, std::vector<EventRecipient> recipients) {
    Event event;
    event.to_each_recipient = to_each_recipient;
    event.payload = Frame({{"type", "message"}, {"message", ToJson(message)}});
    event.recipients = std::move(recipients);
    event.origin_connection = origin;
    event.conversation_id = message.conversation_id;
    event.seq = message.seq;
    d_.broker.Publish(std::move(event));
  };
  const auto& envelopes = appended.event.envelopes;
  if (envelopes.empty()) return publish(appended.event, ToRecipients(appended.recipients));
  // Encrypted (docs/e2ee.md): a user's sockets get the envelopes of that
  // user's devices; whoever has none (a sender-key message) shares one frame
  // with the header alone.
  std::map<UserId, std::vector<Envelope>> own;
  for (size_t i = 1; i < envelopes.size(); ++i) own[envelopes[i].user_id].push_back(envelopes[i]);
  Message header_only = appended.event;
  header_only.envelopes = {envelopes.front()};
  std::vector<EventRecipient> rest;
  for (const EventRecipient& r : ToRecipients(appended.recipients)) {
    auto it = own.find(r.user);
    if (it == own.end()) {
      rest.push_back(r);
      continue;
    }
    Message theirs = header_only;
    theirs.envelopes.insert(theirs.envelopes.end(), it->second.begin(), it->second.end());
    publish(theirs, {r});
  }
  if (!rest.empty()) publish(header_only, std::move(rest));
}

}  // namespace natter::api
