// One blocking HTTP/1.1 JSON call to natterd, bounded by a timeout. Used on
// the client's own thread for the few calls that come before a WebSocket
// exists (register, login, refresh).
// Thread-safety: a free function; safe from any thread.
#pragma once

#include <boost/json/value.hpp>
#include <string>

namespace natter::client {

struct HttpAnswer {
  int status = 0;  // 0: no answer (connection failed or timed out)
  boost::json::value body;
  std::string transport_error;
};

HttpAnswer HttpCall(const std::string& host, const std::string& port, const std::string& method,
                    const std::string& target, const boost::json::value& body, const std::string& token = "");

}  // namespace natter::client
