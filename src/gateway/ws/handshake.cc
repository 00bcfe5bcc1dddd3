#include "gateway/ws/handshake.h"

#include <openssl/evp.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace natter::ws {
namespace {

constexpr std::string_view kAcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
constexpr size_t kClientKeyChars = 24;  // base64 of 16 bytes, with "=="
constexpr int kMinWindowBits = 8;       // the range RFC 7692 allows
constexpr int kMaxWindowBits = 15;
constexpr int kMinZlibWindowBits = 9;  // what zlib can do for raw deflate

bool IsBase64Symbol(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

// RFC 7230 3.2.6 tchar: what an extension or parameter name may contain.
bool IsTokenChar(char c) {
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsToken(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), IsTokenChar); }

std::string_view TrimWhitespace(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

// Splits on `separator` except inside quoted strings (which may contain
// backslash escapes), so a quoted value holding ',' or ';' stays whole. An
// unterminated quote runs to the end; the piece then fails to parse.
std::vector<std::string_view> SplitOutsideQuotes(std::string_view s, char separator) {
  std::vector<std::string_view> pieces;
  size_t start = 0;
  bool quoted = false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (quoted) {
      if (s[i] == '\\') {
        ++i;
      } else if (s[i] == '"') {
        quoted = false;
      }
    } else if (s[i] == '"') {
      quoted = true;
    } else if (s[i] == separator) {
      pieces.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  pieces.push_back(s.substr(start));
  return pieces;
}

// A parameter value: a token, or a quoted-string whose content must then be
// a token too (RFC 6455 9.1). nullopt if malformed.
std::optional<std::string> ParseValue(std::string_view raw) {
  if (raw.empty() || raw.front() != '"') {
    if (!IsToken(raw)) return std::nullopt;
    return std::string(raw);
  }
  if (raw.size() < 2 || raw.back() != '"') return std::nullopt;
  std::string value;
  for (size_t i = 1; i + 1 < raw.size(); ++i) {
    if (raw[i] == '\\') {
      if (++i + 1 >= raw.size()) return std::nullopt;  // escaped the closing quote
    } else if (raw[i] == '"') {
      return std::nullopt;  // a stray quote inside
    }
    value.push_back(raw[i]);
  }
  if (!IsToken(value)) return std::nullopt;
  return value;
}

// Window bits as RFC 7692 7.1.2 writes them: 8..15, no leading zeros.
std::optional<int> ParseWindowBits(std::string_view value) {
  if (value.empty() || value.size() > 2 || value.front() == '0') return std::nullopt;
  int bits = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    bits = bits * 10 + (c - '0');
  }
  if (bits < kMinWindowBits || bits > kMaxWindowBits) return std::nullopt;
  return bits;
}

// The server window to use for one permessage-deflate offer's parameters,
// or nullopt if the offer is unacceptable.
std::optional<int> AcceptDeflateOffer(const std::vector<std::string_view>& params, int server_bits) {
  bool seen_server_no_takeover = false;
  bool seen_client_no_takeover = false;
  bool seen_server_bits = false;
  bool seen_client_bits = false;
  for (std::string_view param : params) {
    const size_t eq = param.find('=');
    const std::string_view name = TrimWhitespace(param.substr(0, eq));
    std::optional<std::string> value;
    if (eq != std::string_view::npos) {
      value = ParseValue(TrimWhitespace(param.substr(eq + 1)));
      if (!value) return std::nullopt;
    }
    auto first_time = [](bool& seen) { return !std::exchange(seen, true); };
    if (EqualsIgnoreCase(name, "server_no_context_takeover")) {
      if (value || !first_time(seen_server_no_takeover)) return std::nullopt;
    } else if (EqualsIgnoreCase(name, "client_no_context_takeover")) {
      if (value || !first_time(seen_client_no_takeover)) return std::nullopt;
    } else if (EqualsIgnoreCase(name, "server_max_window_bits")) {
      if (!value || !first_time(seen_server_bits)) return std::nullopt;
      const std::optional<int> limit = ParseWindowBits(*value);
      // 8 is legal but zlib cannot stay within it: decline this offer.
      if (!limit || *limit < kMinZlibWindowBits) return std::nullopt;
      server_bits = std::min(server_bits, *limit);
    } else if (EqualsIgnoreCase(name, "client_max_window_bits")) {
      // Only says the client could use a smaller window; we inflate with 15,
      // which reads any window, so the response leaves it out.
      if (!first_time(seen_client_bits)) return std::nullopt;
      if (value && !ParseWindowBits(*value)) return std::nullopt;
    } else {
      return std::nullopt;
    }
  }
  return server_bits;
}

}  // namespace

bool IsValidClientKey(std::string_view key) {
  if (key.size() != kClientKeyChars || key[22] != '=' || key[23] != '=') return false;
  if (!std::all_of(key.begin(), key.begin() + 22, IsBase64Symbol)) return false;
  // 16 bytes are 128 bits; 22 symbols carry 132, so the last symbol's low
  // four bits must be zero: only A, Q, g and w qualify.
  return std::string_view("AQgw").find(key[21]) != std::string_view::npos;
}

std::string ComputeAcceptKey(std::string_view key) {
  std::string input;
  input.reserve(key.size() + kAcceptGuid.size());
  input.append(key).append(kAcceptGuid);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (EVP_Digest(input.data(), input.size(), digest, &digest_len, EVP_sha1(), nullptr) != 1) {
    return {};  // only if OpenSSL itself is broken; the upgrade then fails
  }
  // EVP_EncodeBlock writes 4 characters per 3 bytes plus a terminating NUL.
  unsigned char encoded[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
  const int encoded_len = EVP_EncodeBlock(encoded, digest, static_cast<int>(digest_len));
  return std::string(reinterpret_cast<const char*>(encoded), static_cast<size_t>(encoded_len));
}

std::optional<std::string> NegotiateDeflate(std::string_view extensions_header, const DeflateConfig& config) {
  if (!config.enabled) return std::nullopt;
  const int configured_bits = std::clamp(config.server_max_window_bits, kMinZlibWindowBits, kMaxWindowBits);
  for (std::string_view offer : SplitOutsideQuotes(extensions_header, ',')) {
    std::vector<std::string_view> parts = SplitOutsideQuotes(offer, ';');
    if (!EqualsIgnoreCase(TrimWhitespace(parts.front()), "permessage-deflate")) continue;
    parts.erase(parts.begin());
    const std::optional<int> bits = AcceptDeflateOffer(parts, configured_bits);
    if (!bits) continue;
    // We always drop our context between messages (server_no_context_takeover)
    // and ask the client to do the same, so neither side keeps a 32 KiB
    // window per idle connection.
    std::string response = "permessage-deflate; server_no_context_takeover; client_no_context_takeover";
    if (*bits < kMaxWindowBits) response += "; server_max_window_bits=" + std::to_string(*bits);
    return response;
  }
  return std::nullopt;
}

}  // namespace natter::ws
