// TLS (OpenSSL through Beast's ssl_stream) under a live WebSocket connection,
// and the server's TLS context built from PEM files.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <memory>
#include <string>

#include "gateway/transport.h"

namespace natter::gateway {

using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

// Loads the certificate chain and key; throws on failure (start-up only).
// TLS 1.2 and newer only.
std::shared_ptr<boost::asio::ssl::context> MakeServerTlsContext(const std::string& cert_file,
                                                                const std::string& key_file);

std::unique_ptr<Transport> MakeTlsTransport(TlsStream stream);

}  // namespace natter::gateway
