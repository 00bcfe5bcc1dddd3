// Where the client talks to: the server's URL taken apart, and for https the
// TLS context (trust store, pins) every connection to it shares.
//
// Thread-safety: immutable once made; copies are cheap and share the context.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "natter/client.h"

namespace natter::client {

struct ServerEndpoint {
  bool tls = false;
  std::string host;  // without IPv6 brackets
  std::string port;
  std::string origin;                                      // http(s)://host:port, for reasons an app developer reads
  std::string ws_origin;                                   // ws(s)://host:port
  std::shared_ptr<boost::asio::ssl::context> tls_context;  // set when tls
  std::vector<std::string> pins;                           // "sha256/<base64>"
  std::chrono::milliseconds timeout{10000};

  std::string Url(std::string_view target) const { return origin + std::string(target); }
  std::string HostHeader() const;
};

// Takes the options' server apart and loads the TLS trust; throws
// std::runtime_error saying what is wrong (a bad URL, an unreadable CA file,
// a malformed pin).
ServerEndpoint MakeServerEndpoint(const ClientOptions& options);

}  // namespace natter::client
