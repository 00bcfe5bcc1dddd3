// A blocking HTTP/1.1 client on one keep-alive connection, for provisioning
// users and conversations before a run (not measured, so simplicity wins).
// Every call is bounded by a socket timeout; a broken connection is reopened
// once per request.
//
// Thread-safety: not thread-safe; one HttpClient per thread.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace natter::bench {

struct HttpAnswer {
  int status = 0;  // 0: no answer (error says why)
  std::string body;
  std::string error;
  bool ok() const { return status == 200; }
};

class HttpClient {
 public:
  HttpClient(std::string host, unsigned short port, int timeout_ms = 15000);
  ~HttpClient();

  HttpAnswer Request(const std::string& method, const std::string& target, const std::string& body,
                     const std::string& bearer = "",
                     const std::vector<std::pair<std::string, std::string>>& headers = {});

 private:
  bool Connect(std::string& error);

  std::string host_;
  unsigned short port_;
  int timeout_ms_;
  boost::asio::io_context ioc_;
  std::unique_ptr<boost::asio::ip::tcp::socket> socket_;
};

}  // namespace natter::bench
