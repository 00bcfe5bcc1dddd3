// Limits and rules the chat domain enforces; all come from configuration.
#pragma once

#include <cstddef>
#include <cstdint>

#include "natter/model.h"
#include "store/webhook_events.h"

namespace natter::chat {

struct ChatLimits {
  size_t max_text_bytes = 16 * 1024;
  size_t max_title_bytes = 256;
  size_t max_client_msg_id_bytes = 64;
  int64_t max_group_members = 1000;
  // What one user may do per hour: create conversations, and put people in
  // them (each member of a new group, each user added, counts one).
  int max_conversations_per_hour = 100;
  int max_member_adds_per_hour = 1000;
  int max_reports_per_hour = 20;
  // keys.bundle calls per user per hour: each hands out one-time prekeys.
  int max_key_bundles_per_hour = 1000;
  int max_history_page = 100;
  int max_conversation_list = 500;
  // Groups with more members are large (Conversation::large); channels always are.
  int64_t large_conversation_members = 100;
  // Groups with more members are followed by seq (Conversation::by_seq): their
  // events write one row, not one update-log row per member. At most
  // large_conversation_members counts (large ones are followed by seq).
  int64_t logged_group_members = 20;
  // Update-log entries kept per user; older sync tokens get "resync required".
  int64_t update_log_retention = 100000;
  // Newest events per conversation in one catch-up; older ones are a gap marker.
  int sync_page = 50;
  // Most conversations one catch-up returns before asking for a full resync.
  int max_sync_conversations = 2000;
  // Edits are allowed this long after sending.
  int64_t edit_window_ms = 48LL * 3600 * 1000;
  size_t max_emoji_bytes = 32;
  // Who may add a user who never chose (User::group_adds) without an invitation.
  GroupAdds default_group_adds = GroupAdds::kContacts;
  // The timeline events (and reports) queued for the operator's webhook, in
  // the transaction that makes them (docs/webhooks.md); none without a URL.
  WebhookSelection webhooks = {};
};

}  // namespace natter::chat
