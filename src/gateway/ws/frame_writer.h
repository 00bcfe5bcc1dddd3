// Encodes server-to-client frames (RFC 6455 5.2; unmasked, as servers must)
// and compresses outbound messages for permessage-deflate (RFC 7692).
//
// Thread-safety: pure functions with no shared state, safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/ws/frame.h"

namespace natter::ws {

// Writes a FIN frame header (2, 4 or 10 bytes, always the minimal length
// encoding) into `out` and returns its length. `compressed` sets RSV1, which
// belongs only on data frames of a permessage-deflate connection.
size_t EncodeFrameHeader(Opcode op, size_t payload_len, bool compressed, uint8_t out[10]);

// Header + payload as one buffer, ready for a single write.
std::string EncodeFrame(Opcode op, std::string_view payload, bool compressed = false);

// A Close frame with `code` and `reason`. The reason is cut to fit the
// 125-byte control payload limit without splitting a UTF-8 sequence.
// kNoStatus (1005) must never appear on the wire, so it yields an empty body.
std::string EncodeCloseFrame(uint16_t code, std::string_view reason);

// Compresses one whole message for permessage-deflate with no context
// takeover: raw deflate with a fresh window, sync-flushed, and the trailing
// 00 00 ff ff removed (RFC 7692 7.2.1). `window_bits` 9..15; 8 is taken as 9
// because zlib cannot produce raw deflate with a 256-byte window. Returns
// nullopt for other window sizes, a level outside -1..9 or a zlib failure.
std::optional<std::string> DeflateMessage(std::string_view payload, int window_bits, int level = 6);

}  // namespace natter::ws
