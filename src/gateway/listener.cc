#include "gateway/listener.h"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

namespace natter::gateway {

using boost::asio::ip::tcp;

Listener::Listener(const HttpDeps& deps, std::vector<std::unique_ptr<Worker>>& workers)
    : deps_(deps), workers_(workers), acceptor_(workers.front()->context()) {}

uint16_t Listener::Listen(const std::string& address, uint16_t port) {
  tcp::endpoint endpoint(boost::asio::ip::make_address(address), port);
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(4096);
  return acceptor_.local_endpoint().port();
}

void Listener::Start() {
  boost::asio::post(acceptor_.get_executor(), [this] { Accept(); });
}

void Listener::Stop() {
  boost::asio::post(acceptor_.get_executor(), [this] {
    boost::system::error_code ec;
    acceptor_.close(ec);
    pause_.cancel();
  });
}

void Listener::Accept() {
  Worker& worker = *workers_[next_++ % workers_.size()];
  acceptor_.async_accept(worker.context(), [this, &worker](boost::system::error_code ec, tcp::socket socket) {
    if (ec == boost::asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      // Out of file descriptors and the like: log, pause a moment, keep serving.
      spdlog::warn("accept failed: {}", ec.message());
      pause_.expires_after(std::chrono::milliseconds(100));
      pause_.async_wait([this](const boost::system::error_code& wait_ec) {
        if (!wait_ec) Accept();
      });
      return;
    } else {
      boost::asio::post(worker.context(), [this, &worker, s = std::move(socket)]() mutable {
        StartHttpSession(deps_, worker, std::move(s));
      });
    }
    Accept();
  });
}

}  // namespace natter::gateway
