// XOR masking of client-to-server payloads (RFC 6455 5.3), which the reader
// applies to every byte it receives, so it works a machine word at a time.
//
// Thread-safety: pure functions, safe from any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace natter::ws {

using MaskKey = std::array<uint8_t, 4>;

// Writes src[i] ^ key[(phase + i) % 4] to dst[i] for i < len and returns the
// phase for the byte that follows, so a payload can be unmasked in pieces as
// it arrives. dst may equal src (in-place); other overlaps are not allowed.
uint8_t ApplyMask(const char* src, char* dst, size_t len, const MaskKey& key, uint8_t phase);

}  // namespace natter::ws
