// One HTTP/1.1 connection (Boost.Beast): serves the REST API, the operations
// endpoints and, on a WebSocket upgrade, hands its socket to a WsConnection.
// Every request must arrive within the HTTP timeout and the header and body
// limits, so a slow or endless handshake costs nothing for long.
// Thread-safety: lives on one worker, like the connection it may become.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <functional>
#include <memory>

#include "common/mutex.h"
#include "gateway/ws_connection.h"

namespace natter::media {
class MediaService;
}

namespace natter::gateway {

// The TLS context new connections get. Replaced when the certificate is
// reloaded (SIGHUP); a connection keeps the one it began with (its SSL holds
// a reference to the SSL_CTX, whatever becomes of the asio context).
class TlsContextSlot {
 public:
  explicit TlsContextSlot(std::shared_ptr<boost::asio::ssl::context> context) : context_(std::move(context)) {}
  std::shared_ptr<boost::asio::ssl::context> Get() const {
    MutexLock lock(mu_);
    return context_;
  }
  // Returns the one it replaces.
  std::shared_ptr<boost::asio::ssl::context> Replace(std::shared_ptr<boost::asio::ssl::context> context) {
    MutexLock lock(mu_);
    std::swap(context, context_);
    return context;
  }

 private:
  mutable Mutex mu_;
  std::shared_ptr<boost::asio::ssl::context> context_ GUARDED_BY(mu_);
};

struct HttpDeps {
  ConnectionDeps connection;
  std::function<bool()> ready;          // for /readyz
  std::shared_ptr<TlsContextSlot> tls;  // set: https and wss only
  // More /readyz lines ("broker: reconnecting\n"): the state of the links a
  // cluster node depends on. Null when there are none.
  std::function<std::string()> ready_details = nullptr;
  // Uploads (tus at /v1/uploads) and signed downloads (/v1/media/blob/...);
  // null: those paths are not found.
  media::MediaService* media = nullptr;
};

// Starts serving `socket` (which belongs to `worker`'s io_context).
void StartHttpSession(const HttpDeps& deps, Worker& worker, boost::asio::ip::tcp::socket socket);

}  // namespace natter::gateway
