#include "http_call.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdio>

#include "stream_open.h"

namespace natter::client {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

template <class Stream>
Stream MakeStream(const asio::any_io_executor& ex, const ServerEndpoint& server) {
  if constexpr (std::is_same_v<Stream, TlsStream>) {
    return Stream(ex, *server.tls_context);
  } else {
    return Stream(ex);
  }
}

template <class Stream>
asio::awaitable<BytesAnswer> Call(ServerEndpoint server, BytesRequest request) {
  auto ex = co_await asio::this_coro::executor;
  Stream stream = MakeStream<Stream>(ex, server);
  Deadline deadline(ex, server.timeout, RawSocket(stream));
  BytesAnswer answer;
  try {
    co_await OpenStream(stream, server, deadline);
    http::request<http::string_body> req{http::string_to_verb(request.method), request.target, 11};
    req.set(http::field::host, server.HostHeader());
    for (const auto& [name, value] : request.headers) req.set(name, value);
    req.body() = std::move(request.body);
    req.prepare_payload();
    boost::system::error_code ec;
    co_await http::async_write(stream, req, asio::redirect_error(asio::use_awaitable, ec));
    deadline.Check("send request", ec);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(1 << 20);  // answers to calls, never downloads
    // An answer to HEAD has no body, whatever its Content-Length says.
    if (request.method == "HEAD") parser.skip(true);
    co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    deadline.Check("read answer", ec);
    auto& res = parser.get();
    answer.status = res.result_int();
    for (const auto& field : res) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      answer.headers[name] = std::string(field.value());
    }
    answer.body = std::move(res.body());
  } catch (const std::exception& e) {  // NetFailure, or an answer Beast refused to parse
    answer.status = 0;
    answer.error = server.Url(request.target) + ": " + e.what();
  }
  co_return answer;
}

template <class Stream>
asio::awaitable<BytesAnswer> Download(ServerEndpoint server, std::string target, std::string path, int64_t max_bytes) {
  auto ex = co_await asio::this_coro::executor;
  Stream stream = MakeStream<Stream>(ex, server);
  Deadline deadline(ex, server.timeout, RawSocket(stream));
  BytesAnswer answer;
  std::string part = path + ".part";
  try {
    co_await OpenStream(stream, server, deadline);
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, server.HostHeader());
    boost::system::error_code ec;
    co_await http::async_write(stream, req, asio::redirect_error(asio::use_awaitable, ec));
    deadline.Check("send request", ec);
    beast::flat_buffer buffer;
    http::response_parser<http::file_body> parser;
    parser.body_limit(static_cast<uint64_t>(max_bytes));
    parser.get().body().open(part.c_str(), beast::file_mode::write, ec);
    if (ec) throw NetFailure("cannot write " + part + ": " + ec.message());
    co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    deadline.Check("read answer", ec);
    answer.status = parser.get().result_int();
    parser.get().body().close();
    if (answer.status == 200 && std::rename(part.c_str(), path.c_str()) != 0) {
      throw NetFailure("cannot write " + path);
    }
  } catch (const std::exception& e) {
    answer.status = 0;
    answer.error = server.Url(target.substr(0, target.find('?'))) + ": " + e.what();
  }
  if (answer.status != 200) std::remove(part.c_str());
  co_return answer;
}

void Spawn(asio::io_context& ioc, const ServerEndpoint& server, BytesRequest request,
           std::function<void(BytesAnswer)> done) {
  auto finish = [done = std::move(done)](std::exception_ptr, BytesAnswer answer) { done(std::move(answer)); };
  if (server.tls) {
    asio::co_spawn(ioc, Call<TlsStream>(server, std::move(request)), std::move(finish));
  } else {
    asio::co_spawn(ioc, Call<PlainStream>(server, std::move(request)), std::move(finish));
  }
}

}  // namespace

std::chrono::milliseconds TransferLimit(std::chrono::milliseconds timeout, int64_t bytes) {
  return timeout + std::chrono::milliseconds(bytes / 16);  // 16 KiB a second at least
}

void DownloadCall(asio::io_context& ioc, const ServerEndpoint& server, std::string target, std::string path,
                  int64_t max_bytes, std::function<void(BytesAnswer)> done) {
  ServerEndpoint bounded = server;
  bounded.timeout = TransferLimit(server.timeout, max_bytes);
  auto finish = [done = std::move(done)](std::exception_ptr, BytesAnswer answer) { done(std::move(answer)); };
  if (server.tls) {
    asio::co_spawn(ioc, Download<TlsStream>(bounded, std::move(target), std::move(path), max_bytes), std::move(finish));
  } else {
    asio::co_spawn(ioc, Download<PlainStream>(bounded, std::move(target), std::move(path), max_bytes),
                   std::move(finish));
  }
}

void BytesCall(asio::io_context& ioc, const ServerEndpoint& server, BytesRequest request,
               std::function<void(BytesAnswer)> done) {
  ServerEndpoint bounded = server;
  bounded.timeout = TransferLimit(server.timeout, static_cast<int64_t>(request.body.size()));
  Spawn(ioc, bounded, std::move(request), std::move(done));
}

void HttpCall(asio::io_context& ioc, const ServerEndpoint& server, HttpRequest request,
              std::function<void(HttpAnswer)> done) {
  BytesRequest bytes{request.method, request.target, {{"Content-Type", "application/json"}}, ""};
  if (!request.token.empty()) bytes.headers.emplace_back("Authorization", "Bearer " + request.token);
  if (!request.body.is_null()) bytes.body = boost::json::serialize(request.body);
  Spawn(ioc, server, std::move(bytes), [done = std::move(done)](BytesAnswer raw) {
    HttpAnswer answer{raw.status, nullptr, std::move(raw.error)};
    boost::system::error_code ec;
    if (raw.status != 0) answer.body = boost::json::parse(raw.body, ec);
    if (ec) answer.body = nullptr;
    done(std::move(answer));
  });
}

}  // namespace natter::client
