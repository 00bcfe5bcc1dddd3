// natter's interactive chat in one conversation: the latest messages, then
// every new entry as it comes, the states of your own messages, who is
// typing, and the connection; a line you type is sent, and /commands edit,
// delete, react and reply. In a terminal it reads keys as they are typed (so
// the others see you typing); from a pipe it reads lines.
#pragma once

#include <cstdint>

#include "session.h"

namespace natter::cli {

// Returns the exit status (0 after Ctrl-D or /quit).
int Chat(Session& session, int64_t conversation_id);

}  // namespace natter::cli
