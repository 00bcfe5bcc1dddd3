// One HTTP/1.1 JSON call to natterd (http or https), asynchronous on the
// client's io_context and bounded by the endpoint's timeout. Used for the
// calls that come before a WebSocket exists (register, login, refresh).
//
// Thread-safety: call and complete on the io_context's thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/json/value.hpp>
#include <functional>
#include <string>

#include "server_endpoint.h"

namespace natter::client {

struct HttpRequest {
  std::string method;  // "POST"
  std::string target;  // "/v1/auth/login"
  boost::json::value body;
  std::string token;  // a bearer token, or ""
};

struct HttpAnswer {
  int status = 0;  // 0: no answer (the connection failed or timed out)
  boost::json::value body;
  std::string error;  // when status is 0: the URL and what went wrong
};

void HttpCall(boost::asio::io_context& ioc, const ServerEndpoint& server, HttpRequest request,
              std::function<void(HttpAnswer)> done);

}  // namespace natter::client
