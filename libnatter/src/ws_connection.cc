#include "ws_connection.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "stream_open.h"

namespace natter::client {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;

namespace {

constexpr std::string_view kPath = "/v1/ws";

template <class Stream>
class Connection final : public WsConnection, public std::enable_shared_from_this<Connection<Stream>> {
 public:
  template <class... Args>
  explicit Connection(Args&&... args) : ws_(std::forward<Args>(args)...) {}

  websocket::stream<Stream>& ws() { return ws_; }

  void Read(ReadDone done) override {
    ws_.async_read(buffer_, [self = this->shared_from_this(), done = std::move(done)](
                                const boost::system::error_code& ec, size_t) {
      std::string frame = beast::buffers_to_string(self->buffer_.data());
      self->buffer_.consume(self->buffer_.size());
      done(ec, std::move(frame));
    });
  }

  void Write(std::string frame, WriteDone done) override {
    auto text = std::make_shared<std::string>(std::move(frame));
    ws_.async_write(asio::buffer(*text), [self = this->shared_from_this(), text, done = std::move(done)](
                                             const boost::system::error_code& ec, size_t) { done(ec); });
  }

  void Close() override {
    boost::system::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
  }

 private:
  websocket::stream<Stream> ws_;
  beast::flat_buffer buffer_;
};

template <class Stream>
asio::awaitable<WsOpened> Open(ServerEndpoint server, std::string token) {
  auto ex = co_await asio::this_coro::executor;
  std::shared_ptr<Connection<Stream>> conn;
  if constexpr (std::is_same_v<Stream, TlsStream>) {
    conn = std::make_shared<Connection<Stream>>(ex, *server.tls_context);
  } else {
    conn = std::make_shared<Connection<Stream>>(ex);
  }
  auto& ws = conn->ws();
  Deadline deadline(ex, server.timeout, RawSocket(ws.next_layer()));
  WsOpened opened;
  websocket::response_type upgrade;
  try {
    co_await OpenStream(ws.next_layer(), server, deadline);
    ws.set_option(websocket::stream_base::decorator(
        [token](websocket::request_type& r) { r.set(beast::http::field::authorization, "Bearer " + token); }));
    ws.read_message_max(kMaxServerFrameBytes);
    boost::system::error_code ec;
    co_await ws.async_handshake(upgrade, server.HostHeader(), kPath, asio::redirect_error(asio::use_awaitable, ec));
    if (ec && upgrade.result_int() != 0 && upgrade.result() != beast::http::status::switching_protocols) {
      opened.refused_status = static_cast<int>(upgrade.result_int());
      deadline.Fail("upgrade", "refused with HTTP " + std::to_string(upgrade.result_int()));
    }
    deadline.Check("upgrade", ec);
    // Pings after 15 s of quiet; 30 s without a byte from the server ends
    // the connection (a phone that changed networks notices).
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = std::chrono::seconds(10);
    timeouts.idle_timeout = std::chrono::seconds(30);
    timeouts.keep_alive_pings = true;
    ws.set_option(timeouts);
    opened.connection = conn;
  } catch (const std::exception& e) {
    opened.error = server.ws_origin + std::string(kPath) + ": " + e.what();
  }
  co_return opened;
}

}  // namespace

void OpenWebSocket(asio::io_context& ioc, const ServerEndpoint& server, std::string access_token,
                   std::function<void(WsOpened)> done) {
  auto finish = [done = std::move(done)](std::exception_ptr, WsOpened opened) { done(std::move(opened)); };
  if (server.tls) {
    asio::co_spawn(ioc, Open<TlsStream>(server, std::move(access_token)), std::move(finish));
  } else {
    asio::co_spawn(ioc, Open<PlainStream>(server, std::move(access_token)), std::move(finish));
  }
}

}  // namespace natter::client
