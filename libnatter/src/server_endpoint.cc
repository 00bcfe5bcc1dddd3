#include "server_endpoint.h"

#include <openssl/evp.h>

#include <boost/url/parse.hpp>
#include <stdexcept>

namespace natter::client {

namespace ssl = boost::asio::ssl;

namespace {

bool IsPin(const std::string& pin) {
  constexpr std::string_view kPrefix = "sha256/";
  if (pin.size() != kPrefix.size() + 44 || pin.compare(0, kPrefix.size(), kPrefix) != 0) return false;
  unsigned char digest[48];
  int n = EVP_DecodeBlock(digest, reinterpret_cast<const unsigned char*>(pin.data() + kPrefix.size()), 44);
  return n == 33 && pin.back() == '=';  // 32 bytes and one byte of padding
}

std::shared_ptr<ssl::context> MakeTlsContext(const ClientOptions& options) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  ctx->set_verify_mode(ssl::verify_peer);
  boost::system::error_code ec;
  if (options.ca_file.empty()) {
    ctx->set_default_verify_paths(ec);
    if (ec) throw std::runtime_error("the system's CA store cannot be loaded: " + ec.message());
  } else {
    ctx->load_verify_file(options.ca_file, ec);
    if (ec) throw std::runtime_error("ca_file " + options.ca_file + " cannot be loaded: " + ec.message());
  }
  return ctx;
}

}  // namespace

std::string ServerEndpoint::HostHeader() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + port;
}

ServerEndpoint MakeServerEndpoint(const ClientOptions& options) {
  auto url = boost::urls::parse_uri(options.server);
  std::string scheme = url ? std::string(url->scheme()) : "";
  bool tls = scheme == "https" || scheme == "wss";
  if (!url || !(tls || scheme == "http" || scheme == "ws") || url->host().empty()) {
    throw std::runtime_error("server must be http://host:port or https://host:port (got " + options.server + ")");
  }
  ServerEndpoint e;
  e.tls = tls;
  e.host = url->host_type() == boost::urls::host_type::ipv6 ? std::string(url->host_address()) : url->host();
  e.port = url->has_port() ? std::string(url->port()) : tls ? "443" : "80";
  e.origin = std::string(tls ? "https" : "http") + "://" + e.HostHeader();
  e.ws_origin = std::string(tls ? "wss" : "ws") + "://" + e.HostHeader();
  e.timeout = options.timeout;
  if (tls) e.tls_context = MakeTlsContext(options);
  for (const auto& pin : options.pins) {
    if (!IsPin(pin)) throw std::runtime_error("pin '" + pin + "' is not sha256/<base64 of 32 bytes>");
    e.pins.push_back(pin);
  }
  if (!e.pins.empty() && !tls) throw std::runtime_error("pins need an https:// server (got " + options.server + ")");
  return e;
}

}  // namespace natter::client
