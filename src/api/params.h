// The typed parameters of every API method, read once from the request's JSON
// object (HTTP body, query and path merged, or the WebSocket frame). Each
// Parse answers bad_request naming the first missing or wrongly typed field,
// in the order the fields are listed here, and reads nothing else.
//
// Thread-safety: plain values.
#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chat/send_message.h"
#include "media/s3_client.h"
#include "natter/model.h"
#include "natter/status.h"
#include "store/store.h"

namespace natter::api {

using boost::json::object;

struct NoParams {
  static Result<NoParams> Parse(const object&) { return NoParams{}; }
};

struct RegisterParams {
  std::string handle;
  std::string password;
  std::string invite_code = {};  // while registration is by invitation
  static Result<RegisterParams> Parse(const object& o);
};

// auth.external: a token of the operator's own backend (docs/admin.md).
struct ExternalLoginParams {
  std::string token;
  std::string device;
  static Result<ExternalLoginParams> Parse(const object& o);
};

// auth.bot: a bot's long-lived token, for an access token.
struct BotLoginParams {
  std::string token;
  static Result<BotLoginParams> Parse(const object& o);
};

struct LoginParams {
  std::string handle;
  std::string password;
  std::string device;  // optional, "" when absent
  static Result<LoginParams> Parse(const object& o);
};

struct RefreshParams {
  std::string refresh_token;
  static Result<RefreshParams> Parse(const object& o);
};

// users.get: one of the two.
struct UserLookupParams {
  std::optional<std::string> handle;
  std::optional<UserId> user_id;
  static Result<UserLookupParams> Parse(const object& o);
};

// A conversation list's "next": "<last_activity>.<id>" of the last one listed.
std::string FormatListCursor(const ListCursor& c);
std::optional<ListCursor> ParseListCursor(std::string_view text);

struct ListConversationsParams {
  int limit = 0;      // 0: the server's cap
  ListCursor before;  // from a previous answer's "next"; the top by default
  static Result<ListConversationsParams> Parse(const object& o);
};

struct CreateConversationParams {
  ConversationKind kind = ConversationKind::kGroup;
  UserId peer_id = 0;  // direct
  std::string title;   // group, channel
  std::vector<UserId> members;
  bool encrypted = false;  // end-to-end (docs/e2ee.md); direct and group only
  static Result<CreateConversationParams> Parse(const object& o);
};

// conversations.get, typing, members.leave.
struct ConversationParams {
  ConversationId conversation_id = 0;
  static Result<ConversationParams> Parse(const object& o);
};

struct RenameParams {
  ConversationId conversation_id = 0;
  std::string title;
  static Result<RenameParams> Parse(const object& o);
};

struct AddMembersParams {
  ConversationId conversation_id = 0;
  std::vector<UserId> user_ids;
  Role role = Role::kMember;
  static Result<AddMembersParams> Parse(const object& o);
};

struct RemoveMemberParams {
  ConversationId conversation_id = 0;
  UserId user_id = 0;
  static Result<RemoveMemberParams> Parse(const object& o);
};

struct SetRoleParams {
  ConversationId conversation_id = 0;
  UserId user_id = 0;
  Role role = Role::kMember;
  static Result<SetRoleParams> Parse(const object& o);
};

// One attachment of a send: an upload of the sender's, with its caption.
struct AttachmentRef {
  int64_t id = 0;
  std::string caption;
  // A video's poster frame: the id of an image the sender uploaded for it
  // (natterd does not decode video); 0 for none.
  int64_t thumb = 0;
};

struct SendParams {
  chat::SendRequest request;
  std::vector<AttachmentRef> attachments;  // at most 10, distinct; text may then be empty
  static Result<SendParams> Parse(const object& o);
};

// media.get, media.delete: one of the caller's uploads.
struct UploadParams {
  int64_t media_id = 0;
  static Result<UploadParams> Parse(const object& o);
};

// media.create: a new upload of `size` bytes.
struct CreateUploadParams {
  int64_t size = 0;
  std::string mime;      // as declared; checked against the bytes
  std::string filename;  // without folders
  static Result<CreateUploadParams> Parse(const object& o);
};

// media.complete: the parts of a direct upload, as the object store answered
// them (number and ETag), in order.
struct CompleteUploadParams {
  int64_t media_id = 0;
  std::vector<media::S3Part> parts;
  static Result<CompleteUploadParams> Parse(const object& o);
};

// media.url: a download URL for an attachment of a message the caller can read.
struct MediaUrlParams {
  ConversationId conversation_id = 0;
  Seq seq = 0;
  int64_t media_id = 0;
  std::string variant;  // "main" (default) or "thumb"
  static Result<MediaUrlParams> Parse(const object& o);
};

struct HistoryParams {
  HistoryQuery query;
  static Result<HistoryParams> Parse(const object& o);
};

// messages.read, messages.delivered, messages.delete, receipts.get.
struct MessageParams {
  ConversationId conversation_id = 0;
  Seq seq = 0;
  static Result<MessageParams> Parse(const object& o);
};

struct EditParams {
  ConversationId conversation_id = 0;
  Seq seq = 0;
  std::string text;
  // Encrypted conversations: the edit as ciphertexts, instead of text.
  std::optional<chat::EncryptedPayload> encrypted = {};
  static Result<EditParams> Parse(const object& o);
};

struct ReactParams {
  ConversationId conversation_id = 0;
  Seq seq = 0;
  std::string emoji;  // "" removes the caller's reaction
  // Encrypted conversations: the reaction (or its removal) as ciphertexts.
  std::optional<chat::EncryptedPayload> encrypted = {};
  static Result<ReactParams> Parse(const object& o);
};

struct SyncParams {
  std::string token;  // "" or absent: a fresh catch-up
  static Result<SyncParams> Parse(const object& o);
};

struct PresenceQueryParams {
  std::vector<UserId> user_ids;  // at most 500
  static Result<PresenceQueryParams> Parse(const object& o);
};

// profile.set: what changes; what is absent stays.
struct ProfileParams {
  std::optional<std::string> display_name;
  std::optional<int64_t> avatar;  // one of the caller's image uploads; 0 removes the picture
  static Result<ProfileParams> Parse(const object& o);
};

// users.avatar: a URL for one variant of a user's picture.
struct AvatarParams {
  UserLookupParams user;
  std::string variant = "thumb";  // or "main"
  static Result<AvatarParams> Parse(const object& o);
};

// users.block: `blocked` false unblocks (over HTTP, DELETE says so).
struct BlockParams {
  UserId user_id = 0;
  bool blocked = true;
  static Result<BlockParams> Parse(const object& o);
};

// reports.create: a message (conversation_id and seq) or a user (user_id).
struct ReportParams {
  ConversationId conversation_id = 0;
  Seq seq = 0;
  UserId user_id = 0;
  std::string reason;
  std::string text;
  static Result<ReportParams> Parse(const object& o);
};

// Operators' methods (docs/admin.md).
// admin.users.list: users whose handle or display name holds `query`, by id after `after`.
struct AdminUsersParams {
  std::string query;
  UserId after = 0;
  int limit = 50;
  static Result<AdminUsersParams> Parse(const object& o);
};

struct UserIdParams {
  UserId user_id = 0;
  static Result<UserIdParams> Parse(const object& o);
};

// admin.users.export_messages: a page of the messages a user sent to one
// conversation, after `after`.
struct ExportMessagesParams {
  UserId user_id = 0;
  ConversationId conversation_id = 0;
  Seq after = 0;
  int limit = 200;
  static Result<ExportMessagesParams> Parse(const object& o);
};

// admin.conversations.ban: ban `user_id` from a conversation, or lift it.
struct ConversationBanParams {
  ConversationId conversation_id = 0;
  UserId user_id = 0;
  bool banned = true;
  std::string reason;
  static Result<ConversationBanParams> Parse(const object& o);
};

// admin.conversations.mute: mute a member for `for_s` seconds (0: until
// lifted), or lift it.
struct ConversationMuteParams {
  ConversationId conversation_id = 0;
  UserId user_id = 0;
  bool muted = true;
  int64_t for_s = 0;
  static Result<ConversationMuteParams> Parse(const object& o);
};

struct SuspendParams {
  UserId user_id = 0;
  bool suspended = true;
  std::string reason;
  static Result<SuspendParams> Parse(const object& o);
};

struct PasswordResetParams {
  UserId user_id = 0;
  std::string password;
  static Result<PasswordResetParams> Parse(const object& o);
};

struct ServerRoleParams {
  UserId user_id = 0;
  ServerRole role = ServerRole::kNone;
  static Result<ServerRoleParams> Parse(const object& o);
};

// admin.reports.list: by state (open, the default; resolved; all), newest first below `before`.
struct ReportsParams {
  std::string state = "open";
  int64_t before = INT64_MAX;
  int limit = 50;
  static Result<ReportsParams> Parse(const object& o);
};

// admin.reports.resolve: what to do (dismiss, delete_message, suspend_user) and why.
struct ResolveReportParams {
  int64_t report_id = 0;
  std::string action;
  std::string note;
  static Result<ResolveReportParams> Parse(const object& o);
};

// admin.users.create: an account made by an operator, whatever the registration mode.
struct CreateUserParams {
  std::string handle;
  std::string password;
  static Result<CreateUserParams> Parse(const object& o);
};

// admin.bots.create: a bot account with this handle and (optional) display name.
struct CreateBotParams {
  std::string handle;
  std::string display_name;
  static Result<CreateBotParams> Parse(const object& o);
};

// admin.invites.create: a code good for `uses` registrations until `expires_in_s` passes (0: never).
struct CreateInviteParams {
  int64_t uses = 1;
  int64_t expires_in_s = 7 * 24 * 3600;
  static Result<CreateInviteParams> Parse(const object& o);
};

struct InviteIdParams {
  int64_t invite_id = 0;
  static Result<InviteIdParams> Parse(const object& o);
};

// admin.audit: filters (0 or empty: any), newest first below `before`.
struct AuditParams {
  AuditQuery query;
  static Result<AuditParams> Parse(const object& o);
};

// privacy.set: who may add the caller to groups without an invitation.
struct PrivacyParams {
  GroupAdds group_adds = GroupAdds::kContacts;
  static Result<PrivacyParams> Parse(const object& o);
};

struct SetPresenceParams {
  bool hidden = false;
  static Result<SetPresenceParams> Parse(const object& o);
};

// push.register: the calling session's device. The token goes into a
// provider URL, so only the characters tokens are made of are accepted.
struct PushDeviceParams {
  std::string platform;     // fcm, apns
  std::string token;        // at most 4096 of [A-Za-z0-9_:.-]
  std::string topic;        // optional: APNs bundle id / FCM app id, [A-Za-z0-9_.-], at most 255
  std::string environment;  // production (default), sandbox (APNs only)
  std::string locale;       // optional BCP 47 tag, at most 35
  static Result<PushDeviceParams> Parse(const object& o);
};

struct PushSettingsParams {
  bool show_preview = true;
  static Result<PushSettingsParams> Parse(const object& o);
};

// conversations.mute: until `until` (ms since 1970), or forever when absent or -1.
struct MuteParams {
  ConversationId conversation_id = 0;
  int64_t until = kMutedForever;
  static Result<MuteParams> Parse(const object& o);
};

// app.state: whether the app shows itself on this connection's device.
struct AppStateParams {
  bool foreground = true;
  static Result<AppStateParams> Parse(const object& o);
};

}  // namespace natter::api
