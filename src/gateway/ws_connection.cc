#include "gateway/ws_connection.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <cstring>

#include "api/envelope.h"
#include "api/json_views.h"
#include "api/method_table.h"
#include "common/guarded.h"
#include "common/request_id.h"
#include "gateway/ws/frame_writer.h"
#include "ops/log_event.h"
#include "presence/presence_service.h"
#include "push/device_liveness.h"

namespace natter::gateway {

namespace json = boost::json;

namespace {

std::atomic<uint64_t> next_connection_id{1};

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::shared_ptr<const std::string> TextFrame(const json::object& object) {
  return std::make_shared<const std::string>(ws::EncodeFrame(ws::Opcode::kText, json::serialize(object)));
}

// The notice a connection that falls behind gets: one frame for all.
const std::shared_ptr<const std::string>& SlowConsumerNotice() {
  static const auto frame = TextFrame({{"type", "resync"}, {"reason", "slow_consumer"}});
  return frame;
}

constexpr size_t kMaxFramesPerWrite = 64;
constexpr size_t kFirstQueueCapacity = 8;
// Queued frames a presence change looks through for an older one of its user.
constexpr size_t kMaxPresenceSearch = 128;
// What one write hands the kernel (or one larger frame): when the connection
// ends, the rest of the write in flight must fit beside the last frames
// (socket_buffers.h).
constexpr size_t kMaxBytesPerWrite = 64 * 1024;
constexpr int64_t kCloseLingerMs = 3000;
// Publishing follows a commit by far less than this.
constexpr int64_t kCoveredKeepMs = 10000;
// How long a later seq waits for an earlier one (checked each tick: up to
// twice this), and how many may wait per conversation.
constexpr int64_t kHoldMs = 1000;
constexpr size_t kMaxWaitingEvents = 256;

}  // namespace

WsConnection::WsConnection(const ConnectionDeps& deps, Worker& worker, std::unique_ptr<Transport> transport,
                           bool deflate, std::string leftover, std::optional<auth::AccessClaims> claims,
                           std::string address, std::string handshake)
    : deps_(deps),
      worker_(worker),
      transport_(std::move(transport)),
      id_(next_connection_id.fetch_add(1)),
      reader_(ws::ReaderLimits{deps.options.max_frame_bytes}, deflate),
      opening_(std::make_unique<Opening>(Opening{std::move(leftover), std::move(handshake), std::move(claims)})),
      bucket_(deps.options.requests_per_second, deps.options.request_burst),
      typing_bucket_(deps.options.typing_per_second, deps.options.typing_burst) {
  caller_.connection = id_;
  caller_.executor = &worker_.executor();
  caller_.address = std::move(address);
  opened_ms_ = last_heard_ms_ = deps_.clock.SteadyMs();
  deps_.metrics.connections.fetch_add(1, std::memory_order_relaxed);
  deps_.metrics.connections_total.fetch_add(1, std::memory_order_relaxed);
}

WsConnection::~WsConnection() {
  deps_.metrics.connections.fetch_sub(1, std::memory_order_relaxed);
  if (caller_.user != 0) deps_.metrics.connections_authenticated.fetch_sub(1, std::memory_order_relaxed);
}

void WsConnection::Start() {
  ops::LogEvent(spdlog::level::info, "ws_open",
                ops::LogFields().Int("connection", static_cast<int64_t>(id_)).Str("address", caller_.address));
  worker_.Attach(this);
  // The 101 first, then registration, in one turn of this worker: events are
  // handed over on this thread too, so none falls between the two.
  std::unique_ptr<Opening> opening = std::move(opening_);
  if (!opening->handshake.empty()) Queue(std::make_shared<const std::string>(std::move(opening->handshake)), false);
  // Authenticated by the upgrade's header: owned by a shared_ptr only now.
  if (opening->claims) Authenticated(*opening->claims);
  if (!opening->leftover.empty()) Consume(opening->leftover);
  // Even when those bytes ended in a close, keep reading: the peer's EOF (or
  // the linger timeout) is what tears the connection down.
  if (!closed_ && !paused_) ReadMore();
}

void WsConnection::FollowRateReload() {
  uint64_t generation = deps_.limiter.generation();
  if (generation == rates_generation_) return;
  rates_generation_ = generation;
  auto rates = deps_.limiter.connection_rates();
  bucket_.SetRate(rates.requests_per_second, rates.request_burst);
  typing_bucket_.SetRate(rates.typing_per_second, rates.typing_burst);
}

void WsConnection::ReadMore() {
  transport_->ReadSome([self = shared_from_this()](const boost::system::error_code& ec, std::string_view data) {
    self->OnRead(ec, data);
  });
}

void WsConnection::OnRead(const boost::system::error_code& ec, std::string_view data) {
  if (ec || closed_) return Teardown();  // peer closed, reset, or we closed
  bytes_in_ += data.size();
  last_heard_ms_ = deps_.clock.SteadyMs();
  pinged_ = false;
  // After our close frame, what the peer sends is read and dropped until it
  // closes its side: closing first with unread input would reset the
  // connection and could destroy our close frame in the peer's buffer.
  if (!closing_) Consume(data);
  if (!closed_ && !paused_) ReadMore();
}

bool WsConnection::Consume(std::string_view input) {
  ws::InboundMessage message;
  while (!closed_ && !closing_) {
    if (OverBound()) {
      // The client sends faster than it reads its answers (or than they are
      // made): the rest waits here, the socket is not read, and TCP makes the
      // client wait. Never more than one read's worth is kept.
      paused_ = true;
      stashed_.assign(input);
      return true;
    }
    switch (reader_.Next(input, message)) {
      case ws::MessageReader::State::kNeedMore:
        return true;
      case ws::MessageReader::State::kError:
        Close(reader_.close_code(), reader_.reason());
        return false;
      case ws::MessageReader::State::kMessage:
        if (!HandleFrame(message)) return false;
        break;
    }
  }
  return false;
}

bool WsConnection::HandleFrame(ws::InboundMessage& message) {
  switch (message.opcode) {
    case ws::Opcode::kText:
      if (closing_) return true;  // after our close frame, data is ignored
      HandleText(message.payload);
      return !closed_;
    case ws::Opcode::kBinary:
      Close(ws::close_code::kUnsupportedData, "binary frames are not part of the protocol; send JSON text");
      return false;
    case ws::Opcode::kPing:
      if (!closing_)
        Queue(std::make_shared<const std::string>(ws::EncodeFrame(ws::Opcode::kPong, message.payload)), false);
      return true;
    case ws::Opcode::kPong:
      return true;
    case ws::Opcode::kClose: {
      // Echo the peer's code (RFC 6455 5.5.1), then end.
      uint16_t code = ws::close_code::kNormal;
      if (message.payload.size() >= 2) {
        code = static_cast<uint16_t>((static_cast<uint8_t>(message.payload[0]) << 8) |
                                     static_cast<uint8_t>(message.payload[1]));
      }
      closed_by_peer_ = true;
      Close(code, "");
      return false;
    }
    default:
      Close(ws::close_code::kProtocolError, "unexpected frame");
      return false;
  }
}

void WsConnection::HandleText(std::string_view text) {
  json::value rid;
  auto envelope = api::ParseEnvelope(text, rid);
  if (!envelope.ok()) {
    SendError(rid, envelope.error());
    return;
  }
  json::value& parsed = envelope->request;
  const json::object& request = parsed.get_object();
  const api::Method* method = api::FindMethod(envelope->type);
  int64_t now_us = NowUs();
  FollowRateReload();
  if (!bucket_.TryTake(now_us)) {
    deps_.metrics.CountRateLimited(ops::RateLimit::kConnection);
    SendError(rid, RateLimited("too many requests on this connection; slow down"));
    return;
  }
  // Before `auth`, what a connection asks (a login, a registration) is paid
  // for by its address too, as over HTTP: reconnecting gains nothing.
  // (Requests that wait for an `auth` being checked are served as its user.)
  bool authenticates = method && method->on_socket == api::OnSocket::kAuthenticate;
  if (caller_.user == 0 && !authenticates && !authenticating_ &&
      !deps_.limiter.TakeAnonymous(caller_.address, now_us)) {
    deps_.metrics.CountRateLimited(ops::RateLimit::kAddress);
    SendError(rid, RateLimited("too many requests from this address; slow down"));
    return;
  }
  if (authenticating_ || !interest_ready_) {
    // Served once the token's session is checked (requests after an `auth`
    // frame are served as its user), and once the node receives the user's
    // events (an answer then means nothing sent to the user from now on can
    // miss this socket).
    if (waiting_.size() >= kMaxWaitingRequests) {
      SendError(rid, RateLimited("too many requests before the connection is ready; slow down"));
      return;
    }
    waiting_.push_back(std::move(parsed));
    return;
  }
  if (method && method->on_socket == api::OnSocket::kAuthenticate) return HandleAuth(request, rid);
  Serve(method, request, rid);
}

bool WsConnection::OverBound() const {
  return queued_bytes_ >= deps_.options.send_queue_bytes || requests_in_flight_ >= kMaxRequestsInFlight;
}

bool WsConnection::Stalled() const { return behind_ || (paused_ && queued_bytes_ >= deps_.options.send_queue_bytes); }

void WsConnection::ResumeReading() {
  if (!paused_ || closed_ || OverBound()) return;
  paused_ = false;
  std::string stashed = std::move(stashed_);
  stashed_ = std::string();
  if (!closing_ && !stashed.empty()) Consume(stashed);
  if (!closed_ && !paused_) ReadMore();
}

void WsConnection::ServeWaiting() {
  while (!waiting_.empty() && interest_ready_ && !authenticating_ && !closed_ && !closing_) {
    json::value request = std::move(waiting_.front());
    waiting_.erase(waiting_.begin());
    if (waiting_.empty()) std::vector<json::value>().swap(waiting_);
    const json::object& o = request.get_object();
    const json::value* id = o.if_contains("id");
    json::value rid = id ? *id : json::value(nullptr);
    const api::Method* method = api::FindMethod(o.at("type").get_string());
    if (method && method->on_socket == api::OnSocket::kAuthenticate) {
      HandleAuth(o, rid);
    } else {
      Serve(method, o, rid);
    }
  }
}

void WsConnection::Serve(const api::Method* method, const json::object& request, const json::value& rid) {
  std::string_view name = request.at("type").get_string();
  if (caller_.user == 0 && (!method || method->access != api::Access::kPublic)) {
    SendError(rid, Unauthorized("authenticate first: send {\"type\":\"auth\",\"token\":...}"));
    return;
  }
  if (!method) {
    SendError(rid, BadRequest("unknown method '" + std::string(name) + "'"));
    return;
  }
  // Operators' methods are audited HTTP calls under their own prefix, away
  // from the chat socket.
  if (method->access == api::Access::kModerator || method->access == api::Access::kAdmin) {
    SendError(rid, BadRequest("'" + std::string(name) + "' is served over HTTP only, under /admin/v1"));
    return;
  }
  // Typing is ephemeral and frequent: besides the request budget it has a
  // tighter limit of its own; over it, the notice is dropped with an answer.
  if (method->rate == api::RateClass::kTyping && !typing_bucket_.TryTake(NowUs())) {
    deps_.metrics.CountRateLimited(ops::RateLimit::kTyping);
    SendError(rid, RateLimited("typing notices are limited; send one every few seconds"));
    return;
  }
  if (method->on_socket == api::OnSocket::kHoldEvents) return HandleSync(*method, request, rid);
  // A typing notice without an id wants no answer.
  bool answer = !(method->rate == api::RateClass::kTyping && rid.is_null());
  auto self = shared_from_this();
  auto& ioc = worker_.context();
  ++requests_in_flight_;
  caller_.request_id = NewRequestId();
  ScopedRequestId scope(caller_.request_id);
  deps_.dispatcher.Call(*method, caller_, request,
                        [self, &ioc, answer, rid = json::value(rid)](Result<json::value> result) mutable {
                          auto deliver = [self, answer, rid = std::move(rid), result = std::move(result)]() mutable {
                            --self->requests_in_flight_;
                            if (self->closed_ || self->closing_) return;
                            if (answer) {
                              if (result.ok())
                                self->SendResult(rid, std::move(*result));
                              else
                                self->SendError(rid, result.error());
                            }
                            self->ResumeReading();
                          };
                          // Answered at once (ping, a bad field): in order with
                          // what this read goes on to answer. From a store
                          // thread: posted to the connection's worker.
                          if (ioc.get_executor().running_in_this_thread()) return deliver();
                          boost::asio::post(ioc, std::move(deliver));
                        });
}

void WsConnection::HandleAuth(const json::object& request, const json::value& request_id) {
  const json::value* token = request.if_contains("token");
  if (!token || !token->is_string()) {
    SendError(request_id, BadRequest("field 'token' is required and must be a string"));
    return;
  }
  // The session is checked in the store unless this node knows it: requests
  // that come meanwhile wait (HandleText), so they are served as its user.
  authenticating_ = true;
  auto self = shared_from_this();
  deps_.accounts.AuthenticateSession(worker_.executor(), token->get_string(),
                                     [self, rid = json::value(request_id)](Result<auth::AccessClaims> claims) {
                                       self->FinishAuth(rid, std::move(claims));
                                     });
}

void WsConnection::FinishAuth(const json::value& request_id, Result<auth::AccessClaims> claims) {
  authenticating_ = false;
  if (closed_ || closing_) return;
  if (!claims.ok()) {
    SendError(request_id, claims.error());
    // Storage that cannot answer now says nothing about the token: the client
    // may send the same `auth` again (the auth timeout still applies).
    if (caller_.user == 0 && claims.error().code != ErrorCode::kUnavailable) {
      if (claims.error().code == ErrorCode::kUnauthorized) {  // forged, revoked, another server's: not expiry
        ops::LogEvent(spdlog::level::warn, "ws_auth_refused",
                      ops::LogFields()
                          .Int("connection", static_cast<int64_t>(id_))
                          .Str("address", caller_.address)
                          .Str("reason", claims.error().message));
      }
      Close(claims.error().code == ErrorCode::kTokenExpired ? ws::close_code::kTokenExpired
                                                            : ws::close_code::kUnauthorized,
            claims.error().message);
      return;
    }
    return ServeWaiting();
  }
  if (caller_.user != 0 && caller_.user != claims->user_id) {
    SendError(request_id, Forbidden("a connection cannot change user; open a new one"));
    return ServeWaiting();
  }
  Authenticated(*claims);
  json::value answer = json::object{
      {"user_id", claims->user_id}, {"expires_at", claims->expires_at}, {"node_id", deps_.options.node_id}};
  if (!interest_ready_) {
    pending_auth_ = std::make_unique<std::pair<json::value, json::value>>(request_id, std::move(answer));
    return;
  }
  SendResult(request_id, std::move(answer));
  ServeWaiting();
}

void WsConnection::InterestReady() {
  interest_ready_ = true;
  if (closed_ || closing_) return;
  if (pending_auth_) {
    auto [rid, answer] = std::move(*pending_auth_);
    pending_auth_ = nullptr;
    SendResult(rid, std::move(answer));
  }
  ServeWaiting();
}

void WsConnection::Authenticated(const auth::AccessClaims& claims) {
  if (caller_.user == 0) {
    caller_.user = claims.user_id;
    deps_.metrics.connections_authenticated.fetch_add(1, std::memory_order_relaxed);
    ops::LogEvent(spdlog::level::info, "ws_auth",
                  ops::LogFields()
                      .Int("connection", static_cast<int64_t>(id_))
                      .Int("user", claims.user_id)
                      .Int("session", claims.session_id));
    liveness_session_ = claims.session_id;
    worker_.AddConnection(caller_.user, this);
    if (deps_.liveness) deps_.liveness->Connected(liveness_session_, caller_.connection);
    if (deps_.presence) {
      interest_ready_ = false;
      auto self = shared_from_this();
      auto& ioc = worker_.context();
      deps_.presence->Connected(caller_.user,
                                [self, &ioc] { boost::asio::post(ioc, [self] { self->InterestReady(); }); });
    }
  }
  caller_.session = claims.session_id;
  token_expires_at_ = claims.expires_at;
}

void WsConnection::SendResult(const json::value& request_id, json::value data) {
  SendJson({{"type", "result"}, {"id", request_id}, {"data", std::move(data)}});
}

void WsConnection::SendError(const json::value& request_id, const Error& error) {
  deps_.metrics.errors_sent.fetch_add(1, std::memory_order_relaxed);
  json::object frame{{"type", "error"}, {"id", request_id}};
  for (auto& [key, value] : api::ErrorJson(error)) frame[key] = std::move(value);
  SendJson(frame);
}

void WsConnection::SendJson(const json::object& object) { Queue(TextFrame(object), false); }

void WsConnection::HandleSync(const api::Method& method, const json::object& request, const json::value& request_id) {
  if (syncing_) {
    SendError(request_id, Conflict("a sync is already running on this connection"));
    return;
  }
  auto params = api::SyncParams::Parse(request);
  if (!params.ok()) {
    SendError(request_id, params.error());
    return;
  }
  // From here until the catch-up is written, live events are held, so none is
  // lost between the snapshot and the live stream, and none is sent twice.
  syncing_ = true;
  auto self = shared_from_this();
  auto& ioc = worker_.context();
  // Answered once, whatever happens (a handler that throws is answered here).
  auto answered = std::make_shared<std::atomic<bool>>(false);
  caller_.request_id = NewRequestId();
  ScopedRequestId scope(caller_.request_id);
  auto started = std::chrono::steady_clock::now();
  auto index = static_cast<size_t>(&method - api::Methods().data());
  // It may run on another thread: what it logs is copied now.
  auto finish = [self, &ioc, answered, rid = json::value(request_id), started, index,
                 caller = caller_](Result<api::CatchUpAnswer> result) {
    if (answered->exchange(true)) return;
    // Counted and logged as the dispatcher does every other method.
    std::optional<ErrorCode> error;
    if (!result.ok()) error = result.error().code;
    int64_t took_us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count();
    self->deps_.metrics.requests.Record(index, error, took_us);
    if (ops::LogEnabled(spdlog::level::debug)) {
      ScopedRequestId scope(caller.request_id);
      ops::LogEvent(spdlog::level::debug, "request",
                    ops::LogFields()
                        .Str("method", "sync")
                        .Str("code", error ? ErrorCodeName(*error) : "ok")
                        .Int("duration_us", took_us)
                        .Int("user", caller.user)
                        .Int("connection", static_cast<int64_t>(caller.connection)));
    }
    boost::asio::post(ioc,
                      [self, rid, result = std::move(result)]() mutable { self->FinishSync(rid, std::move(result)); });
  };
  if (!RunCatching("sync", [&] { deps_.dispatcher.CatchUp(caller_, *params, finish); })) {
    finish(Internal("internal error"));
  }
}

void WsConnection::FinishSync(const json::value& request_id, Result<api::CatchUpAnswer> result) {
  syncing_ = false;
  std::vector<HeldEvent> held = std::move(held_);
  held_ = {};
  held_bytes_ = 0;
  bool overflowed = held_overflowed_;
  held_overflowed_ = false;
  if (closed_ || closing_) return;
  if (!result.ok()) {
    SendError(request_id, result.error());
    if (overflowed) return FallBehind();
    for (auto& h : held) QueueEvent(h.event);
    return;
  }
  // One frame per changed conversation, then the answer with the new token.
  result->answer["conversations"] = result->conversations.size();
  for (auto& c : result->conversations) {
    SendJson({{"type", "sync.conversation"}, {"id", request_id}, {"data", std::move(c)}});
  }
  SendResult(request_id, std::move(result->answer));
  std::unordered_map<ConversationId, Seq> covered(result->covered.begin(), result->covered.end());
  // An event committed before the snapshot may still be on its way here (the
  // store publishes after it commits): keep what the catch-up covered for a
  // little while and drop such late copies too.
  covered_ = std::make_unique<Covered>(Covered{std::move(covered), deps_.clock.SteadyMs()});
  if (overflowed) return FallBehind();  // events were dropped while it ran: pull again
  // Live events go on in seq order from what the catch-up held.
  for (const auto& [conversation, seq] : covered_->last_seq) {
    sent_seq_[conversation].from = 0;  // everything up to `seq` was in the catch-up
    Advance(conversation, seq);
    if (behind_) return;
  }
  for (auto& h : held) QueueEvent(h.event);
}

bool WsConnection::AlreadyCaughtUp(const EventFrame& event) const {
  if (!covered_ || event.seq == 0) return false;
  auto it = covered_->last_seq.find(event.conversation_id);
  return it != covered_->last_seq.end() && event.seq <= it->second;
}

void WsConnection::EnqueueEvent(const EventFrame& event) {
  if (closing_ || closed_) return;
  if (event.own && event.seq == 0) return;  // the sender has its answer
  if (behind_) {                            // told to pull; nothing more until the notice is out
    if (!event.own) deps_.metrics.deliveries_dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (syncing_) {
    if (held_overflowed_) return;
    if (!event.own) held_bytes_ += event.payload->size();
    if (held_bytes_ > deps_.options.send_queue_bytes) {
      // Too much arrived during the catch-up: this client pulls instead, told
      // once the catch-up is written (a notice now would ask for a second sync
      // while this one runs).
      held_.clear();
      held_overflowed_ = true;
      return;
    }
    held_.push_back({event});
    return;
  }
  QueueEvent(event);
}

void WsConnection::QueueEvent(const EventFrame& event) {
  if (AlreadyCaughtUp(event)) return;
  if (behind_) {
    if (!event.own) deps_.metrics.deliveries_dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (event.seq == 0) {  // receipts, typing, conversation changes
    if (event.joins) {
      // Joined (again): whatever seq this socket saw there before is no guide.
      sent_seq_.erase(event.conversation_id);
      waiting_seq_.erase(event.conversation_id);
    }
    return SendEvent(event);
  }
  QueueInSeqOrder(event);
}

void WsConnection::QueueInSeqOrder(const EventFrame& event) {
  // The first event of a conversation this socket sees sets where it is.
  auto [it, first] = sent_seq_.try_emplace(event.conversation_id, SeqOrder{event.seq - 1, event.seq});
  SeqOrder& order = it->second;
  if (event.seq <= order.sent) {
    // Sent already, or given up on: the sync brings it. But one from before
    // the first this socket saw here came too late to go in order: rather
    // than drop it unsaid, the client is told to sync.
    if (event.seq < order.from && !event.own) {
      order.from = 0;
      SendJson({{"type", "resync"}, {"reason", "events_lost"}});
    }
    return;
  }
  if (event.seq > order.sent + 1) {
    Waiting& w = waiting_seq_[event.conversation_id];
    if (w.events.empty()) w.since_ms = deps_.clock.SteadyMs();
    w.events.emplace(event.seq, event);
    if (w.events.size() > kMaxWaitingEvents) GiveUpWaiting(INT64_MAX);
    return;
  }
  // In order (nearly always): one lookup, and nothing waits unless some seq did.
  order.sent = event.seq;
  if (!event.own) SendEvent(event);
  if (!behind_ && !waiting_seq_.empty()) Advance(event.conversation_id, event.seq);
}

void WsConnection::Advance(ConversationId conversation, Seq seq) {
  Seq sent = std::max(sent_seq_[conversation].sent, seq);
  sent_seq_[conversation].sent = sent;
  for (;;) {
    auto it = waiting_seq_.find(conversation);
    if (it == waiting_seq_.end()) return;
    auto& events = it->second.events;
    while (!events.empty() && events.begin()->first <= sent) events.erase(events.begin());
    if (events.empty()) {
      waiting_seq_.erase(it);
      return;
    }
    if (events.begin()->first > sent + 1) return;  // still waiting for an earlier one
    EventFrame next = std::move(events.begin()->second);
    events.erase(events.begin());
    sent = next.seq;
    sent_seq_[conversation].sent = sent;
    // Sending may make the connection fall behind, which forgets the order:
    // look everything up again.
    if (!next.own) SendEvent(next);
    if (behind_ || closing_) return;
  }
}

void WsConnection::GiveUpWaiting(int64_t now_ms) {
  bool gave_up = false;
  for (auto it = waiting_seq_.begin(); it != waiting_seq_.end();) {
    if (now_ms - it->second.since_ms <= kHoldMs && it->second.events.size() <= kMaxWaitingEvents) {
      ++it;
      continue;
    }
    // What waited goes; later seqs follow on from the newest of it.
    sent_seq_[it->first].sent = it->second.events.rbegin()->first;
    deps_.metrics.deliveries_dropped.fetch_add(it->second.events.size(), std::memory_order_relaxed);
    it = waiting_seq_.erase(it);
    gave_up = true;
  }
  // (Not TellToResync: the order goes on from what was given up.)
  if (gave_up) SendJson({{"type", "resync"}, {"reason", "events_lost"}});
}

void WsConnection::ForgetSeqOrder() {
  sent_seq_.clear();
  waiting_seq_.clear();
}

void WsConnection::SendEvent(const EventFrame& event) {
  Outgoing out;
  out.droppable = true;
  if (event.pts == 0) {
    out.body = event.frame;
    out.body_len = static_cast<uint32_t>(event.frame->size());
  } else {
    // {...} becomes {...,"pts":N}: the shared payload minus its closing brace,
    // this recipient's tail, and a header sized for both.
    auto tail = fmt::format_to_n(out.tail.data(), out.tail.size(), ",\"pts\":{}}}", event.pts);
    out.tail_len = static_cast<uint8_t>(tail.size);
    out.body = event.payload;
    out.body_len = static_cast<uint32_t>(event.payload->size() - 1);
    out.head_len = static_cast<uint8_t>(
        ws::EncodeFrameHeader(ws::Opcode::kText, out.body_len + out.tail_len, false, out.head.data()));
  }
  out.presence_of = event.presence_of;
  if (out.presence_of != 0 && ReplaceWaitingPresence(out)) return;
  // One event larger than the whole bound still goes out when nothing else waits.
  if (queued_bytes_ > 0 && queued_bytes_ + out.size() > deps_.options.send_queue_bytes) return FallBehind();
  deps_.metrics.messages_delivered.fetch_add(1, std::memory_order_relaxed);
  QueueOutgoing(std::move(out));
}

void WsConnection::TellToResync(const char* reason) {
  // The client syncs: the seq order starts again from what comes next.
  ForgetSeqOrder();
  SendJson({{"type", "resync"}, {"reason", reason}});
}

void WsConnection::TellToSync(const char* reason) { SendJson({{"type", "resync"}, {"reason", reason}}); }

void WsConnection::FallBehind() {
  // Too far behind: drop queued events (not answers, not what is being
  // written) and tell the client to pull what it missed by sequence number.
  size_t dropped = DropQueued(false);
  deps_.metrics.deliveries_dropped.fetch_add(dropped + 1, std::memory_order_relaxed);
  deps_.metrics.slow_consumers_told.fetch_add(1, std::memory_order_relaxed);
  behind_ = true;
  ForgetSeqOrder();
  Queue(SlowConsumerNotice(), false);
}

size_t WsConnection::DropQueued(bool answers) {
  size_t dropped = 0;
  for (size_t i = queue_.size(); i > in_flight_; --i) {
    auto& out = queue_[i - 1];
    if (!out.droppable && (!answers || out.body == SlowConsumerNotice())) continue;
    queued_bytes_ -= out.size();
    queue_.erase(queue_.begin() + static_cast<long>(i - 1));
    ++dropped;
  }
  return dropped;
}

void WsConnection::Queue(std::shared_ptr<const std::string> frame, bool droppable) {
  Outgoing out;
  out.body_len = static_cast<uint32_t>(frame->size());
  out.body = std::move(frame);
  out.droppable = droppable;
  QueueOutgoing(std::move(out));
}

void WsConnection::QueueOutgoing(Outgoing out) {
  if (closing_ || closed_) return;
  if (queue_.empty()) queue_moved_ms_ = deps_.clock.SteadyMs();
  queued_bytes_ += out.size();
  const bool may_wait = out.presence_of != 0;
  // The queue is freed whenever it empties: one allocation for a typical
  // burst, not a chain of reallocations as it grows from nothing.
  if (queue_.capacity() == 0) queue_.reserve(kFirstQueueCapacity);
  queue_.push_back(std::move(out));
  if (may_wait && !flush_scheduled_ && in_flight_ == 0) {
    // Nothing else is about to be written: the change waits for the others
    // this socket gets meanwhile (or for the next frame that cannot wait).
    if (!presence_waits_) {
      presence_waits_ = true;
      worker_.FlushSoon(this);
    }
    return;
  }
  ScheduleFlush();
}

bool WsConnection::ReplaceWaitingPresence(const Outgoing& newer) {
  // Only the latest state of a user matters to the client: the newest change
  // of the user that has not started to be written gives way to the newer
  // one, in its place (presence has no order with other events). Only the
  // last frames are searched (a slow reader's queue can be long); an older
  // change of the user further back still goes out before this one.
  const size_t stop = queue_.size() - std::min(queue_.size() - in_flight_, kMaxPresenceSearch);
  for (size_t i = queue_.size(); i > stop; --i) {
    Outgoing& older = queue_[i - 1];
    if (older.presence_of != newer.presence_of) continue;
    queued_bytes_ = queued_bytes_ - older.size() + newer.size();
    older = newer;
    return true;
  }
  return false;
}

void WsConnection::FlushWaitingPresence() {
  presence_waits_ = false;
  ScheduleFlush();
}

void WsConnection::ScheduleFlush() {
  // Frames queued in one loop turn leave in one gathered write.
  if (flush_scheduled_ || in_flight_ > 0) return;
  flush_scheduled_ = true;
  boost::asio::post(worker_.context(), [self = shared_from_this()] {
    self->flush_scheduled_ = false;
    self->Flush();
  });
}

void WsConnection::Flush() {
  if (closed_ || in_flight_ > 0 || queue_.empty()) return;
  size_t n = 0;
  for (size_t bytes = 0; n < std::min(queue_.size(), kMaxFramesPerWrite); ++n) {
    bytes += queue_[n].size();
    if (n > 0 && bytes > kMaxBytesPerWrite) break;
  }
  // Heads and tails live inside queue entries, which move when the queue
  // grows during the write; the write reads copies that stay put until it ends.
  size_t spliced = 0;
  for (size_t i = 0; i < n; ++i) spliced += queue_[i].head_len + queue_[i].tail_len;
  write_scratch_.resize(spliced);
  char* scratch = write_scratch_.data();
  std::vector<boost::asio::const_buffer> buffers;
  buffers.reserve(n * 3);
  for (size_t i = 0; i < n; ++i) {
    const Outgoing& out = queue_[i];
    if (out.head_len) {
      std::memcpy(scratch, out.head.data(), out.head_len);
      buffers.emplace_back(scratch, out.head_len);
      scratch += out.head_len;
    }
    buffers.emplace_back(out.body->data(), out.body_len);
    if (out.tail_len) {
      std::memcpy(scratch, out.tail.data(), out.tail_len);
      buffers.emplace_back(scratch, out.tail_len);
      scratch += out.tail_len;
    }
  }
  in_flight_ = n;
  transport_->Write(buffers, [self = shared_from_this()](const boost::system::error_code& ec) { self->OnWritten(ec); });
}

void WsConnection::OnWritten(const boost::system::error_code& ec) {
  if (ec || closed_) return Teardown();
  for (size_t i = 0; i < in_flight_; ++i) {
    queued_bytes_ -= queue_[i].size();
    bytes_out_ += queue_[i].size();
  }
  // Timeouts measure a peer that stopped reading, not one that reads slowly.
  int64_t now = deps_.clock.SteadyMs();
  queue_moved_ms_ = now;
  if (closing_) closing_since_ms_ = now;
  queue_.erase(queue_.begin(), queue_.begin() + static_cast<long>(in_flight_));
  in_flight_ = 0;
  if (queue_.empty()) {  // idle connections hold nothing (`= {}` would keep the capacity)
    std::vector<Outgoing>().swap(queue_);
    std::vector<char>().swap(write_scratch_);
  }
  if (behind_ && queue_.empty()) behind_ = false;  // the notice is out; events may flow again
  if (!queue_.empty()) {
    Flush();
  } else if (closing_) {
    // Our close frame is written: half-close, and let the peer finish (its
    // EOF ends us in OnRead) or the tick end it.
    transport_->ShutdownSend();
  }
  ResumeReading();
}

void WsConnection::Close(uint16_t code, std::string_view reason) {
  if (closing_ || closed_) return;
  // Queued events are dropped; answers already queued (such as the error that
  // explains this close) still go out before the close frame.
  DropQueued(false);
  uint16_t wire_code = ws::IsValidCloseCodeOnWire(code) ? code : ws::close_code::kNormal;
  close_code_ = wire_code;
  // A peer that stopped reading still gets what is queued and the close frame
  // when it reads again: it can tell why it was closed.
  transport_->MakeRoomForLastFrames();
  Queue(std::make_shared<const std::string>(ws::EncodeCloseFrame(wire_code, reason)), false);
  closing_ = true;
  closing_since_ms_ = deps_.clock.SteadyMs();
  if (in_flight_ == 0) Flush();
  if (paused_) {
    // What the peer sends from now on is read and dropped (OnRead).
    paused_ = false;
    stashed_ = std::string();
    ReadMore();
  }
}

void WsConnection::OnTick() {
  if (closed_) return;
  const int64_t now_ms = deps_.clock.SteadyMs();
  const auto& o = deps_.options;
  if (closing_) {
    if (now_ms - closing_since_ms_ > kCloseLingerMs) Teardown();  // the peer never finished the close
    return;
  }
  if (caller_.user == 0 && now_ms - opened_ms_ > o.auth_timeout_ms) {
    return Close(ws::close_code::kUnauthorized, "authentication timed out");
  }
  // An open socket lives exactly as long as its token: the client re-sends
  // `auth` with a fresh one before it expires. (The leeway token checks allow
  // is for clocks of different nodes, not for this one.)
  if (caller_.user != 0 && token_expires_at_ * 1000 < deps_.clock.NowMs()) {  // exp is wall time
    return Close(ws::close_code::kTokenExpired, "token_expired");
  }
  if (covered_ && now_ms - covered_->since_ms > kCoveredKeepMs) covered_.reset();
  if (!waiting_seq_.empty()) GiveUpWaiting(now_ms);
  if (Stalled() && now_ms - queue_moved_ms_ > o.slow_consumer_timeout_ms) {
    // It was told to pull, or its answers wait unread, and it has taken
    // nothing since: give up on it. Answers not yet being written go too (the
    // resync notice stays), so the last frames fit in what the kernel takes.
    DropQueued(true);
    deps_.metrics.slow_consumers_closed.fetch_add(1, std::memory_order_relaxed);
    return Close(ws::close_code::kSlowConsumer, "too far behind; reconnect and sync");
  }
  int64_t quiet = now_ms - last_heard_ms_;
  if (quiet > o.idle_timeout_ms) return Close(ws::close_code::kGoingAway, "idle timeout");
  if (quiet > o.idle_ping_ms && !pinged_) {
    pinged_ = true;
    Queue(std::make_shared<const std::string>(ws::EncodeFrame(ws::Opcode::kPing, "")), false);
  }
}

void WsConnection::Teardown() {
  if (closed_) return;
  closed_ = true;
  // 1006: the connection ended without a close frame (a reset, a timeout).
  ops::LogFields fields;
  fields.Int("connection", static_cast<int64_t>(id_))
      .Int("code", close_code_ ? close_code_ : 1006)
      .Str("by", !close_code_      ? "none"
                 : closed_by_peer_ ? "client"
                                   : "server")
      .Int("bytes_in", static_cast<int64_t>(bytes_in_))
      .Int("bytes_out", static_cast<int64_t>(bytes_out_))
      .Int("duration_ms", deps_.clock.SteadyMs() - opened_ms_);
  if (caller_.user != 0) fields.Int("user", caller_.user);
  ops::LogEvent(spdlog::level::info, "ws_close", fields);
  if (caller_.user != 0) {
    worker_.RemoveConnection(caller_.user, this);
    if (deps_.presence) deps_.presence->Disconnected(caller_.user);
    // The session it was first authenticated as: a re-auth keeps the session.
    if (deps_.liveness) {
      int64_t heard = deps_.clock.NowMs() - (deps_.clock.SteadyMs() - last_heard_ms_);
      deps_.liveness->Disconnected(liveness_session_, caller_.connection, heard);
    }
  }
  worker_.Detach(this);
  // Cancels the pending read and write; their handlers drop the last
  // references. Queued frames stay alive until then, as a write may point at them.
  transport_->Close();
}

}  // namespace natter::gateway
