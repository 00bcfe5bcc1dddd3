#include "http_call.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "stream_open.h"

namespace natter::client {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

template <class Stream>
asio::awaitable<HttpAnswer> Call(ServerEndpoint server, HttpRequest request) {
  auto ex = co_await asio::this_coro::executor;
  Stream stream = [&] {
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      return Stream(ex, *server.tls_context);
    } else {
      return Stream(ex);
    }
  }();
  Deadline deadline(ex, server.timeout, RawSocket(stream));
  HttpAnswer answer;
  try {
    co_await OpenStream(stream, server, deadline);
    http::request<http::string_body> req{http::string_to_verb(request.method), request.target, 11};
    req.set(http::field::host, server.HostHeader());
    req.set(http::field::content_type, "application/json");
    if (!request.token.empty()) req.set(http::field::authorization, "Bearer " + request.token);
    if (!request.body.is_null()) req.body() = boost::json::serialize(request.body);
    req.prepare_payload();
    boost::system::error_code ec;
    co_await http::async_write(stream, req, asio::redirect_error(asio::use_awaitable, ec));
    deadline.Check("send request", ec);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    co_await http::async_read(stream, buffer, res, asio::redirect_error(asio::use_awaitable, ec));
    deadline.Check("read answer", ec);
    answer.status = res.result_int();
    answer.body = boost::json::parse(res.body(), ec);
    if (ec) answer.body = nullptr;
  } catch (const std::exception& e) {  // NetFailure, or a body Beast refused to parse
    answer.status = 0;
    answer.error = server.Url(request.target) + ": " + e.what();
  }
  co_return answer;
}

}  // namespace

void HttpCall(asio::io_context& ioc, const ServerEndpoint& server, HttpRequest request,
              std::function<void(HttpAnswer)> done) {
  auto finish = [done = std::move(done)](std::exception_ptr, HttpAnswer answer) { done(std::move(answer)); };
  if (server.tls) {
    asio::co_spawn(ioc, Call<TlsStream>(server, std::move(request)), std::move(finish));
  } else {
    asio::co_spawn(ioc, Call<PlainStream>(server, std::move(request)), std::move(finish));
  }
}

}  // namespace natter::client
