#include "gateway/http_session.h"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/serialize.hpp>

#include "api/json_views.h"
#include "common/request_id.h"
#include "common/utf8.h"
#include "gateway/client_address.h"
#include "gateway/http_routes.h"
#include "gateway/tls_transport.h"
#include "gateway/tus_protocol.h"
#include "gateway/ws/handshake.h"
#include "media/content_type.h"
#include "media/media_service.h"
#include "media/sigv4.h"
#include "ops/log_event.h"

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

// What one read of an upload's body takes, and one write of a download gives.
constexpr size_t kMediaChunk = 256 * 1024;

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
    tus_ = false;
    request_id_ = {};
    logged_ = false;
    user_ = 0;
    started_ = std::chrono::steady_clock::now();  // BeginAccessLog moves it to the header's arrival
    const auto& o = deps_.connection.options;
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(o.max_http_header_bytes));
    // No limit while the header is read: which one applies (an upload's
    // length, the authenticated one, the anonymous one) is decided from the
    // header, in OnHeader, before any body byte is read.
    parser_->body_limit(boost::none);
    Expire();
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  // The header is in: decide how the body may be framed and how large it may
  // be before reading it.
  void OnHeader(beast::error_code ec) {
    if (ec || !parser_) return OnRead(ec);
    const Request& head = parser_->get();
    BeginAccessLog(head);
    // RFC 9112 section 6.1: a request whose body natterd cannot frame is
    // refused and the connection closed, so the bytes after it are never read
    // as a request of their own.
    size_t encodings = head.count(http::field::transfer_encoding);
    if (encodings > 1 || (encodings == 1 && !IsOnlyChunked(head[http::field::transfer_encoding]))) {
      return SendError(BadRequest("unsupported Transfer-Encoding; only chunked is accepted"), head.version(), false);
    }
    // An upload's bytes stream to disk as they come, past the body limit.
    if (deps_.media && head.method() == http::verb::patch) {
      auto upload = tus::ParseUploadPath(head.target().substr(0, head.target().find('?')));
      if (upload.matches) return BeginPatch(upload.id.value_or(0));
    }
    // Before authentication a body is a login, a registration or a refresh:
    // a small budget, so an anonymous client cannot make the server hold more.
    // Only a token that verifies (HMAC and expiry, no store read) earns the
    // larger one: any "Bearer x" must not.
    std::string token = BearerToken(head);
    size_t limit = deps_.connection.options.max_http_body_bytes;
    if (token.empty() || !deps_.connection.accounts.Authenticate(token).ok()) limit = std::min(limit, kPublicBodyBytes);
    // A Content-Length is checked now; chunks are checked as they come.
    auto length = parser_->content_length();
    if (length && *length > limit) return SendError(TooLarge("request body is too large"), head.version(), false);
    parser_->body_limit(limit);
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream) return Shutdown();
    ScopedRequestId scope(request_id_);
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
    ScopedRequestId scope(request_id_);
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

    if (deps_.media) {
      if (path.starts_with(media::DownloadUrls::kPrefix)) return ServeBlob();
      auto upload = tus::ParseUploadPath(path);
      if (upload.matches && req_.method() != http::verb::get) return RouteTus(upload);
    }

    auto route = MatchRoute(req_.method_string(), target, req_.body());
    if (!route.ok()) return SendError(route.error(), req_.version(), req_.keep_alive());
    api::Caller caller;
    caller.address = address_;
    caller.executor = &worker_.executor();
    caller.request_id = request_id_;
    if (route->method->access == api::Access::kPublic) return Dispatch(*route, caller);
    // The token, then its session (read unless this node knows it); the
    // answer comes on this worker.
    deps_.connection.accounts.AuthenticateSession(
        worker_.executor(), BearerToken(req_),
        [self = this->shared_from_this(), route = std::move(*route),
         caller = std::move(caller)](Result<auth::AccessClaims> claims) mutable {
          ScopedRequestId scope(self->request_id_);
          if (!claims.ok()) return self->SendError(claims.error(), self->req_.version(), self->req_.keep_alive());
          caller.user = claims->user_id;
          caller.session = claims->session_id;
          self->user_ = claims->user_id;
          self->Dispatch(route, caller);
        });
  }

  void Dispatch(const RouteMatch& route, const api::Caller& caller) {
    // The budgets a WebSocket connection has, here per user (or, without a
    // token, per address): a new connection per request gains nothing.
    auto& limiter = deps_.connection.limiter;
    int64_t now_us = deps_.connection.clock.SteadyMs() * 1000;
    if (!limiter.TakeHttp(caller.user, caller.address, now_us)) {
      deps_.connection.metrics.CountRateLimited(ops::RateLimit::kHttp);
      return SendError(RateLimited(caller.user != 0 ? "too many requests; slow down"
                                                    : "too many requests from this address; slow down"),
                       req_.version(), req_.keep_alive());
    }
    if (route.method->rate == api::RateClass::kTyping && !limiter.TakeHttpTyping(caller.user, now_us)) {
      deps_.connection.metrics.CountRateLimited(ops::RateLimit::kTyping);
      return SendError(RateLimited("typing notices are limited; send one every few seconds"), req_.version(),
                       req_.keep_alive());
    }
    auto self = this->shared_from_this();
    auto& ioc = worker_.context();
    deps_.connection.dispatcher.Call(
        *route.method, caller, route.params, [self, &ioc](Result<json::value> result) mutable {
          boost::asio::post(ioc, [self, result = std::move(result)]() mutable {
            ScopedRequestId scope(self->request_id_);
            if (!result.ok()) return self->SendError(result.error(), self->req_.version(), self->req_.keep_alive());
            self->SendText(http::status::ok, json::serialize(*result), "application/json");
          });
        });
  }

  // --- Uploads: tus 1.0 (gateway/tus_protocol.h) and downloads of objects. ---

  bool TusVersionOk() const { return req_["Tus-Resumable"] == tus::kVersion; }

  // 412 with the versions natterd speaks (tus core protocol).
  void SendTusVersionMismatch(bool keep_alive) {
    Response res{http::status::precondition_failed, req_.version()};
    res.set("Tus-Version", tus::kVersion);
    res.set(http::field::content_type, "application/json");
    res.body() = json::serialize(
        json::object{{"error", api::ErrorJson(BadRequest("Tus-Resumable must be " + std::string(tus::kVersion)))}});
    Write(std::move(res), keep_alive);
  }

  // The request budget of `user` (as Dispatch takes it); answers when spent.
  bool TakeBudget(UserId user) {
    int64_t now_us = deps_.connection.clock.SteadyMs() * 1000;
    if (deps_.connection.limiter.TakeHttp(user, address_, now_us)) return true;
    SendError(RateLimited("too many requests; slow down"), req_.version(), false);
    return false;
  }

  // Runs `then(user)` once the request's token names a live session and its
  // user has budget left; answers otherwise.
  void AuthenticateThen(std::function<void(UserId)> then) {
    deps_.connection.accounts.AuthenticateSession(
        worker_.executor(), BearerToken(req_),
        [self = this->shared_from_this(), then = std::move(then)](Result<auth::AccessClaims> claims) {
          if (!claims.ok()) return self->SendError(claims.error(), self->req_.version(), false);
          self->user_ = claims->user_id;
          if (self->TakeBudget(claims->user_id)) then(claims->user_id);
        });
  }

  void RouteTus(const tus::UploadPath& upload) {
    tus_ = true;
    if (req_.method() == http::verb::options) {
      Response res{http::status::no_content, req_.version()};
      res.set("Tus-Version", tus::kVersion);
      res.set("Tus-Extension", tus::kExtensions);
      auto limits = deps_.media->limits();
      res.set("Tus-Max-Size", std::to_string(std::max({limits->max_image_bytes, limits->max_audio_bytes,
                                                       limits->max_video_bytes, limits->max_file_bytes})));
      return Write(std::move(res), req_.keep_alive());
    }
    if (!TusVersionOk()) return SendTusVersionMismatch(req_.keep_alive());
    http::verb verb = req_.method();
    if (!upload.id) {
      if (verb != http::verb::post) return SendError(NotFound("create an upload with POST"), req_.version(), false);
      return AuthenticateThen([self = this->shared_from_this()](UserId user) { self->CreateUpload(user); });
    }
    int64_t id = *upload.id;
    if (id <= 0) return SendError(NotFound("no such upload"), req_.version(), req_.keep_alive());
    if (verb == http::verb::head) {
      return AuthenticateThen([self = this->shared_from_this(), id](UserId user) { self->DescribeUpload(user, id); });
    }
    if (verb == http::verb::delete_) {
      return AuthenticateThen([self = this->shared_from_this(), id](UserId user) { self->TerminateUpload(user, id); });
    }
    SendError(NotFound("an upload takes HEAD, PATCH and DELETE"), req_.version(), false);
  }

  void CreateUpload(UserId user) {
    unsigned version = req_.version();
    if (req_.count("Upload-Defer-Length")) {
      return SendError(BadRequest("Upload-Defer-Length is not supported; send Upload-Length"), version, false);
    }
    auto length = tus::ParseDecimal(req_["Upload-Length"]);
    if (!length) return SendError(BadRequest("Upload-Length is required"), version, false);
    auto meta = tus::ParseMetadata(req_["Upload-Metadata"]);
    if (!meta.ok()) return SendError(meta.error(), version, false);
    auto filename = media::CheckedFilename((*meta)["filename"]);
    if (!filename.ok()) return SendError(filename.error(), version, false);
    deps_.media->Create(worker_.executor(), user, *length, (*meta)["filetype"], std::move(*filename),
                        [self = this->shared_from_this()](Result<MediaUpload> r) {
                          if (!r.ok()) return self->SendError(r.error(), self->req_.version(), false);
                          Response res{http::status::created, self->req_.version()};
                          res.set(http::field::location, std::string(tus::kCollection) + "/" + std::to_string(r->id));
                          res.set("Upload-Expires", tus::HttpDate(r->expires_at));
                          self->Write(std::move(res), self->req_.keep_alive());
                        });
  }

  void DescribeUpload(UserId user, int64_t id) {
    deps_.media->Lookup(worker_.executor(), user, id, [self = this->shared_from_this()](Result<media::UploadStatus> r) {
      if (!r.ok()) return self->SendError(r.error(), self->req_.version(), self->req_.keep_alive());
      Response res{http::status::ok, self->req_.version()};
      res.set("Upload-Offset", std::to_string(r->offset));
      res.set("Upload-Length", std::to_string(r->upload.size));
      if (r->upload.expires_at != 0) res.set("Upload-Expires", tus::HttpDate(r->upload.expires_at));
      res.set(http::field::cache_control, "no-store");
      self->Write(std::move(res), self->req_.keep_alive());
    });
  }

  void TerminateUpload(UserId user, int64_t id) {
    deps_.media->Terminate(worker_.executor(), user, id, [self = this->shared_from_this()](Result<bool> r) {
      if (!r.ok()) return self->SendError(r.error(), self->req_.version(), self->req_.keep_alive());
      self->Write(Response{http::status::no_content, self->req_.version()}, self->req_.keep_alive());
    });
  }

  // A PATCH's header is in: check it, authenticate, take the upload's lock at
  // its offset, then stream the body to disk a chunk at a time. Any refusal
  // closes the connection after answering (the body is left unread).
  void BeginPatch(int64_t id) {
    tus_ = true;
    req_ = {};
    req_.base() = parser_->get().base();
    deps_.connection.metrics.http_requests.fetch_add(1, std::memory_order_relaxed);
    address_ = ClientAddress(peer_, ForwardedFor(req_), deps_.connection.options.trusted_proxies);
    if (!TusVersionOk()) return SendTusVersionMismatch(false);
    if (id <= 0) return SendError(NotFound("no such upload"), req_.version(), false);
    if (req_[http::field::content_type] != tus::kOffsetContentType) {
      Response res{http::status::unsupported_media_type, req_.version()};
      res.set(http::field::content_type, "application/json");
      res.body() = json::serialize(json::object{
          {"error", api::ErrorJson(BadRequest("Content-Type must be " + std::string(tus::kOffsetContentType)))}});
      return Write(std::move(res), false);
    }
    auto offset = tus::ParseDecimal(req_["Upload-Offset"]);
    if (!offset) return SendError(BadRequest("Upload-Offset is required"), req_.version(), false);
    AuthenticateThen([self = this->shared_from_this(), id, offset = *offset](UserId user) {
      self->deps_.media->BeginPatch(self->worker_.executor(), user, id, offset,
                                    [self](Result<std::shared_ptr<media::PatchTicket>> ticket) {
                                      if (!ticket.ok())
                                        return self->SendError(ticket.error(), self->req_.version(), false);
                                      self->StreamPatch(std::move(*ticket));
                                    });
    });
  }

  void StreamPatch(std::shared_ptr<media::PatchTicket> ticket) {
    uint64_t room = static_cast<uint64_t>(ticket->upload().size - ticket->offset());
    auto length = parser_->content_length();
    if (length && *length > room) return SendError(TooLarge("more bytes than Upload-Length"), req_.version(), false);
    ticket_ = std::move(ticket);
    upload_parser_.emplace(std::move(*parser_));
    parser_.reset();
    upload_parser_->body_limit(room);
    ReadPatchChunk();
  }

  void ReadPatchChunk() {
    chunk_.resize(kMediaChunk);
    auto& body = upload_parser_->get().body();
    body.data = chunk_.data();
    body.size = chunk_.size();
    Expire();
    http::async_read(stream_, buffer_, *upload_parser_,
                     [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnPatchChunk(ec); });
  }

  void OnPatchChunk(beast::error_code ec) {
    if (ec == http::error::need_buffer) ec = {};
    if (ec == http::error::body_limit) {
      EndPatch();
      return SendError(TooLarge("more bytes than Upload-Length"), req_.version(), false);
    }
    size_t got = chunk_.size() - upload_parser_->get().body().size;
    bool last = upload_parser_->is_done();
    // The client went away (or stalled): what it sent is kept, and HEAD
    // tells it where to resume.
    bool cut = static_cast<bool>(ec);
    if (got == 0) {
      if (cut) return EndPatch();
      return last ? FinishPatch() : ReadPatchChunk();
    }
    chunk_.resize(got);
    deps_.media->Append(worker_.executor(), ticket_, std::move(chunk_),
                        [self = this->shared_from_this(), last, cut](Result<int64_t> r) {
                          if (cut) return self->EndPatch();
                          if (!r.ok()) {
                            self->EndPatch();
                            return self->SendError(r.error(), self->req_.version(), false);
                          }
                          if (last) return self->FinishPatch();
                          self->ReadPatchChunk();
                        });
  }

  void FinishPatch() {
    int64_t offset = ticket_->offset();
    bool keep_alive = upload_parser_->keep_alive();
    int64_t expires_at = ticket_->upload().expires_at;
    auto answer = [self = this->shared_from_this(), offset, keep_alive](int64_t expires_at) {
      Response res{http::status::no_content, self->req_.version()};
      res.set("Upload-Offset", std::to_string(offset));
      if (expires_at != 0) res.set("Upload-Expires", tus::HttpDate(expires_at));
      self->Write(std::move(res), keep_alive);
    };
    if (offset < ticket_->upload().size) {
      // The offset answered is on disk for good: a power cut cannot take back
      // bytes the client was told are there.
      return deps_.media->SyncUpload(worker_.executor(), ticket_,
                                     [self = this->shared_from_this(), answer, expires_at](Result<int64_t> r) {
                                       self->EndPatch();
                                       if (!r.ok()) return self->SendError(r.error(), self->req_.version(), false);
                                       answer(expires_at);
                                     });
    }
    // The last byte is in: the upload is checked and processed before the
    // answer, so a message can carry it as soon as the client hears back.
    auto ticket = std::move(ticket_);
    EndPatch();
    deps_.media->Complete(worker_.executor(), std::move(ticket),
                          [self = this->shared_from_this(), answer, keep_alive](Result<media::Attachment> r) {
                            if (!r.ok()) return self->SendError(r.error(), self->req_.version(), keep_alive);
                            answer(0);
                          });
  }

  // Lets the upload's lock go and what the PATCH held.
  void EndPatch() {
    if (ticket_) ticket_->Release();  // before the answer: the next PATCH must find the upload free
    ticket_.reset();
    upload_parser_.reset();
    chunk_.clear();
    chunk_.shrink_to_fit();
  }

  // A signed download URL (media/download_url.h): the object, or the range
  // asked for, a chunk at a time.
  void ServeBlob() {
    auto grant = deps_.media->VerifyDownload(req_.target());
    if (!grant.ok()) return SendError(grant.error(), req_.version(), req_.keep_alive());
    if (req_.method() != http::verb::get && req_.method() != http::verb::head) {
      return SendError(NotFound("a download takes GET or HEAD"), req_.version(), false);
    }
    grant_ = std::move(*grant);
    deps_.media->ReadBlob(worker_.executor(), grant_.object, 0, 0,
                          [self = this->shared_from_this()](Result<media::BlobSlice> r) {
                            if (!r.ok())
                              return self->SendError(r.error(), self->req_.version(), self->req_.keep_alive());
                            self->StartBlob(r->size);
                          });
  }

  void StartBlob(int64_t size) {
    int64_t first = 0, last = size - 1;
    http::status status = http::status::ok;
    auto range = tus::ParseRange(req_[http::field::range], size);
    if (range && !range->satisfiable) {
      // Past the end: 416 with the size, so a resuming client knows it has it all.
      Response res{http::status::range_not_satisfiable, req_.version()};
      res.set(http::field::content_range, "bytes */" + std::to_string(size));
      return Write(std::move(res), req_.keep_alive());
    }
    if (range) {
      first = range->first;
      last = range->last;
      status = http::status::partial_content;
    }
    blob_res_.emplace(status, req_.version());
    auto& res = *blob_res_;
    res.set(http::field::server, "natterd");
    media::DownloadHeaders headers = media::HeadersFor(grant_.mime, grant_.filename);
    res.set(http::field::content_type, headers.content_type);
    res.set(http::field::content_disposition, headers.disposition);
    res.set("X-Content-Type-Options", "nosniff");
    res.set("Content-Security-Policy", "default-src 'none'; sandbox");
    res.set(http::field::cache_control, "private, max-age=" + std::to_string(deps_.media->limits()->url_ttl_s));
    res.set(http::field::accept_ranges, "bytes");
    if (range) {
      res.set(http::field::content_range,
              "bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" + std::to_string(size));
    }
    res.content_length(static_cast<uint64_t>(last - first + 1));
    res.keep_alive(req_.keep_alive());
    LogAccess(res.result_int(), static_cast<size_t>(last - first + 1));
    res.set("X-Request-Id", request_id_.Hex());
    blob_next_ = first;
    blob_end_ = req_.method() == http::verb::head ? first : last + 1;
    res.body().data = nullptr;
    res.body().size = 0;
    res.body().more = true;
    blob_sr_.emplace(res);
    Expire();
    http::async_write_header(stream_, *blob_sr_, [self = this->shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return;
      if (self->req_.method() == http::verb::head) return self->EndBlob();
      self->WriteBlobChunk();
    });
  }

  void WriteBlobChunk() {
    size_t want = static_cast<size_t>(std::min<int64_t>(kMediaChunk, blob_end_ - blob_next_));
    deps_.media->ReadBlob(worker_.executor(), grant_.object, blob_next_, want,
                          [self = this->shared_from_this(), want](Result<media::BlobSlice> r) {
                            // The header went out: a failure now can only cut the response.
                            if (!r.ok() || r->bytes.size() != want) return self->Shutdown();
                            self->slice_ = std::move(r->bytes);
                            self->blob_next_ += static_cast<int64_t>(want);
                            auto& body = self->blob_res_->body();
                            body.data = self->slice_.data();
                            body.size = self->slice_.size();
                            body.more = self->blob_next_ < self->blob_end_;
                            self->Expire();
                            http::async_write(self->stream_, *self->blob_sr_, [self](beast::error_code ec, size_t) {
                              if (ec == http::error::need_buffer) ec = {};
                              if (ec) return;
                              if (self->blob_next_ < self->blob_end_) return self->WriteBlobChunk();
                              self->EndBlob();
                            });
                          });
  }

  void EndBlob() {
    bool keep_alive = blob_res_->keep_alive();
    blob_sr_.reset();
    blob_res_.reset();
    slice_.clear();
    slice_.shrink_to_fit();
    if (!keep_alive) return Shutdown();
    Read();
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
    std::string response =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: " +
        ws::ComputeAcceptKey(key) + "\r\n";
    if (deflate) response += "Sec-WebSocket-Extensions: " + *deflate + "\r\n";
    LogAccess(101, 0);
    response += "X-Request-Id: " + request_id_.Hex() + "\r\n\r\n";
    // The connection writes the 101 as its first bytes, after it is
    // registered: a client that reads the 101 can count on every event from
    // then on reaching this socket.
    beast::get_lowest_layer(stream_).expires_never();
    auto data = buffer_.data();
    std::string leftover(static_cast<const char*>(data.data()), data.size());
    auto conn = std::make_shared<WsConnection>(deps_.connection, worker_, ReleaseTransport(), deflate.has_value(),
                                               std::move(leftover), claims, address_, std::move(response));
    conn->Start();
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
    LogAccess(res.result_int(), res.body().size());
    if (!request_id_.empty()) res.set("X-Request-Id", request_id_.Hex());
    if (tus_) res.set("Tus-Resumable", tus::kVersion);
    res.prepare_payload();
    // An answer to HEAD has no body, whatever an error would have said.
    if (req_.method() == http::verb::head) res.body().clear();
    auto shared = std::make_shared<Response>(std::move(res));
    Expire();
    http::async_write(stream_, *shared,
                      [self = this->shared_from_this(), shared, keep_alive](beast::error_code ec, size_t) {
                        if (ec) return;
                        if (!keep_alive) return self->Shutdown();
                        self->Read();
                      });
  }

  // A request's header is in: what its access log line will say, and its id
  // (the trace id of a W3C traceparent, when the client sent a valid one).
  void BeginAccessLog(const Request& head) {
    started_ = std::chrono::steady_clock::now();
    auto traced = ParseTraceparent(head["traceparent"]);
    request_id_ = traced ? *traced : NewRequestId();
  }

  // One line per request (docs/operations.md): never the query string, which
  // may carry a download URL's signature.
  void LogAccess(unsigned status, size_t bytes_out) {
    if (logged_) return;
    logged_ = true;
    if (request_id_.empty()) request_id_ = NewRequestId();  // refused before its header was read
    if (!ops::LogEnabled(spdlog::level::info)) return;
    const Request& r = parser_ ? parser_->get() : req_;
    std::string_view target = r.target();
    ScopedRequestId scope(request_id_);
    ops::LogFields fields;
    fields.Str("method", r.method_string())
        .Str("path", target.substr(0, target.find('?')))
        .Int("status", status)
        .Int("bytes_in", static_cast<int64_t>(r.body().size()))
        .Int("bytes_out", static_cast<int64_t>(bytes_out))
        .Int("duration_us",
             std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started_).count())
        .Str("address", address_);
    if (user_) fields.Int("user", user_);
    ops::LogEvent(spdlog::level::info, "http_request", fields);
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
  // A tus request: every answer says which protocol version it speaks.
  bool tus_ = false;
  // A PATCH under way: its parser (the body goes to chunk_, then to disk)
  // and the upload's lock.
  std::optional<http::request_parser<http::buffer_body>> upload_parser_;
  std::shared_ptr<media::PatchTicket> ticket_;
  std::string chunk_;
  // A download under way: what it may read, the response, and its next slice.
  media::BlobGrant grant_;
  std::optional<http::response<http::buffer_body>> blob_res_;
  std::optional<http::response_serializer<http::buffer_body>> blob_sr_;
  std::string slice_;
  int64_t blob_next_ = 0;
  int64_t blob_end_ = 0;
  // The request being served, for its access log line.
  RequestId request_id_;
  std::chrono::steady_clock::time_point started_;
  UserId user_ = 0;
  bool logged_ = false;
  std::string peer_;     // the socket's remote address
  std::string address_;  // the client's, when peer_ is a trusted proxy
};

}  // namespace

void StartHttpSession(const HttpDeps& deps, Worker& worker, tcp::socket socket) {
  if (deps.tls) {
    auto context = deps.tls->Get();
    std::make_shared<HttpSession<TlsStream>>(deps, worker, beast::tcp_stream(std::move(socket)), *context)->Begin();
  } else {
    std::make_shared<HttpSession<beast::tcp_stream>>(deps, worker, std::move(socket))->Begin();
  }
}

}  // namespace natter::gateway
