#include "chat/text_rules.h"

#include "common/utf8.h"

namespace natter::chat {

bool IsValidUtf8Text(std::string_view text) {
  if (!IsValidUtf8(text)) return false;
  for (unsigned char c : text) {
    if (c == 0) return false;  // NUL breaks C clients and proves nothing useful
  }
  return true;
}

Status CheckDisplayName(std::string_view name) {
  if (name.size() > kMaxDisplayNameBytes) return TooLarge("a display name is at most 64 bytes");
  if (!IsValidUtf8Text(name)) return BadRequest("a display name must be valid UTF-8");
  for (size_t i = 0; i < name.size(); ++i) {
    auto c = static_cast<unsigned char>(name[i]);
    bool c1 = c == 0xC2 && i + 1 < name.size() && static_cast<unsigned char>(name[i + 1]) >= 0x80 &&
              static_cast<unsigned char>(name[i + 1]) <= 0x9F;  // U+0080..U+009F
    if (c < 0x20 || c == 0x7F || c1) return BadRequest("a display name may not hold control characters");
  }
  return OkStatus();
}

Status CheckHandle(std::string_view handle) {
  if (handle.size() < 3 || handle.size() > 32) return BadRequest("handle must be 3 to 32 characters");
  for (size_t i = 0; i < handle.size(); ++i) {
    char c = handle[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    // A leading letter keeps handles apart from numeric user ids in paths.
    if (i == 0 && !letter) return BadRequest("handle must start with a letter");
    if (!alnum && c != '_' && c != '.' && c != '-') {
      return BadRequest("handle may contain only letters, digits, '_', '.' and '-'");
    }
  }
  return OkStatus();
}

}  // namespace natter::chat
