// Limits the chat domain enforces; all come from configuration.
#pragma once

#include <cstddef>
#include <cstdint>

namespace natter::chat {

struct ChatLimits {
  size_t max_text_bytes = 16 * 1024;
  size_t max_title_bytes = 256;
  size_t max_client_msg_id_bytes = 64;
  int64_t max_group_members = 1000;
  int max_history_page = 100;
  int max_conversation_list = 500;
};

}  // namespace natter::chat
