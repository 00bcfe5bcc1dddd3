// The chat domain's value types: what is stored and what travels on the wire.
// Plain data; safe to copy between threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace natter {

using UserId = int64_t;
using ConversationId = int64_t;
using SessionId = int64_t;
using Seq = int64_t;

// Who may add a user to a group or channel straight away; anyone else's
// addition is an invitation the user accepts or declines. Contacts are the
// users who share a conversation with them that is not large.
enum class GroupAdds { kEveryone, kContacts, kNobody };
std::string_view GroupAddsName(GroupAdds who);
std::optional<GroupAdds> ParseGroupAdds(std::string_view name);

// What a user may do to the server as a whole, beyond their own chats
// (docs/admin.md): moderators handle reports and content, admins also
// accounts and settings. Ordered by power.
enum class ServerRole { kNone = 0, kModerator = 1, kAdmin = 2 };
std::string_view ServerRoleName(ServerRole role);
std::optional<ServerRole> ParseServerRole(std::string_view name);

struct User {
  UserId id = 0;
  std::string handle;
  std::string password_hash;
  int64_t created_at = 0;  // ms since epoch
  int64_t last_seen = 0;   // ms since epoch; 0: never
  bool presence_hidden = false;
  // Bit n set: node n of a cluster holds a connection of this user (node 0
  // alone on a single server). Other nodes read it to answer presence.get.
  int64_t online_nodes = 0;
  // The profile others see: a name to show ("" for none) and a picture: the
  // stored form of an image attachment (media/attachment.h), "" for none,
  // and the upload it came from, released when it is replaced.
  std::string display_name = {};
  std::string avatar = {};
  int64_t avatar_upload = 0;
  // Who may put this user into a group or channel without asking first;
  // none: they never chose, the server's default applies.
  std::optional<GroupAdds> group_adds = {};
  ServerRole server_role = ServerRole::kNone;  // as stored; the config may name more (docs/admin.md)
  int64_t suspended_at = 0;                    // ms; 0: not suspended
  // ms; 0: not erased. An erased account keeps only its id (docs/admin.md).
  int64_t erased_at = 0;
  // A bot: made by an admin, signs in with its long-lived token, never a password.
  bool bot = false;
};

// One line of the audit log: an operator's call, or a sign-in.
struct AuditEntry {
  int64_t id = 0;  // assigned by the store, increasing
  int64_t at_ms = 0;
  UserId actor = 0;        // who did it (0: not signed in)
  std::string action;      // the method's name, or auth.login, auth.login_failed, auth.register
  UserId target_user = 0;  // whom it was about, if anyone
  std::string detail;      // a JSON object: the params, secrets left out
  std::string address;     // the client's address
  std::string outcome;     // "ok", or the error code
};

// A user's report of a message or another user, for moderators to review.
struct Report {
  int64_t id = 0;  // assigned by the store, increasing
  int64_t created_at = 0;
  UserId reporter = 0;
  UserId target_user = 0;              // who is reported (a message's sender)
  ConversationId conversation_id = 0;  // with `seq`: the message reported; 0 for a user
  Seq seq = 0;
  std::string reason;          // spam, harassment, hate, sexual, violence, illegal, other
  std::string text;            // the reporter's words
  std::string message_text;    // the message as it was when reported
  std::string state = "open";  // open, resolved
  UserId resolved_by = 0;
  int64_t resolved_at = 0;
  std::string resolution = {};  // what was done: dismissed, message_deleted, user_suspended
  std::string note = {};        // the moderator's words
};

// A code that lets its holders register while registration is by
// invitation. Only a hash of the code is kept.
struct InviteCode {
  int64_t id = 0;  // assigned by the store
  std::string code_hash;
  std::string hint;  // the code's first characters, to tell codes apart
  UserId created_by = 0;
  int64_t created_at = 0;
  int64_t expires_at = 0;  // ms; 0: never
  int64_t uses_left = 0;
};

// Which audit lines to read: newest first, below `before_id`.
struct AuditQuery {
  UserId actor = 0;        // 0: anyone
  UserId target_user = 0;  // 0: anyone
  std::string action;      // empty: any
  int64_t before_id = INT64_MAX;
  int limit = 100;
};

// A user's position in their own update log (design: Telegram's pts).
struct UpdateLogState {
  int64_t pts = 0;        // the newest entry
  int64_t pts_floor = 0;  // entries at or below were pruned
};

// One entry of a user's update log: conversation `conversation_id` changed,
// from timeline position `seq` on (0: a change outside the timeline, such as
// receipts).
struct UserUpdate {
  int64_t pts = 0;
  ConversationId conversation_id = 0;
  int64_t seq = 0;
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

// A bot's long-lived token (only its hash is kept), and the session the
// access tokens it is exchanged for belong to.
struct BotToken {
  std::string token_hash;
  UserId user_id = 0;
  SessionId session_id = 0;
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
  // Large groups and channels: no presence, typing or others' receipts
  // through them, and sync items list only the caller as member.
  bool large = false;
  // Members follow it by its own sequence: its events write no update-log row
  // per member (only for whom they concern). Large ones, and groups past
  // ChatLimits::logged_group_members.
  bool by_seq = false;
  // End-to-end encrypted (docs/e2ee.md): set at creation, never removed.
  bool encrypted = false;
};

struct Member {
  ConversationId conversation_id = 0;
  UserId user_id = 0;
  Role role = Role::kMember;
  int64_t joined_at = 0;
  Seq read_seq = 0;  // watermarks: only move forward
  Seq delivered_seq = 0;
  // ms: a server moderator muted them here until then (kMutedForever: until
  // lifted); 0: not muted. A muted member reads but may not post or react.
  int64_t silenced_until = 0;
};

// A server moderator's ban of a user from a conversation: they are out of it
// and nobody may add them back until it is lifted.
struct ConversationBan {
  ConversationId conversation_id = 0;
  UserId user_id = 0;
  UserId banned_by = 0;
  int64_t banned_at = 0;
  std::string reason;
};

// An addition waiting for the added user's consent, kept with the
// conversation.
struct Invitation {
  ConversationId conversation_id = 0;
  UserId user_id = 0;     // who is invited
  UserId invited_by = 0;  // who added them
  Role role = Role::kMember;
  int64_t created_at = 0;
};

// An invitation as its user sees it: with the conversation it leads to.
struct PendingInvitation {
  Invitation invitation;
  Conversation conversation;
  int64_t members = 0;
};

// What a timeline entry is. Messages hold their current state; the other kinds
// are events about a message or the conversation, each with its own seq.
enum class EventKind {
  kMessage,
  kEdit,           // target_seq edited; text is the new text
  kDelete,         // target_seq deleted for everyone
  kReaction,       // text is the emoji, empty when removed; target_seq the message
  kMemberJoined,   // target_user joined or was added (sender: who added)
  kMemberLeft,     // target_user left
  kMemberRemoved,  // target_user removed by sender
  kRoleChanged,    // target_user's role is now `text`
  kTitleChanged,   // the title is now `text`
};
std::string_view EventKindName(EventKind kind);
std::optional<EventKind> ParseEventKind(std::string_view name);

struct Reaction {
  UserId user_id = 0;
  std::string emoji;
};

// One timeline entry (a message or an event), in the conversation's sequence.
// One ciphertext of an end-to-end encrypted message, opaque to natterd: for
// one device of a user, or (user_id 0) the message's header, naming the
// device that sent it and holding the ciphertext every device shares (a
// sender-key message; empty when there is none).
struct Envelope {
  UserId user_id = 0;
  int64_t device_id = 0;
  int type = 0;      // the protocol's message type, carried for the client
  std::string body;  // base64url
};

struct Message {
  ConversationId conversation_id = 0;
  Seq seq = 0;
  EventKind kind = EventKind::kMessage;
  UserId sender_id = 0;
  std::string client_msg_id;  // messages only
  std::string text;
  std::optional<Seq> reply_to;
  std::optional<Seq> target_seq;
  std::optional<UserId> target_user;
  int64_t created_at = 0;  // ms since epoch, assigned at commit
  std::optional<int64_t> edited_at;
  bool deleted = false;  // a tombstone: the text is gone
  // Messages only: the attachments as a JSON array (media/attachment.h), or
  // empty. Opaque to the chat domain and the store.
  std::string attachments;
  std::vector<Reaction> reactions;  // messages only, when loaded with them
  // Encrypted conversations: the header first, then the envelopes loaded
  // for whoever reads it (a reader gets only their own devices').
  std::vector<Envelope> envelopes;
};

// Where a listing of a user's conversations, newest activity first, goes on:
// with those ordered after (last_activity, id). The default is the top.
struct ListCursor {
  int64_t last_activity = INT64_MAX;
  ConversationId id = INT64_MAX;
};

// One row of "my conversations".
struct ConversationSummary {
  Conversation conversation;
  Role my_role = Role::kMember;
  Seq my_read_seq = 0;
  Seq my_delivered_seq = 0;
  int64_t unread = 0;
  int64_t my_muted_until = 0;  // ms; 0: not muted
  std::optional<Message> last_message;
};

}  // namespace natter
