#include "server_endpoint.h"

#include <openssl/evp.h>

#include <algorithm>
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
  // The scheme's own port goes unsaid, as a browser sends it: a presigned
  // URL's signature covers the Host header exactly as its signer wrote it.
  if (port == (tls ? "443" : "80")) return h;
  return h + ":" + port;
}

ServerEndpoint MakeServerEndpoint(const ClientOptions& options) {
  auto url = boost::urls::parse_uri(options.server);
  std::string scheme = url ? std::string(url->scheme()) : "";
  bool tls = scheme == "https" || scheme == "wss";
  if (!url || !(tls || scheme == "http" || scheme == "ws") || url->host().empty()) {
    throw std::runtime_error("server must be http://host:port or https://host:port (got " + options.server + ")");
  }
  if (options.timeout < std::chrono::milliseconds(10) || options.timeout > std::chrono::hours(1)) {
    throw std::runtime_error("the timeout must be from 10 ms to an hour");
  }
  if (options.keep_messages < 0 || options.keep_days < 0 || options.keep_days > 100'000) {
    throw std::runtime_error("keep_messages and keep_days must be >= 0 (and keep_days at most 100000)");
  }
  ServerEndpoint e;
  e.tls = tls;
  e.host = url->host_type() == boost::urls::host_type::ipv6 ? std::string(url->host_address()) : url->host();
  // A host name with control characters (a %00 among them) would be checked
  // as one name and looked up as another.
  if (std::any_of(e.host.begin(), e.host.end(), [](unsigned char c) { return c < 0x21 || c == 0x7f; })) {
    throw std::runtime_error("server host has control characters or spaces (got " + options.server + ")");
  }
  e.port = url->has_port() ? std::string(url->port()) : tls ? "443" : "80";
  if (e.port.empty() || e.port.size() > 5 || std::stoul(e.port) == 0 || std::stoul(e.port) > 65535) {
    throw std::runtime_error("server port must be 1 to 65535 (got " + options.server + ")");
  }
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
