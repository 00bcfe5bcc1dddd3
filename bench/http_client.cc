#include "bench/http_client.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/connect.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace natter::bench {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

HttpClient::HttpClient(std::string host, unsigned short port, int timeout_ms)
    : host_(std::move(host)), port_(port), timeout_ms_(timeout_ms) {}

HttpClient::~HttpClient() = default;

bool HttpClient::Connect(std::string& error) {
  boost::system::error_code ec;
  socket_ = std::make_unique<tcp::socket>(ioc_);
  auto address = asio::ip::make_address(host_, ec);
  if (ec) {
    error = "bad address " + host_;
    return false;
  }
  socket_->open(tcp::v4(), ec);
  // Blocking calls with a kernel timeout: provisioning never hangs on a dead server.
  timeval tv{timeout_ms_ / 1000, static_cast<suseconds_t>(timeout_ms_ % 1000) * 1000};
  setsockopt(socket_->native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(socket_->native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  socket_->connect(tcp::endpoint(address, port_), ec);
  if (ec) {
    error = "connect " + host_ + ":" + std::to_string(port_) + ": " + ec.message();
    socket_.reset();
    return false;
  }
  socket_->set_option(tcp::no_delay(true), ec);
  return true;
}

HttpAnswer HttpClient::Request(const std::string& method, const std::string& target, const std::string& body,
                               const std::string& bearer,
                               const std::vector<std::pair<std::string, std::string>>& headers) {
  HttpAnswer answer;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!socket_ && !Connect(answer.error)) return answer;
    http::request<http::string_body> req(http::string_to_verb(method), target, 11);
    req.set(http::field::host, host_);
    req.keep_alive(true);
    if (!bearer.empty()) req.set(http::field::authorization, "Bearer " + bearer);
    for (const auto& [name, value] : headers) req.set(name, value);
    req.body() = body;
    req.prepare_payload();
    boost::system::error_code ec;
    http::write(*socket_, req, ec);
    if (!ec) {
      boost::beast::flat_buffer buffer;
      http::response<http::string_body> res;
      http::read(*socket_, buffer, res, ec);
      if (!ec) {
        answer.status = static_cast<int>(res.result_int());
        answer.body = std::move(res.body());
        answer.error.clear();
        if (!res.keep_alive()) socket_.reset();
        return answer;
      }
    }
    answer.error = method;
    answer.error += " ";
    answer.error += target;
    answer.error += ": ";
    answer.error += ec.message();
    socket_.reset();  // stale keep-alive connection: reopen once
  }
  return answer;
}

}  // namespace natter::bench
