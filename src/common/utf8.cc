#include "common/utf8.h"

#include <cstddef>
#include <cstring>

namespace natter {
namespace {

constexpr uint64_t kHighBits = 0x8080808080808080ull;

}  // namespace

bool IsValidUtf8(std::string_view text) {
  Utf8Validator validator;
  return validator.Feed(text) && validator.Complete();
}

bool Utf8Validator::Feed(std::string_view chunk) {
  if (failed_) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(chunk.data());
  const size_t n = chunk.size();
  size_t i = 0;
  while (i < n) {
    if (pending_ == 0) {
      // Between sequences: skip plain ASCII a word at a time, which is what
      // almost all chat traffic (JSON) consists of.
      while (i + 8 <= n) {
        uint64_t word;
        std::memcpy(&word, p + i, sizeof(word));
        if ((word & kHighBits) != 0) break;
        i += 8;
      }
      if (i == n) break;
      const unsigned char lead = p[i++];
      if (lead < 0x80) continue;
      // Table 3-7: the lead byte fixes the length and the range of the
      // second byte. C0, C1 and F5..FF never appear; 80..BF cannot lead.
      next_min_ = 0x80;
      next_max_ = 0xBF;
      if (lead >= 0xC2 && lead <= 0xDF) {
        pending_ = 1;
      } else if (lead == 0xE0) {
        pending_ = 2;
        next_min_ = 0xA0;  // below is an overlong 3-byte form
      } else if (lead == 0xED) {
        pending_ = 2;
        next_max_ = 0x9F;  // above is a UTF-16 surrogate
      } else if (lead >= 0xE1 && lead <= 0xEF) {
        pending_ = 2;
      } else if (lead == 0xF0) {
        pending_ = 3;
        next_min_ = 0x90;  // below is an overlong 4-byte form
      } else if (lead >= 0xF1 && lead <= 0xF3) {
        pending_ = 3;
      } else if (lead == 0xF4) {
        pending_ = 3;
        next_max_ = 0x8F;  // above is beyond U+10FFFF
      } else {
        failed_ = true;
        return false;
      }
    } else {
      const unsigned char byte = p[i++];
      if (byte < next_min_ || byte > next_max_) {
        failed_ = true;
        return false;
      }
      --pending_;
      next_min_ = 0x80;
      next_max_ = 0xBF;
    }
  }
  return true;
}

void Utf8Validator::Reset() { *this = Utf8Validator(); }

}  // namespace natter
