// Checks on user-supplied text shared by every use case (titles, messages).
#pragma once

#include <string_view>

#include "natter/status.h"

namespace natter::chat {

bool IsValidUtf8Text(std::string_view text);
// Handles: 3-32 characters of [A-Za-z0-9_.-], starting with a letter; unique
// regardless of case.
Status CheckHandle(std::string_view handle);
// Display names: at most 64 bytes of UTF-8 without control characters (a
// name is shown on one line, in other people's lists); "" for none.
inline constexpr size_t kMaxDisplayNameBytes = 64;
Status CheckDisplayName(std::string_view name);

}  // namespace natter::chat
