// The client's WebSocket to natterd (ws or wss), behind an interface so the
// client core does not depend on the stream type: open (resolve, connect,
// TLS, upgrade) within the endpoint's timeout, then read and write frames.
//
// Thread-safety: use on the io_context's thread; one read and one write at a
// time. Handlers run even after Close (with an error).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/system/error_code.hpp>
#include <functional>
#include <memory>
#include <string>

#include "server_endpoint.h"

namespace natter::client {

class WsConnection {
 public:
  using ReadDone = std::function<void(const boost::system::error_code&, std::string frame)>;
  using WriteDone = std::function<void(const boost::system::error_code&)>;

  virtual ~WsConnection() = default;
  virtual void Read(ReadDone done) = 0;
  virtual void Write(std::string frame, WriteDone done) = 0;
  // Closes the socket at once; pending reads and writes end with an error.
  virtual void Close() = 0;
};

struct WsOpened {
  std::shared_ptr<WsConnection> connection;  // null when the attempt failed
  int refused_status = 0;                    // the HTTP status of a refused upgrade (401: the token)
  std::string error;                         // when it failed: the URL and what went wrong
};

// Frames larger than this from the server end the connection.
inline constexpr size_t kMaxServerFrameBytes = 16 << 20;

void OpenWebSocket(boost::asio::io_context& ioc, const ServerEndpoint& server, std::string access_token,
                   std::function<void(WsOpened)> done);

}  // namespace natter::client
