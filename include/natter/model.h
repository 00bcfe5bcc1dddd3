// The chat domain's value types: what is stored and what travels on the wire.
// Plain data; safe to copy between threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace natter {

using UserId = int64_t;
using ConversationId = int64_t;
using SessionId = int64_t;
using Seq = int64_t;

struct User {
  UserId id = 0;
  std::string handle;
  std::string password_hash;
  int64_t created_at = 0;  // ms since epoch
};

// One logged-in device. Refresh tokens rotate within a session; revoking the
// session ends every token issued for it.
struct Session {
  SessionId id = 0;
  UserId user_id = 0;
  std::string device;
  bool revoked = false;
  int64_t created_at = 0;
};

struct RefreshTokenRecord {
  std::string token_hash;
  SessionId session_id = 0;
  bool used = false;
};

enum class ConversationKind { kDirect, kGroup, kChannel };
std::string_view KindName(ConversationKind kind);
std::optional<ConversationKind> ParseKind(std::string_view name);

// Ordered by power: a role may do what every weaker role may.
enum class Role { kReadOnly = 0, kMember = 1, kAdmin = 2, kOwner = 3 };
std::string_view RoleName(Role role);
std::optional<Role> ParseRole(std::string_view name);

struct Conversation {
  ConversationId id = 0;
  ConversationKind kind = ConversationKind::kGroup;
  std::string title;
  std::string direct_key;  // "<low id>:<high id>" for direct chats, empty otherwise
  UserId created_by = 0;
  int64_t created_at = 0;
  Seq last_seq = 0;
  int64_t last_activity = 0;
};

struct Member {
  ConversationId conversation_id = 0;
  UserId user_id = 0;
  Role role = Role::kMember;
  int64_t joined_at = 0;
  Seq read_seq = 0;
};

struct Message {
  ConversationId conversation_id = 0;
  Seq seq = 0;
  UserId sender_id = 0;
  std::string client_msg_id;
  std::string text;
  std::optional<Seq> reply_to;
  int64_t created_at = 0;  // ms since epoch, assigned at commit
};

// One row of "my conversations".
struct ConversationSummary {
  Conversation conversation;
  Role my_role = Role::kMember;
  Seq my_read_seq = 0;
  int64_t unread = 0;
  std::optional<Message> last_message;
};

}  // namespace natter
