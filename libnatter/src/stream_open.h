// Opening a connection to the server, plain or TLS, as a coroutine on the
// client's io_context: look the host up, connect (each address in turn), and
// for TLS the handshake, the name check and the pins. Every step fails with a
// NetFailure naming the step, and the Deadline ends whatever step is under way
// when time is up. Internal to http_call.cc and ws_connection.cc (it brings in
// Beast).
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

#include "deadline.h"
#include "host_lookup.h"
#include "server_endpoint.h"
#include "tls_checks.h"

namespace natter::client {

using PlainStream = boost::beast::tcp_stream;
using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

inline boost::asio::ip::tcp::socket& RawSocket(PlainStream& s) { return s.socket(); }
inline boost::asio::ip::tcp::socket& RawSocket(TlsStream& s) { return s.next_layer().socket(); }

// Connects `stream` (fresh) to the server; for TLS also handshakes, checks the
// certificate's name and the pins.
template <class Stream>
boost::asio::awaitable<void> OpenStream(Stream& stream, const ServerEndpoint& server, Deadline& deadline) {
  namespace asio = boost::asio;
  boost::system::error_code ec;
  auto endpoints = co_await LookUp(server.host, server.port, deadline);
  // Each address gets its share of the time left, so an unreachable first
  // one (a broken IPv6 route) leaves time for the next.
  auto& tcp = boost::beast::get_lowest_layer(stream);
  std::string error;
  for (size_t i = 0; i < endpoints.size(); ++i) {
    tcp.expires_after(deadline.Left() / static_cast<int64_t>(endpoints.size() - i));
    co_await tcp.async_connect(endpoints[i], asio::redirect_error(asio::use_awaitable, ec));
    if (!ec || deadline.Expired()) break;
    error = (error.empty() ? "" : error + "; ") + endpoints[i].address().to_string() + ": " + ec.message();
  }
  tcp.expires_never();
  if (ec) deadline.Fail("connect", error.empty() ? ec.message() : error);
  deadline.Check("connect", ec);
  tcp.socket().set_option(asio::ip::tcp::no_delay(true), ec);
  if constexpr (std::is_same_v<Stream, TlsStream>) {
    if (!ExpectServerName(stream.native_handle(), server.host)) {
      deadline.Fail("TLS", "cannot check the certificate against the host name " + server.host);
    }
    co_await stream.async_handshake(asio::ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) deadline.Fail("TLS handshake", HandshakeFailure(stream.native_handle(), ec));
    if (auto why = CheckPins(stream.native_handle(), server.pins); !why.empty()) deadline.Fail("TLS", why);
  }
}

}  // namespace natter::client
