// Opening a connection to the server, plain or TLS, as a coroutine on the
// client's io_context: resolve, connect, and for TLS the handshake, the name
// check and the pins. Every step fails with a NetFailure naming the step, and
// a Deadline ends whatever step is under way when time is up. Internal to
// http_call.cc and ws_connection.cc (it brings in Beast).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "server_endpoint.h"
#include "tls_checks.h"

namespace natter::client {

using PlainStream = boost::beast::tcp_stream;
using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

struct NetFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One operation's time limit. When it passes, the resolver is cancelled and
// the socket closed, so the step waiting on either fails at once; Fail then
// says "timed out" rather than the error the closing caused.
class Deadline {
 public:
  Deadline(const boost::asio::any_io_executor& ex, std::chrono::milliseconds limit,
           boost::asio::ip::tcp::resolver& resolver, boost::asio::ip::tcp::socket& socket)
      : timer_(ex, limit), limit_(limit), state_(std::make_shared<State>(State{false, false, &resolver, &socket})) {
    // The handler may already be queued when the operation ends: it finds
    // `over` set then, and touches nothing that is gone.
    timer_.async_wait([state = state_](const boost::system::error_code& ec) {
      if (ec || state->over) return;
      state->expired = true;
      state->resolver->cancel();
      boost::system::error_code ignored;
      state->socket->close(ignored);
    });
  }
  ~Deadline() {
    state_->over = true;
    timer_.cancel();
  }
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  [[noreturn]] void Fail(const std::string& step, const std::string& error) const {
    if (state_->expired) {
      throw NetFailure(step + ": timed out after " + std::to_string(limit_.count()) + " ms");
    }
    throw NetFailure(step + ": " + error);
  }
  void Check(const std::string& step, const boost::system::error_code& ec) const {
    if (ec || state_->expired) Fail(step, ec.message());
  }

 private:
  struct State {
    bool expired;
    bool over;
    boost::asio::ip::tcp::resolver* resolver;
    boost::asio::ip::tcp::socket* socket;
  };
  boost::asio::steady_timer timer_;
  std::chrono::milliseconds limit_;
  std::shared_ptr<State> state_;
};

inline boost::asio::ip::tcp::socket& RawSocket(PlainStream& s) { return s.socket(); }
inline boost::asio::ip::tcp::socket& RawSocket(TlsStream& s) { return s.next_layer().socket(); }

// Connects `stream` (fresh) to the server; for TLS also handshakes, checks the
// certificate's name and the pins.
template <class Stream>
boost::asio::awaitable<void> OpenStream(Stream& stream, const ServerEndpoint& server, Deadline& deadline,
                                        boost::asio::ip::tcp::resolver& resolver) {
  namespace asio = boost::asio;
  boost::system::error_code ec;
  auto endpoints =
      co_await resolver.async_resolve(server.host, server.port, asio::redirect_error(asio::use_awaitable, ec));
  deadline.Check("resolve " + server.host, ec);
  auto& tcp = boost::beast::get_lowest_layer(stream);
  co_await tcp.async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
  deadline.Check("connect", ec);
  tcp.socket().set_option(asio::ip::tcp::no_delay(true), ec);
  if constexpr (std::is_same_v<Stream, TlsStream>) {
    ExpectServerName(stream.native_handle(), server.host);
    co_await stream.async_handshake(asio::ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) deadline.Fail("TLS handshake", HandshakeFailure(stream.native_handle(), ec));
    if (auto why = CheckPins(stream.native_handle(), server.pins); !why.empty()) deadline.Fail("TLS", why);
  }
}

}  // namespace natter::client
