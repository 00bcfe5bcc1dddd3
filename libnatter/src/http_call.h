// One HTTP/1.1 call (http or https), asynchronous on the client's io_context
// and bounded by the endpoint's timeout (longer for what carries bytes): JSON calls to natterd for what comes
// before a WebSocket exists (register, login, refresh), and byte transfers
// (uploads by tus to natterd, parts to an object store).
//
// Thread-safety: call and complete on the io_context's thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

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

struct BytesRequest {
  std::string method;  // "PATCH"
  std::string target;  // the path and query
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct BytesAnswer {
  int status = 0;                              // 0: no answer
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string error;  // when status is 0
};

void BytesCall(boost::asio::io_context& ioc, const ServerEndpoint& server, BytesRequest request,
               std::function<void(BytesAnswer)> done);

// A GET whose body goes to `path` (written as `path`.part, renamed once
// whole); at most `max_bytes`. The answer's body is empty.
void DownloadCall(boost::asio::io_context& ioc, const ServerEndpoint& server, std::string target, std::string path,
                  int64_t max_bytes, std::function<void(BytesAnswer)> done);

// A call moving `bytes` may take the endpoint's timeout plus a second for
// every 16 KiB: a slow uplink finishes, a stalled one does not go on for ever.
std::chrono::milliseconds TransferLimit(std::chrono::milliseconds timeout, int64_t bytes);

}  // namespace natter::client
