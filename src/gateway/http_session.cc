#include "gateway/http_session.h"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/serialize.hpp>

#include "api/json_views.h"
#include "gateway/client_address.h"
#include "gateway/http_routes.h"
#include "gateway/tls_transport.h"
#include "gateway/ws/handshake.h"

namespace natter::gateway {

namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using boost::asio::ip::tcp;

namespace {

// Every X-Forwarded-For field, in order, as one list: a proxy may add its own
// field after the one a client sent, and only the proxy's part is trusted.
std::string ForwardedFor(const http::request<http::string_body>& req) {
  std::string all;
  auto range = req.equal_range("X-Forwarded-For");
  for (auto it = range.first; it != range.second; ++it) {
    if (!all.empty()) all += ", ";
    all += std::string(it->value());
  }
  return all;
}

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

bool HeaderHasToken(std::string_view value, std::string_view token) {
  // Comma-separated, case-insensitive tokens (RFC 7230 section 7).
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view part = value.substr(0, comma);
    while (!part.empty() && (part.front() == ' ' || part.front() == '\t')) part.remove_prefix(1);
    while (!part.empty() && (part.back() == ' ' || part.back() == '\t')) part.remove_suffix(1);
    if (beast::iequals(part, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

// Body bytes a request without credentials may send.
constexpr size_t kPublicBodyBytes = 16 * 1024;
// What one read may add to the buffer beyond the header.
constexpr size_t kReadAhead = 64 * 1024;

// A Transfer-Encoding of exactly "chunked" (one coding, no others before it:
// natterd decodes none).
bool IsOnlyChunked(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  return beast::iequals(value, "chunked");
}

std::string BearerToken(const Request& req) {
  auto it = req.find(http::field::authorization);
  if (it == req.end()) return {};
  std::string_view v = it->value();
  if (v.size() > 7 && beast::iequals(v.substr(0, 7), "Bearer ")) return std::string(v.substr(7));
  return {};
}

// Stream is beast::tcp_stream (plain) or TlsStream.
template <class Stream>
class HttpSession : public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  template <class... Args>
  HttpSession(const HttpDeps& deps, Worker& worker, Args&&... stream_args)
      : deps_(deps), worker_(worker), stream_(std::forward<Args>(stream_args)...) {
    boost::system::error_code ec;
    auto ep = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
    peer_ = ec ? "unknown" : ep.address().to_string();
    address_ = peer_;
  }

  void Begin() {
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      // The TLS handshake shares the HTTP timeout: a peer that never finishes it is dropped.
      Expire();
      stream_.async_handshake(boost::asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (!ec) self->Read();
                              });
    } else {
      Read();
    }
  }

 private:
  void Expire() {
    beast::get_lowest_layer(stream_).expires_after(std::chrono::milliseconds(deps_.connection.options.http_timeout_ms));
  }

  void Read() {
    const auto& o = deps_.connection.options;
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(o.max_http_header_bytes));
    parser_->body_limit(o.max_http_body_bytes);
    Expire();
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  // The header is in: decide how the body may be framed and how large it may
  // be before reading it.
  void OnHeader(beast::error_code ec) {
    if (ec || !parser_) return OnRead(ec);
    const Request& head = parser_->get();
    // RFC 9112 section 6.1: a request whose body natterd cannot frame is
    // refused and the connection closed, so the bytes after it are never read
    // as a request of their own.
    size_t encodings = head.count(http::field::transfer_encoding);
    if (encodings > 1 || (encodings == 1 && !IsOnlyChunked(head[http::field::transfer_encoding]))) {
      return SendError(BadRequest("unsupported Transfer-Encoding; only chunked is accepted"), head.version(), false);
    }
    // Before authentication a body is a login, a registration or a refresh:
    // a small budget, so an anonymous client cannot make the server hold more.
    // Only a token that verifies (HMAC and expiry, no store read) earns the
    // larger one: any "Bearer x" must not.
    std::string token = BearerToken(head);
    if (token.empty() || !deps_.connection.accounts.Authenticate(token).ok()) {
      size_t limit = std::min(deps_.connection.options.max_http_body_bytes, kPublicBodyBytes);
      // A Content-Length was checked against the limit when the header was
      // parsed, before this one applied; chunks are checked as they come.
      auto length = parser_->content_length();
      if (length && *length > limit) return SendError(TooLarge("request body is too large"), head.version(), false);
      parser_->body_limit(limit);
    }
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream) return Shutdown();
    if (ec == http::error::body_limit) return SendError(TooLarge("request body is too large"), 11, false);
    if (ec == http::error::header_limit) return SendError(TooLarge("request headers are too large"), 11, false);
    // A line longer than the read buffer: a request line or header (caught by
    // the header limit first) or a chunk header with an endless extension.
    if (ec == http::error::buffer_overflow) return SendError(TooLarge("request framing line is too long"), 11, false);
    if (ec || !parser_) return;  // timeout, reset or garbage: drop the connection
    deps_.connection.metrics.http_requests.fetch_add(1, std::memory_order_relaxed);
    req_ = parser_->release();
    parser_.reset();
    address_ = ClientAddress(peer_, ForwardedFor(req_), deps_.connection.options.trusted_proxies);
    if (HeaderHasToken(req_[http::field::upgrade], "websocket")) return Upgrade();
    Route();
  }

  void Route() {
    std::string_view target = req_.target();
    std::string_view path = target.substr(0, target.find('?'));
    auto& metrics = deps_.connection.metrics;
    if (path == "/healthz") return SendText(http::status::ok, "ok\n", "text/plain");
    if (path == "/readyz") {
      bool ready = deps_.ready();
      std::string body = ready ? "ready\n" : "not ready\n";
      if (deps_.ready_details) body += deps_.ready_details();
      return SendText(ready ? http::status::ok : http::status::service_unavailable, body, "text/plain");
    }
    if (path == "/metrics") return SendText(http::status::ok, metrics.Render(), "text/plain; version=0.0.4");

    auto route = MatchRoute(req_.method_string(), target, req_.body());
    if (!route.ok()) return SendError(route.error(), req_.version(), req_.keep_alive());
    api::Caller caller;
    caller.address = address_;
    caller.executor = &worker_.executor();
    if (route->method->access == api::Access::kPublic) return Dispatch(*route, caller);
    // The token, then its session (read unless this node knows it); the
    // answer comes on this worker.
    deps_.connection.accounts.AuthenticateSession(
        worker_.executor(), BearerToken(req_),
        [self = this->shared_from_this(), route = std::move(*route),
         caller = std::move(caller)](Result<auth::AccessClaims> claims) mutable {
          if (!claims.ok()) return self->SendError(claims.error(), self->req_.version(), self->req_.keep_alive());
          caller.user = claims->user_id;
          caller.session = claims->session_id;
          self->Dispatch(route, caller);
        });
  }

  void Dispatch(const RouteMatch& route, const api::Caller& caller) {
    // The budgets a WebSocket connection has, here per user (or, without a
    // token, per address): a new connection per request gains nothing.
    auto& limiter = deps_.connection.limiter;
    int64_t now_us = deps_.connection.clock.SteadyMs() * 1000;
    if (!limiter.TakeHttp(caller.user, caller.address, now_us)) {
      return SendError(RateLimited(caller.user != 0 ? "too many requests; slow down"
                                                    : "too many requests from this address; slow down"),
                       req_.version(), req_.keep_alive());
    }
    if (route.method->rate == api::RateClass::kTyping && !limiter.TakeHttpTyping(caller.user, now_us)) {
      return SendError(RateLimited("typing notices are limited; send one every few seconds"), req_.version(),
                       req_.keep_alive());
    }
    auto self = this->shared_from_this();
    auto& ioc = worker_.context();
    deps_.connection.dispatcher.Call(
        *route.method, caller, route.params, [self, &ioc](Result<json::value> result) mutable {
          boost::asio::post(ioc, [self, result = std::move(result)]() mutable {
            if (!result.ok()) return self->SendError(result.error(), self->req_.version(), self->req_.keep_alive());
            self->SendText(http::status::ok, json::serialize(*result), "application/json");
          });
        });
  }

  bool OriginAllowed() const {
    auto it = req_.find(http::field::origin);
    if (it == req_.end()) return true;  // not a browser: mobile apps send no Origin
    std::string_view origin = it->value();
    for (const auto& allowed : deps_.connection.options.allowed_origins) {
      if (allowed == "*" || origin == allowed) return true;
    }
    // A page served from the same host and port as natterd is allowed.
    std::string_view host = req_[http::field::host];
    return origin == "http://" + std::string(host) || origin == "https://" + std::string(host);
  }

  void Upgrade() {
    std::string_view path = req_.target();
    path = path.substr(0, path.find('?'));
    if (path != "/v1/ws") return SendError(NotFound("WebSocket endpoint is /v1/ws"), req_.version(), false);
    if (req_.method() != http::verb::get || !HeaderHasToken(req_[http::field::connection], "upgrade")) {
      return SendError(BadRequest("malformed WebSocket upgrade"), req_.version(), false);
    }
    if (req_[http::field::sec_websocket_version] != "13") {
      Response res{http::status::upgrade_required, req_.version()};
      res.set(http::field::sec_websocket_version, "13");
      return Write(std::move(res), false);
    }
    std::string key(req_[http::field::sec_websocket_key]);
    if (!ws::IsValidClientKey(key)) return SendError(BadRequest("bad Sec-WebSocket-Key"), req_.version(), false);
    if (!OriginAllowed()) return SendError(Forbidden("origin not allowed"), req_.version(), false);

    std::string token = BearerToken(req_);
    if (token.empty()) return Accept(key, std::nullopt);
    deps_.connection.accounts.AuthenticateSession(
        worker_.executor(), token,
        [self = this->shared_from_this(), key = std::move(key)](Result<auth::AccessClaims> claims) mutable {
          if (!claims.ok()) return self->SendError(claims.error(), self->req_.version(), false);
          self->Accept(key, *claims);
        });
  }

  // Answers 101 and hands the socket to a WebSocket connection, authenticated
  // by the upgrade's header when `claims` is set.
  void Accept(const std::string& key, std::optional<auth::AccessClaims> claims) {
    const auto& o = deps_.connection.options;
    std::optional<std::string> deflate;
    if (o.deflate) {
      ws::DeflateConfig config{true, o.deflate_window_bits};
      deflate = ws::NegotiateDeflate(req_[http::field::sec_websocket_extensions], config);
    }
    auto response = std::make_shared<std::string>(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: " +
        ws::ComputeAcceptKey(key) + "\r\n");
    if (deflate) *response += "Sec-WebSocket-Extensions: " + *deflate + "\r\n";
    *response += "\r\n";
    Expire();
    boost::asio::async_write(stream_, boost::asio::buffer(*response),
                             [self = this->shared_from_this(), response, claims, deflated = deflate.has_value()](
                                 beast::error_code ec, size_t) {
                               if (ec) return;
                               beast::get_lowest_layer(self->stream_).expires_never();
                               auto data = self->buffer_.data();
                               std::string leftover(static_cast<const char*>(data.data()), data.size());
                               auto conn = std::make_shared<WsConnection>(self->deps_.connection, self->worker_,
                                                                          self->ReleaseTransport(), deflated,
                                                                          std::move(leftover), claims, self->address_);
                               conn->Start();
                             });
  }

  std::unique_ptr<Transport> ReleaseTransport() {
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      return MakeTlsTransport(std::move(stream_));
    } else {
      return MakePlainTransport(stream_.release_socket(), worker_.read_buffer(), Worker::kReadBufferSize);
    }
  }

  void SendText(http::status status, std::string body, const char* content_type) {
    Response res{status, req_.version()};
    res.set(http::field::content_type, content_type);
    res.set(http::field::cache_control, "no-store");
    res.body() = std::move(body);
    Write(std::move(res), req_.keep_alive());
  }

  void SendError(const Error& error, unsigned version, bool keep_alive) {
    deps_.connection.metrics.errors_sent.fetch_add(1, std::memory_order_relaxed);
    Response res{static_cast<http::status>(HttpStatusFor(error.code)), version};
    res.set(http::field::content_type, "application/json");
    res.body() = json::serialize(json::object{{"error", api::ErrorJson(error)}});
    Write(std::move(res), keep_alive);
  }

  void Write(Response res, bool keep_alive) {
    res.keep_alive(keep_alive);
    res.set(http::field::server, "natterd");
    res.prepare_payload();
    auto shared = std::make_shared<Response>(std::move(res));
    Expire();
    http::async_write(stream_, *shared,
                      [self = this->shared_from_this(), shared, keep_alive](beast::error_code ec, size_t) {
                        if (ec) return;
                        if (!keep_alive) return self->Shutdown();
                        self->Read();
                      });
  }

  // Ends the connection after the last answer: sends FIN, then reads and
  // drops what the client still sends for a little while (at most 1 MiB or
  // 2 s) before closing. Closing with unread bytes would reset the
  // connection, and a reset can destroy the answer before the client reads it.
  void Shutdown() {
    auto& lowest = beast::get_lowest_layer(stream_);
    beast::error_code ec;
    lowest.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return;
    lowest.expires_after(std::chrono::seconds(2));
    // What this session held for requests goes now, not after the linger.
    buffer_.clear();
    buffer_.shrink_to_fit();
    req_ = {};
    parser_.reset();
    Linger(0);
  }

  void Linger(size_t dropped) {
    if (dropped >= (size_t{1} << 20)) return;
    // Into the worker's shared read buffer: what is read is dropped anyway.
    beast::get_lowest_layer(stream_).async_read_some(
        boost::asio::buffer(worker_.read_buffer(), Worker::kReadBufferSize),
        [self = this->shared_from_this(), dropped](beast::error_code ec, size_t n) {
          if (!ec) self->Linger(dropped + n);
        });
  }

  const HttpDeps& deps_;
  Worker& worker_;
  Stream stream_;
  // Holds what is read and not yet parsed: the header, then at most a read's
  // worth of body or one chunk header. Bounded, so a line that never ends
  // (a chunk extension) cannot grow it.
  beast::flat_buffer buffer_{deps_.connection.options.max_http_header_bytes + kReadAhead};
  std::optional<http::request_parser<http::string_body>> parser_;
  Request req_;
  std::string peer_;     // the socket's remote address
  std::string address_;  // the client's, when peer_ is a trusted proxy
};

}  // namespace

void StartHttpSession(const HttpDeps& deps, Worker& worker, tcp::socket socket) {
  if (deps.tls) {
    std::make_shared<HttpSession<TlsStream>>(deps, worker, beast::tcp_stream(std::move(socket)), *deps.tls)->Begin();
  } else {
    std::make_shared<HttpSession<beast::tcp_stream>>(deps, worker, std::move(socket))->Begin();
  }
}

}  // namespace natter::gateway
