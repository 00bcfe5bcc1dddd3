#include "chat/text_rules.h"

#include <string>

#include "common/utf8.h"

namespace natter::chat {

namespace {

// The code point at `i` of valid UTF-8, moving `i` past it.
char32_t DecodeOne(std::string_view s, size_t& i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char lead = byte(i);
  if (lead < 0x80) return s[i++];
  int extra = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : 1;
  char32_t cp = lead & (0x3F >> extra);
  for (int k = 1; k <= extra; ++k) cp = (cp << 6) | (byte(i + k) & 0x3F);
  i += extra + 1;
  return cp;
}

// What would let a name break a line, reorder the text around it, or hide:
// controls (Cc), line and paragraph separators, and format characters (Cf)
// but the zero-width joiner emoji sequences need.
bool IsInvisibleOrControl(char32_t cp) {
  if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) return true;
  if (cp == 0x00AD || cp == 0x061C || cp == 0x180E || cp == 0xFEFF) return true;
  if (cp >= 0x200B && cp <= 0x200F && cp != 0x200D) return true;
  if (cp >= 0x2028 && cp <= 0x202E) return true;
  if (cp >= 0x2060 && cp <= 0x206F) return true;
  if (cp >= 0xFFF9 && cp <= 0xFFFB) return true;
  return cp >= 0xE0000 && cp <= 0xE007F;  // tags
}

}  // namespace

bool IsValidUtf8Text(std::string_view text) {
  if (!IsValidUtf8(text)) return false;
  for (unsigned char c : text) {
    if (c == 0) return false;  // NUL breaks C clients and proves nothing useful
  }
  return true;
}

Status CheckDisplayName(std::string_view name) {
  if (name.size() > kMaxDisplayNameBytes) {
    return TooLarge("a display name is at most " + std::to_string(kMaxDisplayNameBytes) + " bytes");
  }
  if (!IsValidUtf8Text(name)) return BadRequest("a display name must be valid UTF-8");
  bool visible = name.empty();  // "" clears the name
  for (size_t i = 0; i < name.size();) {
    char32_t cp = DecodeOne(name, i);
    if (IsInvisibleOrControl(cp)) {
      return BadRequest("a display name may not hold control, format or invisible characters");
    }
    if (cp != U' ' && cp != U'\u00A0' && cp != U'\u3000') visible = true;
  }
  if (!visible) return BadRequest("a display name needs something to show");
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
