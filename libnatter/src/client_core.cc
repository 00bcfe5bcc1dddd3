#include "client_core.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>

#include "common/json_lookup.h"

namespace natter::client {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// Keys that start with @ belong to the app's side of the API (@type, @extra):
// a server cannot put them in what the app receives.
void WithoutAppKeys(json::object& o) {
  for (auto it = o.begin(); it != o.end();) {
    it = !it->key().empty() && it->key().front() == '@' ? o.erase(it) : std::next(it);
  }
}

using json_lookup::Int;
using json_lookup::Str;

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}
}  // namespace

bool Permanent(const std::string& code) {
  return code == "bad_request" || code == "forbidden" || code == "not_found" || code == "too_large" ||
         code == "conflict" || code == "stale_devices";
}

std::unique_ptr<Client> Client::Create(ClientOptions options) {
  return std::make_unique<ClientCore>(std::move(options));
}

ClientCore::ClientCore(ClientOptions options) : options_(std::move(options)), server_(MakeServerEndpoint(options_)) {
  store_ = std::make_unique<LocalStore>(options_.database_directory);
  // Queued before any request can be, so the first event says where we stand.
  asio::post(ioc_, [this] {
    if (auto id = store_->Get("user_id")) user_id_ = std::stoll(*id);
    LoadBlocked();
    OpenKeys();
    if (store_->Get("refresh_token")) {
      Emit({{"@type", "auth_state"}, {"state", "logged_in"}, {"user_id", user_id_}});
      Connect();
    } else {
      Emit({{"@type", "auth_state"}, {"state", "logged_out"}});
    }
  });
  thread_ = std::thread([this] {
    auto guard = asio::make_work_guard(ioc_);
    while (!stopping_) {
      // A handler that throws is told to the app as an `internal` error and
      // the client goes on: never std::terminate inside the app.
      try {
        ioc_.run();
      } catch (const std::exception& e) {
        Emit({{"@type", "error"}, {"code", "internal"}, {"message", std::string("client: ") + e.what()}});
      } catch (...) {
        Emit({{"@type", "error"}, {"code", "internal"}, {"message", "client: unexpected exception"}});
      }
      if (!stopping_) ioc_.restart();
    }
  });
}

ClientCore::~ClientCore() {
  asio::post(ioc_, [this] {
    stopping_ = true;
    reconnect_timer_.cancel();
    refresh_timer_.cancel();
    if (ws_) ws_->Close();
    // Whatever is still under way (a connection attempt, an HTTP call) is
    // dropped unfinished with the io_context: nothing here waits for it.
    ioc_.stop();
  });
  thread_.join();
}

void ClientCore::Send(std::string request_json) {
  asio::post(ioc_, [this, text = std::move(request_json)] {
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec || !v.is_object()) {
      Emit({{"@type", "error"}, {"code", "bad_request"}, {"message", "a request must be one JSON object"}});
      return;
    }
    Handle(v.as_object());
  });
}

std::optional<std::string> ClientCore::Receive(std::chrono::milliseconds timeout) {
  std::unique_lock lock(events_mu_);
  if (!events_cv_.wait_for(lock, timeout, [this] { return !events_.empty(); })) return std::nullopt;
  std::string e = std::move(events_.front());
  events_.pop_front();
  return e;
}

void ClientCore::Emit(const Json& event) {
  std::string text = json::serialize(event);
  if (options_.on_event) return options_.on_event(text);
  {
    std::lock_guard lock(events_mu_);
    events_.push_back(std::move(text));
  }
  events_cv_.notify_one();
}

void ClientCore::Answer(const Json& req, Json data) {
  data["@type"] = "result";
  data["request"] = Str(req, "@type");
  if (auto* extra = req.if_contains("@extra")) data["@extra"] = *extra;
  Emit(data);
}

void ClientCore::Fail(const Json& req, const std::string& code, const std::string& message) {
  Json e{{"@type", "error"}, {"request", Str(req, "@type")}, {"code", code}, {"message", message}};
  if (auto* extra = req.if_contains("@extra")) e["@extra"] = *extra;
  Emit(e);
}

// ---- requests from the app ----------------------------------------------------

void ClientCore::Handle(const Json& req) {
  if (logging_in_) return held_.push_back(req);
  std::string type = Str(req, "@type");
  if (type == "register") return Register(req);
  if (type == "login") return Login(req);
  if (type == "logout") return Logout(req);
  if (type == "send_message") return SendMessage(req);
  if (type == "get_history") return GetHistory(req);
  if (type == "download_attachment") return DownloadAttachment(req);
  if (type == "mark_read") return MarkRead(req);
  if (type == "get_conversations") return Answer(req, {{"conversations", store_->Conversations(user_id_)}});
  if (type == "get_members") {
    int64_t conv = Int(req, "conversation_id");
    return Answer(req, {{"conversation_id", conv}, {"members", store_->Members(conv)}});
  }
  if (type == "get_state") {
    return Answer(req, {{"user_id", user_id_},
                        {"connection", connection_state_},
                        {"pending", static_cast<int64_t>(store_->PendingOutbox().size())},
                        {"end_to_end", e2ee_ != nullptr},
                        {"device_id", device_id_}});
  }
  if (type == "create_direct") return Forward(req, "conversations.create");
  if (type == "create_group") return Forward(req, "conversations.create");
  if (type == "add_members") return Forward(req, "members.add");
  if (type == "remove_member") return Forward(req, "members.remove");
  if (type == "set_role") return Forward(req, "members.set_role");
  if (type == "leave") return Forward(req, "members.leave");
  if (type == "rename") return Forward(req, "conversations.rename");
  if (type == "get_safety_number") return GetSafetyNumber(req);
  bool sealed = store_->IsEncrypted(Int(req, "conversation_id"));
  if (type == "edit_message") return sealed ? SealedForward(req, "messages.edit") : Forward(req, "messages.edit");
  if (type == "delete_message") return Forward(req, "messages.delete");
  if (type == "react") return sealed ? SealedForward(req, "messages.react") : Forward(req, "messages.react");
  if (type == "get_user") return GetUser(req);
  if (type == "typing") return Forward(req, "typing");
  if (type == "get_presence") return Forward(req, "presence.get");
  if (type == "set_presence_hidden") return Forward(req, "presence.set");
  if (type == "get_receipts") return Forward(req, "receipts.get");
  if (type == "block_user") return BlockUser(req, true);
  if (type == "unblock_user") return BlockUser(req, false);
  if (type == "get_blocked") return Answer(req, {{"blocked", BlockedList()}});
  if (type == "get_invitations") return Forward(req, "invitations.list");
  if (type == "accept_invitation") return Forward(req, "invitations.accept");
  if (type == "decline_invitation") return Forward(req, "invitations.decline");
  if (type == "get_privacy") return Forward(req, "privacy.get");
  if (type == "set_group_adds") return Forward(req, "privacy.set");
  if (type == "admin_request") return AdminRequest(req);
  if (type == "register_push_token") return RegisterPushToken(req);
  if (type == "unregister_push_token") return UnregisterPushToken(req);
  if (type == "get_push_settings") return Forward(req, "push.get");
  if (type == "set_push_preview") return Forward(req, "push.set");
  if (type == "mute") return Forward(req, "conversations.mute");
  if (type == "unmute") return Forward(req, "conversations.unmute");
  if (type == "read_push") return ReadPush(req);
  if (type == "network_changed" || type == "app_foreground") {
    // Reconnect now rather than when the backoff says.
    attempt_ = 0;
    if (!ws_ && !connecting_ && store_->Get("refresh_token")) {
      reconnect_timer_.cancel();
      Connect();
    }
    return Answer(req, {});
  }
  if (type == "app_background") {
    if (ws_) Disconnected("app in background");
    AbandonConnect();
    reconnect_timer_.cancel();
    SetConnectionState("offline");
    return Answer(req, {});
  }
  Fail(req, "bad_request", "unknown request type '" + type + "'");
}

void ClientCore::FailHttp(const Json& req, const HttpAnswer& answer) {
  if (answer.status == 0) return Fail(req, "unavailable", answer.error);
  const auto* err = answer.body.is_object() ? answer.body.as_object().if_contains("error") : nullptr;
  if (err && err->is_object()) return Fail(req, Str(err->as_object(), "code"), Str(err->as_object(), "message"));
  Fail(req, "internal", "HTTP " + std::to_string(answer.status) + " without an error from " + server_.origin);
}

void ClientCore::ReleaseHeld() {
  logging_in_ = false;
  while (!held_.empty() && !logging_in_) {
    Json req = std::move(held_.front());
    held_.pop_front();
    try {
      Handle(req);
    } catch (const std::exception& e) {  // one request's failure does not keep the others held
      Fail(req, "internal", std::string("client: ") + e.what());
    }
  }
}

void ClientCore::Register(const Json& req) {
  HttpCall(ioc_, server_,
           {"POST", "/v1/auth/register", Json{{"handle", Str(req, "handle")}, {"password", Str(req, "password")}}, ""},
           [this, req](HttpAnswer answer) {
             if (answer.status != 200 || !answer.body.is_object()) return FailHttp(req, answer);
             Answer(req, answer.body.as_object());
           });
}

void ClientCore::Login(const Json& req) {
  Json body{{"handle", Str(req, "handle")}, {"password", Str(req, "password")}, {"device", options_.device}};
  logging_in_ = true;
  HttpCall(ioc_, server_, {"POST", "/v1/auth/login", std::move(body), ""}, [this, req](HttpAnswer answer) {
    try {
      OnLoginAnswer(req, answer);
    } catch (...) {
      ReleaseHeld();
      throw;
    }
    ReleaseHeld();
  });
}

void ClientCore::OnLoginAnswer(const Json& req, const HttpAnswer& answer) {
  if (answer.status != 200) return FailHttp(req, answer);
  std::string why;
  auto login = DecodeTokens(answer.body, why);
  if (!login || login->user_id == 0) return Fail(req, "bad_frame", "a malformed login answer: " + why);
  // Only a login that worked ends the session before: a token refresh still
  // under way for it is not wanted now (a failed login changes nothing).
  ++session_;
  int64_t user = login->user_id;
  // The session before on this device ends (its end-to-end device with it):
  // it is replaced, and would linger on the server as a device nobody reads.
  // Its access token may have expired: its refresh token gets a fresh one.
  if (auto old = store_->Get("refresh_token")) {
    HttpCall(ioc_, server_, {"POST", "/v1/auth/refresh", Json{{"refresh_token", *old}}, ""}, [this](HttpAnswer answer) {
      std::string why;
      auto tokens = answer.status == 200 ? DecodeTokens(answer.body, why) : std::nullopt;
      if (!tokens) return;  // ended already, or unreachable: it expires on its own
      HttpCall(ioc_, server_, {"POST", "/v1/auth/logout", nullptr, tokens->access_token}, [](const HttpAnswer&) {});
    });
  }
  if (user != user_id_) ForgetAccount();  // another account: nothing of the old one stays
  // A new session is a new device to the server: a new identity here too.
  ForgetKeys();
  user_id_ = user;
  store_->Put("user_id", std::to_string(user));
  StoreTokens(*login);
  OpenKeys();
  {
    Answer(req, {{"user_id", user}});
    Emit({{"@type", "auth_state"}, {"state", "logged_in"}, {"user_id", user}});
    if (ws_) Disconnected("new login");
    AbandonConnect();
    attempt_ = 0;
    Connect();
  }
}

void ClientCore::StoreTokens(const Tokens& t) {
  store_->Put("access_token", t.access_token);
  store_->Put("access_expires_at", std::to_string(t.access_expires_at));
  store_->Put("refresh_token", t.refresh_token);
}

void ClientCore::DropConversation(int64_t id) {
  store_->RemoveConversation(id);
  to_ack_.erase(id);
  reported_state_.erase(id);
  since_compaction_.erase(id);
  Emit({{"@type", "conversation_removed"}, {"conversation_id", id}});
}

void ClientCore::ForgetAccount() {
  ForgetKeys();
  store_->ClearAll();
  PruneMediaCache(true);
  blocked_.clear();
  to_ack_.clear();
  reported_state_.clear();
  since_compaction_.clear();
}

void ClientCore::Logout(const Json& req) {
  // The server is told if it can be reached; the device forgets either way.
  if (auto token = store_->Get("access_token")) {
    HttpCall(ioc_, server_, {"POST", "/v1/auth/logout", nullptr, *token}, [](const HttpAnswer&) {});
  }
  ++session_;
  if (ws_) Disconnected("logged out");
  AbandonConnect();
  reconnect_timer_.cancel();
  ForgetAccount();
  user_id_ = 0;
  Answer(req, {});
  Emit({{"@type", "auth_state"}, {"state", "logged_out"}});
  SetConnectionState("logged_out");
}

void ClientCore::SendMessage(const Json& req) {
  OutboxEntry e;
  e.conversation_id = Int(req, "conversation_id");
  e.text = Str(req, "text");
  if (auto* r = req.if_contains("reply_to"); r && r->is_int64()) e.reply_to = r->as_int64();
  std::string why;
  if (!AttachFiles(req, e, why)) return Fail(req, "bad_request", why);
  if (e.conversation_id <= 0 || (e.text.empty() && e.files.empty()))
    return Fail(req, "bad_request", "conversation_id and text (or files) are required");
  if (!e.files.empty() && store_->IsEncrypted(e.conversation_id) && !SealFiles(e, why)) {
    return Fail(req, "bad_request", why);
  }
  if (user_id_ == 0) return Fail(req, "unauthorized", "log in first");
  // The id makes every retry the same message on the server.
  char id[40];
  snprintf(id, sizeof(id), "%016llx%016llx", static_cast<unsigned long long>(rng_()),
           static_cast<unsigned long long>(rng_()));
  e.client_msg_id = id;
  store_->AddToOutbox(e);  // durable before anything leaves
  Answer(req, {{"client_msg_id", e.client_msg_id}, {"state", "pending"}});
  Emit({{"@type", "message_state"},
        {"conversation_id", e.conversation_id},
        {"client_msg_id", e.client_msg_id},
        {"state", "pending"}});
  if (ready_) SendFromOutbox(e);
}

void ClientCore::GetHistory(const Json& req) {
  int64_t conv = Int(req, "conversation_id");
  int limit = static_cast<int>(std::clamp<int64_t>(Int(req, "limit", 50), 1, 100));
  std::optional<int64_t> before;
  if (auto* b = req.if_contains("before"); b && b->is_int64()) before = b->as_int64();
  auto local = [this, req, conv, before, limit] {
    Answer(req, {{"conversation_id", conv}, {"messages", FlagBlocked(store_->History(conv, before, limit))}});
  };
  if (!ready_) {  // offline: what is here
    if (!store_->HasConversation(conv)) {
      return Fail(req, "not_found", "conversation " + std::to_string(conv) + " is not known here (offline)");
    }
    return local();
  }
  // Fill what the local store lacks in the asked page (gaps left by catch-up).
  Json q{{"type", "messages.history"}, {"conversation_id", conv}, {"limit", limit}};
  if (before) q["before"] = *before;
  Call(std::move(q), [this, req, local](const ReplyFrame& reply) {
    if (!reply.ok && (reply.code == "not_found" || reply.code == "bad_request")) {
      return Fail(req, reply.code, reply.message);  // no such conversation for you
    }
    std::string why;
    auto page = reply.ok ? DecodeHistory(reply.data, why) : std::nullopt;
    if (reply.ok && !page) ReportBadAnswer("messages.history", why);
    LocalStore::Batch batch(*store_);
    for (const auto& entry : page.value_or(std::vector<Entry>{})) {
      if (entry.conversation_id == Int(req, "conversation_id")) ApplyEntry(entry, false, /*from_history=*/true);
    }
    batch.Commit();
    local();  // what is here, whatever the server said
  });
}

void ClientCore::MarkRead(const Json& req) {
  int64_t conv = Int(req, "conversation_id"), seq = Int(req, "seq");
  // As the server would: only what exists can be read. (Locally that is what
  // this device knows of: nothing it has not seen counts as read.)
  if (seq < 0 || seq > store_->LastKnownSeq(conv)) {
    return Fail(req, "bad_request",
                "seq " + std::to_string(seq) + " is past the newest entry of conversation " + std::to_string(conv) +
                    " known here");
  }
  store_->SetReceipt(conv, user_id_, seq, seq);
  store_->Put("pending_read:" + std::to_string(conv), std::to_string(seq));
  Answer(req, {{"conversation_id", conv}, {"read_seq", seq}});
  if (!ready_) return;  // sent after the next sync
  Call({{"type", "messages.read"}, {"conversation_id", conv}, {"seq", seq}}, [this, conv](const ReplyFrame& reply) {
    if (reply.ok) store_->Erase("pending_read:" + std::to_string(conv));
  });
}

void ClientCore::GetUser(const Json& req) {
  // Online, the server answers: a profile changes, and an erased account's
  // handle too (docs/admin.md). Offline, the last answer kept here does.
  if (!ready_) {
    std::optional<int64_t> id;
    std::optional<std::string> handle;
    if (auto* v = req.if_contains("user_id"); v && v->is_int64()) id = v->get_int64();
    if (auto* v = req.if_contains("handle"); v && v->is_string()) handle = std::string(v->get_string());
    if (auto known = store_->FindUser(id, handle)) {
      return Answer(req, {{"user_id", known->first}, {"handle", known->second}});
    }
  }
  Forward(req, "users.get");
}

void ClientCore::Forward(const Json& req, const std::string& method) {
  if (!ready_) return Fail(req, "unavailable", "offline; try again when connected");
  Json call = req;
  call.erase("@type");
  call.erase("@extra");
  if (Str(req, "@type") == "create_direct") call["kind"] = "direct";
  if (Str(req, "@type") == "create_group" && !call.contains("kind")) call["kind"] = "group";
  call["type"] = method;
  Call(std::move(call), [this, req, method](const ReplyFrame& reply) {
    if (!reply.ok) return Fail(req, reply.code, reply.message);
    // What the answer changed is kept here at once, so it shows offline too
    // (the live event that follows finds it there already).
    std::string why;
    if (method == "conversations.create" || method == "conversations.rename" || method.starts_with("members.") ||
        method == "invitations.accept") {
      auto c = DecodeConversation(reply.data, why);
      if (!c) return Fail(req, "bad_frame", "a malformed answer to " + method + ": " + why);
      if (json_lookup::Bool(req, "encrypted") && !json_lookup::Bool(c->fields, "encrypted")) {
        // Text sent there would be read by the server: never take it as encrypted.
        return Fail(req, "bad_frame", "the server made a plain conversation where an encrypted one was asked for");
      }
      if (method == "members.leave") {
        DropConversation(c->id);
      } else {
        // The remover's own socket gets no entry for it: a new key here too.
        if (method == "members.remove" && store_->IsEncrypted(c->id)) NewOwnKey(c->id);
        store_->UpsertConversation(c->fields, "");
        if (c->members) store_->ReplaceMembers(c->id, *c->members);
      }
    } else if (method == "messages.edit" || method == "messages.delete" || method == "messages.react") {
      auto entry = DecodeEntry(reply.data, why);
      if (!entry) return Fail(req, "bad_frame", "a malformed answer to " + method + ": " + why);
      ApplyEntry(*entry, false);
    } else if (method == "users.get") {
      const Json* user = reply.data.if_object();
      if (!user || Int(*user, "user_id") <= 0 || Str(*user, "handle").empty()) {
        return Fail(req, "bad_frame", "a malformed answer to users.get");
      }
      store_->RememberUser(Int(*user, "user_id"), Str(*user, "handle"));
    }
    Json data = reply.data.is_object() ? reply.data.as_object() : Json{{"data", reply.data}};
    WithoutAppKeys(data);
    Answer(req, std::move(data));
  });
}

// ---- connection ---------------------------------------------------------------

void ClientCore::WithFreshToken(bool force, std::function<void(Token, const std::string&)> then) {
  auto exp = store_->Get("access_expires_at");
  if (!force && exp && std::stoll(*exp) - NowSeconds() > 60) return then(Token::kFresh, "");
  auto refresh = store_->Get("refresh_token");
  if (!refresh) return then(Token::kEnded, "logged out");
  after_refresh_.push_back(std::move(then));
  if (refreshing_) return;  // joins the refresh under way
  refreshing_ = true;
  uint64_t session = session_;
  HttpCall(ioc_, server_, {"POST", "/v1/auth/refresh", Json{{"refresh_token", *refresh}}, ""},
           [this, session, sent = *refresh](HttpAnswer answer) {
             refreshing_ = false;
             auto waiting = std::move(after_refresh_);
             after_refresh_.clear();
             if (session != session_ || store_->Get("refresh_token") != sent) {
               // Logged out, or in again, meanwhile: this answer belongs to a
               // session that is over. Each waiter asks again for the one there is now.
               for (auto& then : waiting) WithFreshToken(false, std::move(then));
               return;
             }
             Token result = Token::kUnreachable;
             std::string why = answer.error;
             try {
               if (answer.status == 401) {
                 // The session is over (expired, revoked or reused elsewhere): the app must log in.
                 store_->Erase("refresh_token");
                 store_->Erase("access_token");
                 Emit({{"@type", "auth_state"}, {"state", "needs_login"}});
                 result = Token::kEnded;
                 why = "the session ended; log in again";
               } else if (answer.status == 200) {
                 auto tokens = DecodeTokens(answer.body, why);
                 if (tokens) {
                   StoreTokens(*tokens);
                   result = Token::kFresh;
                 } else {
                   why = server_.Url("/v1/auth/refresh") + ": a malformed answer: " + why;
                 }
               } else if (answer.status != 0) {
                 why = server_.Url("/v1/auth/refresh") + ": HTTP " + std::to_string(answer.status);
               }
             } catch (const std::exception& e) {  // the waiters hear of it, whatever happened
               result = Token::kUnreachable;
               why = std::string("client: ") + e.what();
             }
             for (auto& then : waiting) then(result, why);
           });
}

void ClientCore::Connect() {
  if (stopping_ || ws_ || connecting_) return;
  connecting_ = true;
  uint64_t attempt = ++connect_attempt_;
  SetConnectionState("connecting");
  WithFreshToken(false, [this, attempt](Token token, const std::string& why) {
    if (attempt != connect_attempt_) return;  // abandoned meanwhile
    if (token != Token::kFresh) {
      connecting_ = false;
      if (token == Token::kEnded) return SetConnectionState("logged_out", why);
      return ScheduleReconnect(why);
    }
    OpenWebSocket(ioc_, server_, store_->Get("access_token").value_or(""), [this, attempt](WsOpened opened) {
      if (attempt != connect_attempt_ || stopping_) {
        if (opened.connection) opened.connection->Close();
        return;
      }
      OnOpened(std::move(opened));
    });
  });
}

void ClientCore::OnOpened(WsOpened opened) {
  connecting_ = false;
  if (!opened.connection) {
    if (opened.refused_status != 401) return ScheduleReconnect(opened.error);
    // The access token was refused (revoked, or the server's keys changed):
    // refresh now; if the refresh token is refused too, the app must log in.
    return WithFreshToken(
        true, [this, attempt = connect_attempt_, error = opened.error](Token token, const std::string& why) {
          if (attempt != connect_attempt_ || ws_ || connecting_) return;  // another attempt took over meanwhile
          if (token == Token::kEnded) return SetConnectionState("logged_out", why);
          ScheduleReconnect(token == Token::kFresh ? error : why);
        });
  }
  ws_ = std::move(opened.connection);
  attempt_ = 0;
  OnConnected();
}

void ClientCore::AbandonConnect() {
  ++connect_attempt_;
  connecting_ = false;
}

void ClientCore::ScheduleReconnect(const std::string& why) {
  if (stopping_) return;
  SetConnectionState("waiting", why);
  // Exponential backoff with full jitter: a fleet of phones does not return at once.
  double cap = std::min(30.0, 0.25 * (1 << std::min(attempt_, 7)));
  ++attempt_;
  std::uniform_real_distribution<double> jitter(cap / 2, cap);
  reconnect_timer_.expires_after(std::chrono::milliseconds(static_cast<int64_t>(jitter(rng_) * 1000)));
  reconnect_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) Connect();
  });
}

void ClientCore::Disconnected(const std::string& why) {
  if (ws_) {
    ws_->Close();  // its handlers still run (with an error) and see it is not ws_ any more
    ws_.reset();
  }
  ready_ = false;
  syncing_ = false;
  sync_again_ = false;
  writing_ = false;
  writes_.clear();
  sending_.clear();
  auto pending = std::move(pending_);
  pending_.clear();
  for (auto& [id, p] : pending) {
    p.deadline->cancel();
    p.reply(ReplyFrame{id, false, nullptr, "unavailable", why, nullptr});
  }
  refresh_timer_.cancel();
}

void ClientCore::OnConnected() {
  sync_restarts_ = 0;
  SetConnectionState("syncing");
  ReadNext();
  RefreshSoon();
  StartSync();
}

void ClientCore::RefreshSoon() {
  auto exp = store_->Get("access_expires_at");
  if (!exp) return;
  int64_t wait = std::clamp<int64_t>(std::stoll(*exp) - NowSeconds() - 60, 5, 86'400);
  refresh_timer_.expires_after(std::chrono::seconds(wait));
  refresh_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || !ws_) return;
    // Re-authenticate the open socket before the token lapses.
    WithFreshToken(false, [this, ws = ws_.get()](Token token, const std::string&) {
      if (ws != ws_.get()) return;  // that connection is gone; the next one starts its own timer
      if (token == Token::kFresh) {
        Call({{"type", "auth"}, {"token", store_->Get("access_token").value_or("")}}, [](const ReplyFrame&) {});
      }
      RefreshSoon();
    });
  });
}

void ClientCore::ReadNext() {
  auto* ws = ws_.get();
  ws_->Read([this, ws](const boost::system::error_code& ec, std::string text) {
    if (ws != ws_.get()) return;  // an old socket
    if (ec) {
      Disconnected("connection lost");
      return ScheduleReconnect(server_.ws_origin + "/v1/ws" + ": connection lost: " + ec.message());
    }
    last_heard_ = std::chrono::steady_clock::now();
    OnFrame(DecodeServerFrame(text));
    // The next frame is read whatever this one was: the connection goes on.
    if (ws_.get() == ws) ReadNext();
  });
}

void ClientCore::Call(Json request, ServerReply reply) {
  std::string id = "c" + std::to_string(next_id_++);
  request["id"] = id;
  auto deadline = std::make_shared<asio::steady_timer>(ioc_, server_.timeout * 3);
  AwaitAnswer(deadline, id, Str(request, "type"));
  pending_[id] = Pending{std::move(reply), std::move(deadline)};
  writes_.push_back(json::serialize(request));
  WriteNext();
}

void ClientCore::AwaitAnswer(const std::shared_ptr<asio::steady_timer>& deadline, const std::string& id,
                             const std::string& type) {
  deadline->async_wait([this, deadline, id, type, ws = ws_.get()](const boost::system::error_code& ec) {
    if (ec || ws != ws_.get() || !pending_.contains(id)) return;
    // Frames still coming (a long catch-up streams them before its answer):
    // the server is there; wait on from the last one.
    auto limit = server_.timeout * 3;
    if (std::chrono::steady_clock::now() - last_heard_ < limit) {
      deadline->expires_at(last_heard_ + limit);
      return AwaitAnswer(deadline, id, type);
    }
    // A server that takes a request and goes quiet is as good as gone: start
    // over on a new connection rather than wait for ever.
    std::string why = server_.ws_origin + "/v1/ws: no answer to '" + type + "' and nothing else within " +
                      std::to_string(limit.count()) + " ms";
    Disconnected(why);
    ScheduleReconnect(why);
  });
}

void ClientCore::WriteNext() {
  if (writing_ || writes_.empty() || !ws_) return;
  writing_ = true;
  auto* ws = ws_.get();
  ws_->Write(writes_.front(), [this, ws](const boost::system::error_code& ec) {
    if (ws != ws_.get()) return;
    writing_ = false;
    if (ec) {
      Disconnected("write failed");
      return ScheduleReconnect(server_.ws_origin + "/v1/ws" + ": write failed: " + ec.message());
    }
    writes_.pop_front();
    WriteNext();
  });
}

void ClientCore::OnFrame(const ServerFrame& frame) {
  std::visit([this](const auto& f) { On(f); }, frame);
}

void ClientCore::On(const BadFrame& f) {
  // The app is told, the frame skipped, and what it may have carried is
  // pulled again by a sync.
  Emit({{"@type", "error"},
        {"code", "bad_frame"},
        {"message", "skipped a malformed " + (f.type.empty() ? std::string("frame") : "'" + f.type + "' frame") +
                        " from the server: " + f.why}});
  if (ready_) return StartSync();
  // The catch-up itself was malformed: start over on a new connection (after
  // the reconnect backoff) rather than wait without one.
  Disconnected("malformed frame during catch-up");
  ScheduleReconnect(server_.ws_origin + "/v1/ws: a malformed frame during catch-up: " + f.why);
}

void ClientCore::On(const ReplyFrame& f) {
  auto it = pending_.find(f.id);
  if (it == pending_.end()) return;  // answers a request that was given up
  auto reply = std::move(it->second.reply);
  it->second.deadline->cancel();
  pending_.erase(it);
  reply(f);
}

void ClientCore::On(const MessageFrame& f) { ApplyEntry(f.entry, true); }

void ClientCore::On(const ReceiptFrame& f) {
  ApplyReceipt(f.conversation_id, f.user_id, f.delivered_seq, f.read_seq, true);
}

void ClientCore::On(const ConversationFrame& f) {
  // New to us: all of it (its members unless large). Known: what changed.
  int64_t id = f.conversation.id;
  if (std::find(f.members_removed.begin(), f.members_removed.end(), user_id_) != f.members_removed.end()) {
    return DropConversation(id);  // we were removed, or left
  }
  store_->UpsertConversation(f.conversation.fields, "");
  if (f.conversation.members) store_->ReplaceMembers(id, *f.conversation.members);
  Json event{{"@type", "conversation"}, {"conversation", f.conversation.fields}};
  if (f.members_changed) {
    store_->UpsertMembers(id, *f.members_changed);
    json::array changed;
    for (const auto& m : *f.members_changed) changed.push_back({{"user_id", m.user_id}, {"role", m.role}});
    event["members_changed"] = std::move(changed);
  }
  if (!f.members_removed.empty()) {
    store_->RemoveMembers(id, f.members_removed);
    event["members_removed"] = json::array(f.members_removed.begin(), f.members_removed.end());
  }
  Emit(event);
}

void ClientCore::On(const SyncConversationFrame& f) {
  if (f.removed) {
    return DropConversation(f.conversation_id);
  }
  LocalStore::Batch batch(*store_);  // a catch-up of thousands of entries is one write each frame
  store_->UpsertConversation(f.conversation.fields, f.my_role);
  // Small conversations list every member; large ones only the caller.
  if (!f.conversation.large) store_->ReplaceMembers(f.conversation_id, f.members);
  for (const auto& m : f.members) ApplyReceipt(f.conversation_id, m.user_id, m.delivered_seq, m.read_seq, false);
  for (const auto& e : f.events) ApplyEntry(e, false);
  batch.Commit();
}

void ClientCore::On(const ResyncFrame&) { StartSync(); }  // fell behind: pull what was dropped

void ClientCore::On(const NoticeFrame& f) {
  if (f.type == "devices") NoteDevices(f.fields);
  if (f.type == "keys.low" && Int(f.fields, "device_id") == device_id_) PublishMorePreKeys();
  if (f.type == "session_reset" && Int(f.fields, "to_device_id") == device_id_ && e2ee_) {
    // A device of someone could not read this one: the next message to it
    // starts a new session and gives it my sender keys again.
    DeviceRef from{Int(f.fields, "user_id"), Int(f.fields, "device_id")};
    e2ee_->EndSession(from);
    ForgetGivenKeys(from);
  }
  Json e = f.fields;
  WithoutAppKeys(e);
  e["@type"] = f.type;
  Emit(e);
}

void ClientCore::On(const UnknownFrame&) {}  // from a newer server: ignored

// ---- sync and outbox ----------------------------------------------------------

void ClientCore::StartSync() {
  // One sync at a time on a connection (the server refuses a second): one
  // asked for meanwhile (a resync notice, a bad frame) runs when this one ends.
  if (syncing_) {
    sync_again_ = true;
    return;
  }
  syncing_ = true;
  Json req{{"type", "sync"}};
  auto sent_token = store_->Get("sync_token");
  if (sent_token) req["token"] = *sent_token;
  Call(std::move(req), [this, sent_token](const ReplyFrame& reply) {
    syncing_ = false;
    if (!reply.ok && reply.code == "unavailable") return;  // the connection is gone: the next one syncs
    std::string why;
    auto answer = reply.ok ? DecodeSyncAnswer(reply.data, why) : std::nullopt;
    if (reply.ok && answer && answer->more && sent_token && answer->token == *sent_token) {
      answer.reset();  // "more", but no step forward: it would never end
      why = "more with the token it was given";
    }
    if (reply.ok && !answer) {
      ReportBadAnswer("sync", why);
      if (ready_) return SyncEnded();  // a sync a 'resync' asked for: the connection and its live events go on
      Disconnected("malformed sync answer");
      return ScheduleReconnect(server_.ws_origin + "/v1/ws: a malformed answer to sync: " + why);
    }
    // A token the server refuses, or a server that says to start over: once
    // or twice is normal; more often on one connection it is broken.
    bool start_over = (!reply.ok && reply.code == "bad_request") || (answer && answer->resync_required);
    if (!reply.ok && !start_over) {
      // Refused for now (rate limited, the server's store unavailable).
      std::string reason = server_.ws_origin + "/v1/ws: sync refused: " + reply.code + ": " + reply.message;
      if (!ready_) {  // nothing works until it is caught up: start over with the backoff
        Disconnected(reason);
        return ScheduleReconnect(reason);
      }
      auto retry = std::make_shared<asio::steady_timer>(ioc_, std::chrono::seconds(1));
      retry->async_wait([this, retry, ws = ws_.get()](const boost::system::error_code& ec) {
        if (!ec && ws == ws_.get()) StartSync();
      });
      return SyncEnded();
    }
    if (start_over) {
      if (++sync_restarts_ > 3) {
        std::string reason = server_.ws_origin + "/v1/ws: the server asked to start the sync over " +
                             std::to_string(sync_restarts_) + " times";
        Disconnected(reason);
        return ScheduleReconnect(reason);
      }
      store_->ClearSyncedState();
      return StartSync();
    }
    store_->Put("sync_token", answer->token);
    // Not all of it fit one answer: the next page, before anything else.
    if (answer->more) return StartSync();
    ready_ = true;
    SetConnectionState("ready");
    Emit({{"@type", "sync_done"}, {"conversations", answer->conversations}});
    Compact(std::nullopt);
    AckDelivered();
    // Read marks made offline, then the outbox, in order.
    for (const auto& c : store_->Conversations(user_id_)) {
      int64_t id = Int(c.as_object(), "id");
      if (auto seq = store_->Get("pending_read:" + std::to_string(id))) {
        Call({{"type", "messages.read"}, {"conversation_id", id}, {"seq", std::stoll(*seq)}},
             [this, id](const ReplyFrame& read) {
               if (read.ok || read.code == "bad_request") store_->Erase("pending_read:" + std::to_string(id));
             });
      }
    }
    // The outbox may hold encrypted sends: this session's device first.
    PublishKeys([this, ws = ws_.get()] {
      if (ws == ws_.get() && ready_) FlushOutbox();
    });
    SyncPushRegistration();
    RefreshBlocks();
    RefreshInvitations();
    SyncEnded();
  });
}

void ClientCore::SyncEnded() {
  if (!sync_again_) return;
  sync_again_ = false;
  StartSync();
}

void ClientCore::FlushOutbox() {
  for (const auto& e : store_->PendingOutbox()) SendFromOutbox(e);
}

void ClientCore::SendFromOutbox(const OutboxEntry& e) {
  // Its files go first (client_uploads.cc), which sends it once they are up.
  bool uploaded = std::all_of(e.files.begin(), e.files.end(), [](const OutboxFile& f) { return f.ready; });
  if (!uploaded) return UploadFiles(e);
  if (!sending_.insert(e.client_msg_id).second) return;  // already on the wire
  bool sealed = store_->IsEncrypted(e.conversation_id);
  Json req{{"type", "messages.send"}, {"conversation_id", e.conversation_id}, {"client_msg_id", e.client_msg_id}};
  if (!sealed) req["text"] = e.text;
  if (e.reply_to) req["reply_to"] = *e.reply_to;
  if (!e.files.empty()) {
    boost::json::array attachments;
    for (const auto& f : e.files) {
      if (f.thumb_of >= 0) continue;  // named with its video
      Json a{{"id", f.media_id}, {"caption", f.caption}};
      for (const auto& thumb : e.files) {
        if (thumb.thumb_of == f.index) a["thumb"] = thumb.media_id;
      }
      attachments.push_back(std::move(a));
    }
    req["attachments"] = std::move(attachments);
  }
  auto answered = [this, e, sealed](const ReplyFrame& reply) {
    sending_.erase(e.client_msg_id);
    std::string why;
    auto ack = reply.ok ? DecodeEntry(reply.data, why) : std::nullopt;
    if (ack && (ack->conversation_id != e.conversation_id || ack->client_msg_id != e.client_msg_id)) {
      ack.reset();  // the answer to another request: this message is not known to be stored
      why = "the entry is not the message sent (" + e.client_msg_id + ")";
    }
    if (reply.ok && !ack) ReportBadAnswer("messages.send", why);  // retried: the id makes it one message
    if (!ack) {
      std::string code = reply.ok ? "bad_frame" : reply.code;
      if (!Permanent(code)) {
        // Stays pending. A lost connection retries it after the next sync;
        // anything else (rate limited, a busy server) retries in a moment.
        if (code == "unavailable" && !ready_) return;
        return RetryLater(e.client_msg_id, [this, id = e.client_msg_id] {
          auto current = store_->FindOutbox(id);
          if (current && current->state == "pending") SendFromOutbox(*current);
        });
      }
      // An upload that expired after it was ready (the phone was away for
      // longer than the server keeps unattached uploads): each file's upload
      // is looked at again, and one the server forgot goes up anew. Once.
      if (code == "not_found" && !e.files.empty() && rechecked_.insert(e.client_msg_id).second) {
        store_->MarkFilesUnready(e.client_msg_id);
        auto current = store_->FindOutbox(e.client_msg_id);
        if (current) return UploadFiles(*current);
      }
      retries_.erase(e.client_msg_id);
      rechecked_.erase(e.client_msg_id);
      DropSealedFiles(e);
      store_->MarkFailed(e.client_msg_id, reply.message);
      return Emit({{"@type", "message_state"},
                   {"conversation_id", e.conversation_id},
                   {"client_msg_id", e.client_msg_id},
                   {"state", "failed"},
                   {"code", code},
                   {"reason", reply.message}});
    }
    retries_.erase(e.client_msg_id);
    rechecked_.erase(e.client_msg_id);
    DropSealedFiles(e);
    store_->MarkSent(e.client_msg_id, ack->seq);  // (its files' keys go from the outbox: kept in the entry)
    if (sealed) {
      ApplyOpened(OwnSealed(*ack, e), false, false);
    } else {
      ApplyEntry(*ack, false);
    }
    reported_state_[e.conversation_id][ack->seq] = "sent";
    Emit({{"@type", "message_state"},
          {"conversation_id", e.conversation_id},
          {"client_msg_id", e.client_msg_id},
          {"seq", ack->seq},
          {"state", "sent"}});
    UpdateOutgoingStates(e.conversation_id);
  };
  if (!sealed) return Call(std::move(req), std::move(answered));
  // The files' keys go inside the message; the uploads are only named.
  if (req.contains("attachments")) {
    json::array ids;
    for (const auto& f : e.files) ids.push_back(Json{{"id", f.media_id}});
    req["attachments"] = std::move(ids);
  }
  SealedCall(std::move(req),
             SealContent({e.text, SealedAttachments(e)}, {e.conversation_id, "message", std::nullopt, e.reply_to}),
             std::move(answered));
}

std::chrono::milliseconds ClientCore::RetryDelay(const std::string& id) {
  int tries = retries_[id]++;
  int64_t cap = std::min<int64_t>(30000, int64_t{1000} << std::min(tries, 5));
  std::uniform_int_distribution<int64_t> jitter(cap / 2, cap);
  return std::chrono::milliseconds(jitter(rng_));
}

void ClientCore::RetryLater(const std::string& id, std::function<void()> then) {
  auto timer = std::make_shared<asio::steady_timer>(ioc_, RetryDelay(id));
  timer->async_wait([this, timer, then = std::move(then)](const boost::system::error_code& ec) {
    if (!ec && ready_) then();
  });
}

void ClientCore::ApplyOpened(const Entry& entry, bool live, bool from_history) {
  // Who left an encrypted group must not read what comes next: my key for
  // it is new (once, when the entry first arrives: live, in a catch-up, or
  // in a history page that fills a catch-up's gap).
  if ((entry.kind == "member_left" || entry.kind == "member_removed") && store_->IsEncrypted(entry.conversation_id) &&
      !store_->HasEntry(entry.conversation_id, entry.seq)) {
    NewOwnKey(entry.conversation_id);
    int64_t gone = entry.kind == "member_left" ? entry.sender_id : Int(entry.fields, "target_user");
    also_addressed_[entry.conversation_id].erase(gone);
  }
  store_->ApplyEntry(entry.fields);
  // New entries push old ones out (retention); a history page the app asked
  // for stays until the next compaction.
  int64_t every = options_.keep_messages > 0 ? std::max<int64_t>(options_.keep_messages / 10, 10) : 100;
  if (!from_history && (options_.keep_messages > 0 || options_.keep_days > 0) &&
      ++since_compaction_[entry.conversation_id] >= every) {
    since_compaction_[entry.conversation_id] = 0;
    Compact(entry.conversation_id);
  }
  // A message moved its sender's watermarks to it (who writes has read what
  // came before; the server sends no receipt for that, protocol 5.12): my own
  // unread agrees with the server's, and my messages before another
  // member's answer show as read.
  if (entry.kind == "message") {
    store_->SetReceipt(entry.conversation_id, entry.sender_id, entry.seq, entry.seq);
    // (A catch-up brings the members' watermarks themselves and updates the
    // states from those.)
    if (entry.sender_id != user_id_ && live) UpdateOutgoingStates(entry.conversation_id);
  }
  // My own message arriving by sync (sent from another device or before a
  // crash lost the ack) settles its outbox entry.
  if (entry.sender_id == user_id_ && !entry.client_msg_id.empty()) {
    auto out = store_->FindOutbox(entry.client_msg_id);
    if (out && out->state == "pending") {
      store_->MarkSent(entry.client_msg_id, entry.seq);
      Emit({{"@type", "message_state"},
            {"conversation_id", entry.conversation_id},
            {"client_msg_id", entry.client_msg_id},
            {"seq", entry.seq},
            {"state", "sent"}});
    }
  }
  if (entry.sender_id != user_id_ && entry.kind == "message") {
    auto& seq = to_ack_[entry.conversation_id];
    seq = std::max(seq, entry.seq);
    if (live && ready_) AckDelivered();
  }
  Json fields = entry.fields;
  FlagBlocked(fields);
  Emit({{"@type", "new_entry"}, {"live", live}, {"entry", std::move(fields)}});
}

void ClientCore::ReportBadAnswer(const std::string& method, const std::string& why) {
  Emit({{"@type", "error"},
        {"code", "bad_frame"},
        {"message", "skipped a malformed answer to " + method + " from the server: " + why}});
}

void ClientCore::AckDelivered() {
  for (const auto& [conv, seq] : to_ack_) {
    Call({{"type", "messages.delivered"}, {"conversation_id", conv}, {"seq", seq}}, [](const ReplyFrame&) {});
  }
  to_ack_.clear();
}

void ClientCore::ApplyReceipt(int64_t conversation_id, int64_t user_id, int64_t delivered, int64_t read, bool live) {
  store_->SetReceipt(conversation_id, user_id, delivered, read);
  if (live) {
    Emit({{"@type", "receipt"},
          {"conversation_id", conversation_id},
          {"user_id", user_id},
          {"delivered_seq", delivered},
          {"read_seq", read}});
  }
  if (user_id != user_id_) UpdateOutgoingStates(conversation_id);
}

void ClientCore::UpdateOutgoingStates(int64_t conversation_id) {
  auto [delivered, read] = store_->OthersWatermarks(conversation_id, user_id_);
  // Rebuilt from what is sent and still kept, so it forgets what retention dropped.
  auto& told_before = reported_state_[conversation_id];
  std::map<int64_t, std::string> told_now;
  for (const auto& e : store_->SentIn(conversation_id)) {
    std::string state = e.seq <= read ? "read" : e.seq <= delivered ? "delivered" : "sent";
    told_now[e.seq] = state;
    auto it = told_before.find(e.seq);
    if (it != told_before.end() && it->second == state) continue;
    Emit({{"@type", "message_state"},
          {"conversation_id", conversation_id},
          {"client_msg_id", e.client_msg_id},
          {"seq", e.seq},
          {"state", state}});
  }
  told_before = std::move(told_now);
}

void ClientCore::Compact(std::optional<int64_t> conversation_id) {
  int64_t cutoff = 0;
  if (options_.keep_days > 0) {
    auto now =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
    cutoff = now.count() - options_.keep_days * 86'400'000;
  }
  store_->Compact(options_.keep_messages, cutoff, conversation_id);
  PruneMediaCache(false);
}

void ClientCore::SetConnectionState(const std::string& state, const std::string& reason) {
  if (state == connection_state_ && reason.empty()) return;
  connection_state_ = state;
  Json event{{"@type", "connection_state"}, {"state", state}};
  if (!reason.empty()) event["reason"] = reason;
  Emit(event);
}

}  // namespace natter::client
