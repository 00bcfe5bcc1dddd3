#include "gateway/ws/masking.h"

#include <cstring>

namespace natter::ws {

uint8_t ApplyMask(const char* src, char* dst, size_t len, const MaskKey& key, uint8_t phase) {
  // Two copies of the key, rotated to the current phase, make one 64-bit
  // mask. Building it byte by byte keeps the code independent of endianness;
  // memcpy keeps the word loads legal for unaligned payloads.
  uint8_t rotated[8];
  for (size_t i = 0; i < 8; ++i) rotated[i] = key[(phase + i) & 3];
  uint64_t word_mask;
  std::memcpy(&word_mask, rotated, sizeof(word_mask));

  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t word;
    std::memcpy(&word, src + i, sizeof(word));
    word ^= word_mask;
    std::memcpy(dst + i, &word, sizeof(word));
  }
  // i is a multiple of 8 here, hence of 4, so the rotated key still lines up.
  for (; i < len; ++i) dst[i] = static_cast<char>(src[i] ^ rotated[i & 3]);
  return static_cast<uint8_t>((phase + len) & 3);
}

}  // namespace natter::ws
