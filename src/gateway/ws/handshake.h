// The WebSocket parts of the HTTP upgrade that Boost.Beast does not decide
// for us: checking Sec-WebSocket-Key, computing Sec-WebSocket-Accept
// (RFC 6455 4.2) and negotiating permessage-deflate (RFC 7692 7.1).
//
// Thread-safety: pure functions, safe from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace natter::ws {

// True if `key` is canonical base64 of exactly 16 bytes: 24 characters, the
// last two "==", and zero bits in the unused low bits of the last symbol.
bool IsValidClientKey(std::string_view key);

// base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")).
std::string ComputeAcceptKey(std::string_view key);

struct DeflateConfig {
  bool enabled = true;
  // Largest window the server compresses with; clamped to 9..15 (zlib
  // cannot produce raw deflate with 8).
  int server_max_window_bits = 15;
};

// Parses a Sec-WebSocket-Extensions request header (several comma-separated
// offers, each with ;params, quoted values allowed) and returns the response
// value for the first acceptable permessage-deflate offer:
// "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
// plus "; server_max_window_bits=N" when N < 15. N never exceeds the client's
// server_max_window_bits. Offers with unknown, duplicate or out-of-range
// parameters are skipped, as are offers that demand a window of 8 (which
// zlib cannot honour). nullopt when disabled or nothing acceptable was
// offered.
std::optional<std::string> NegotiateDeflate(std::string_view extensions_header, const DeflateConfig& config);

}  // namespace natter::ws
