// Accepts TCP connections and spreads them over the workers round-robin; each
// accepted socket is created on its worker's io_context and stays there.
// Thread-safety: Start/Stop from the thread that owns the server; accepting
// runs on worker 0.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <vector>

#include "gateway/http_session.h"

namespace natter::gateway {

class Listener {
 public:
  Listener(const HttpDeps& deps, std::vector<std::unique_ptr<Worker>>& workers);
  // Binds and listens; throws on failure (start-up). Returns the bound port.
  uint16_t Listen(const std::string& address, uint16_t port);
  void Start();
  void Stop();  // no new connections

 private:
  void Accept();

  const HttpDeps& deps_;
  std::vector<std::unique_ptr<Worker>>& workers_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer pause_{acceptor_.get_executor()};  // after a failed accept
  size_t next_ = 0;
};

}  // namespace natter::gateway
