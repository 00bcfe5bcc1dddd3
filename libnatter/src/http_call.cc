#include "http_call.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace natter::client {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

HttpAnswer HttpCall(const std::string& host, const std::string& port, const std::string& method,
                    const std::string& target, const boost::json::value& body, const std::string& token) {
  HttpAnswer answer;
  try {
    asio::io_context ioc;
    asio::ip::tcp::resolver resolver(ioc);
    beast::tcp_stream stream(ioc);
    stream.expires_after(std::chrono::seconds(10));
    stream.connect(resolver.resolve(host, port));
    timeval tv{10, 0};  // blocking reads end too
    setsockopt(stream.socket().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, host);
    req.set(http::field::content_type, "application/json");
    if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
    if (!body.is_null()) req.body() = boost::json::serialize(body);
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    answer.status = res.result_int();
    boost::system::error_code ec;
    answer.body = boost::json::parse(res.body(), ec);
    if (ec) answer.body = nullptr;
  } catch (const std::exception& e) {
    answer.status = 0;
    answer.transport_error = e.what();
  }
  return answer;
}

}  // namespace natter::client
