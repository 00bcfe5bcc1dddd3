#include "api/params.h"

#include <cctype>
#include <charconv>

#include <algorithm>

#include "api/json_fields.h"
#include "chat/text_rules.h"
#include "common/utf8.h"
#include "media/attachment.h"

namespace natter::api {
namespace {

constexpr size_t kMaxPresenceQuery = 500;

// Reads `key` as a role; `fallback` when absent (nullopt: required).
Role ReadRole(Fields& f, std::string_view key, std::optional<Role> fallback) {
  auto name = fallback ? f.OptionalString(key) : std::optional<std::string>(f.String(key));
  if (!f.ok()) return Role::kMember;
  if (!name) return fallback.value_or(Role::kMember);
  auto role = ParseRole(*name);
  if (!role) f.Fail(BadRequest("role must be read_only, member, admin or owner"));
  return role.value_or(Role::kMember);
}

// A message, edit or reaction's `encrypted` (docs/e2ee.md): {type, body,
// devices: [{user_id, device_id, type, body}]}; nullopt when absent. Forms
// and sizes are chat::ValidatePayload's.
Result<std::optional<chat::EncryptedPayload>> ParseEncrypted(const object& o) {
  constexpr const char* kShape = "field 'encrypted' must be {type, body, devices: [{user_id, device_id, type, body}]}";
  const auto* value = o.if_contains("encrypted");
  if (!value || value->is_null()) return std::optional<chat::EncryptedPayload>();
  if (!value->is_object()) return BadRequest(kShape);
  Fields f(value->get_object());
  chat::EncryptedPayload payload;
  payload.shared_type = static_cast<int>(std::clamp<int64_t>(f.OptionalInt("type").value_or(0), -1, 256));
  payload.shared_body = f.OptionalString("body").value_or("");
  const auto* devices = value->get_object().if_contains("devices");
  if (!devices || !devices->is_array()) return BadRequest(kShape);
  for (const auto& item : devices->get_array()) {
    if (!item.is_object()) return BadRequest(kShape);
    Fields d(item.get_object());
    Envelope e{d.Int("user_id"), d.Int("device_id"),
               static_cast<int>(std::clamp<int64_t>(d.OptionalInt("type").value_or(0), -1, 256)),
               d.OptionalString("body").value_or("")};
    NATTER_TRY(e, d.Finish(std::move(e)));
    payload.devices.push_back(std::move(e));
  }
  NATTER_TRY(payload, f.Finish(std::move(payload)));
  return std::optional<chat::EncryptedPayload>(std::move(payload));
}

int ClampedLimit(std::optional<int64_t> limit, int64_t fallback) {
  return static_cast<int>(std::clamp<int64_t>(limit.value_or(fallback), 0, 100000));
}

}  // namespace

Result<RegisterParams> RegisterParams::Parse(const object& o) {
  Fields f(o);
  RegisterParams p{f.String("handle"), f.String("password"), f.OptionalString("invite_code").value_or("")};
  return f.Finish(std::move(p));
}

Result<ExternalLoginParams> ExternalLoginParams::Parse(const object& o) {
  Fields f(o);
  ExternalLoginParams p{f.String("token"), f.OptionalString("device").value_or("")};
  return f.Finish(std::move(p));
}

Result<BotLoginParams> BotLoginParams::Parse(const object& o) {
  Fields f(o);
  BotLoginParams p{f.String("token")};
  return f.Finish(std::move(p));
}

Result<LoginParams> LoginParams::Parse(const object& o) {
  Fields f(o);
  LoginParams p{f.String("handle"), f.String("password"), f.OptionalString("device").value_or("")};
  return f.Finish(std::move(p));
}

Result<RefreshParams> RefreshParams::Parse(const object& o) {
  Fields f(o);
  RefreshParams p{f.String("refresh_token")};
  return f.Finish(std::move(p));
}

Result<UserLookupParams> UserLookupParams::Parse(const object& o) {
  Fields f(o);
  UserLookupParams p{f.OptionalString("handle"), f.OptionalInt("user_id")};
  if (f.ok() && !p.handle && !p.user_id) f.Fail(BadRequest("give handle or user_id"));
  return f.Finish(std::move(p));
}

Result<ListConversationsParams> ListConversationsParams::Parse(const object& o) {
  Fields f(o);
  ListConversationsParams p{ClampedLimit(f.OptionalInt("limit"), 0), ListCursor{}};
  if (auto before = f.OptionalString("before")) {
    auto cursor = ParseListCursor(*before);
    if (!cursor) return BadRequest("'before' must be the 'next' of a previous answer");
    p.before = *cursor;
  }
  return f.Finish(p);
}

std::string FormatListCursor(const ListCursor& c) {
  return std::to_string(c.last_activity) + "." + std::to_string(c.id);
}

std::optional<ListCursor> ParseListCursor(std::string_view text) {
  size_t dot = text.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  ListCursor c;
  auto whole = [](std::string_view s, int64_t& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size() && !s.empty() && out >= 0;
  };
  if (!whole(text.substr(0, dot), c.last_activity) || !whole(text.substr(dot + 1), c.id)) return std::nullopt;
  return c;
}

Result<CreateConversationParams> CreateConversationParams::Parse(const object& o) {
  Fields f(o);
  CreateConversationParams p;
  std::string kind = f.String("kind");
  if (!f.ok()) return f.Finish(std::move(p));
  auto parsed = ParseKind(kind);
  if (!parsed) return BadRequest("kind must be direct, group or channel");
  p.kind = *parsed;
  if (p.kind == ConversationKind::kDirect) {
    p.peer_id = f.Int("peer_id");
  } else {
    p.title = f.OptionalString("title").value_or("");
    p.members = f.IntArray("members");
  }
  if (const auto* encrypted = o.if_contains("encrypted"); encrypted && !encrypted->is_null()) {
    p.encrypted = f.Bool("encrypted", "field 'encrypted' must be true or false");
  }
  return f.Finish(std::move(p));
}

Result<ConversationParams> ConversationParams::Parse(const object& o) {
  Fields f(o);
  ConversationParams p{f.Int("conversation_id")};
  return f.Finish(p);
}

Result<RenameParams> RenameParams::Parse(const object& o) {
  Fields f(o);
  RenameParams p{f.Int("conversation_id"), f.String("title")};
  return f.Finish(std::move(p));
}

Result<AddMembersParams> AddMembersParams::Parse(const object& o) {
  Fields f(o);
  AddMembersParams p{f.Int("conversation_id"), f.IntArray("user_ids"), ReadRole(f, "role", Role::kMember)};
  return f.Finish(std::move(p));
}

Result<RemoveMemberParams> RemoveMemberParams::Parse(const object& o) {
  Fields f(o);
  RemoveMemberParams p{f.Int("conversation_id"), f.Int("user_id")};
  return f.Finish(p);
}

Result<SetRoleParams> SetRoleParams::Parse(const object& o) {
  Fields f(o);
  SetRoleParams p{f.Int("conversation_id"), f.Int("user_id"), ReadRole(f, "role", std::nullopt)};
  return f.Finish(p);
}

Result<SendParams> SendParams::Parse(const object& o) {
  Fields f(o);
  SendParams p;
  p.request.conversation_id = f.Int("conversation_id");
  p.request.client_msg_id = f.String("client_msg_id");
  p.request.reply_to = f.OptionalInt("reply_to");
  auto* list = o.if_contains("attachments");
  if (list && !list->is_null()) {
    if (!list->is_array()) return BadRequest("field 'attachments' must be an array of {id, caption, thumb}");
    if (list->get_array().size() > media::kMaxAttachmentsPerMessage) {
      return TooLarge("a message has at most " + std::to_string(media::kMaxAttachmentsPerMessage) + " attachments");
    }
    for (const auto& item : list->get_array()) {
      if (!item.is_object()) return BadRequest("field 'attachments' must be an array of {id, caption, thumb}");
      Fields a(item.get_object());
      AttachmentRef ref{a.Int("id"), a.OptionalString("caption").value_or(""), a.OptionalInt("thumb").value_or(0)};
      NATTER_TRY(ref, a.Finish(std::move(ref)));
      if (ref.thumb < 0 || ref.thumb == ref.id) return BadRequest("an attachment's thumb must be another upload");
      if (ref.caption.size() > media::kMaxCaptionBytes) return TooLarge("a caption is too long");
      if (!IsValidUtf8(ref.caption)) return BadRequest("a caption must be valid UTF-8");
      for (const auto& other : p.attachments) {
        bool again = other.id == ref.id || (ref.thumb != 0 && (other.id == ref.thumb || other.thumb == ref.thumb)) ||
                     (other.thumb != 0 && other.thumb == ref.id);
        if (again) return BadRequest("an attachment is listed twice");
      }
      p.attachments.push_back(std::move(ref));
    }
  }
  NATTER_TRY(p.request.encrypted, ParseEncrypted(o));
  // Text is required, unless there are attachments or ciphertexts to carry the message.
  if (p.attachments.empty() && !p.request.encrypted)
    p.request.text = f.String("text");
  else
    p.request.text = f.OptionalString("text").value_or("");
  return f.Finish(std::move(p));
}

Result<HistoryParams> HistoryParams::Parse(const object& o) {
  Fields f(o);
  HistoryParams p;
  p.query.conversation_id = f.Int("conversation_id");
  p.query.before = f.OptionalInt("before");
  p.query.after = f.OptionalInt("after");
  p.query.limit = ClampedLimit(f.OptionalInt("limit"), 50);
  return f.Finish(p);
}

Result<MessageParams> MessageParams::Parse(const object& o) {
  Fields f(o);
  MessageParams p{f.Int("conversation_id"), f.Int("seq")};
  return f.Finish(p);
}

Result<EditParams> EditParams::Parse(const object& o) {
  Fields f(o);
  EditParams p{f.Int("conversation_id"), f.Int("seq"), ""};
  NATTER_TRY(p.encrypted, ParseEncrypted(o));
  p.text = p.encrypted ? f.OptionalString("text").value_or("") : f.String("text");
  if (p.encrypted && !p.text.empty()) return BadRequest("an encrypted edit carries its text inside its ciphertexts");
  return f.Finish(std::move(p));
}

Result<ReactParams> ReactParams::Parse(const object& o) {
  Fields f(o);
  ReactParams p{f.Int("conversation_id"), f.Int("seq"), f.OptionalString("emoji").value_or("")};
  NATTER_TRY(p.encrypted, ParseEncrypted(o));
  return f.Finish(std::move(p));
}

Result<SyncParams> SyncParams::Parse(const object& o) {
  Fields f(o);
  SyncParams p{f.OptionalString("token").value_or("")};
  return f.Finish(std::move(p));
}

Result<PresenceQueryParams> PresenceQueryParams::Parse(const object& o) {
  Fields f(o);
  PresenceQueryParams p{f.IntArray("user_ids")};
  if (f.ok() && p.user_ids.size() > kMaxPresenceQuery) f.Fail(TooLarge("ask for at most 500 users at once"));
  return f.Finish(std::move(p));
}

Result<ProfileParams> ProfileParams::Parse(const object& o) {
  Fields f(o);
  ProfileParams p{f.OptionalString("display_name"), std::nullopt};
  if (const auto* avatar = o.if_contains("avatar"); avatar && avatar->is_null()) {
    p.avatar = 0;  // null: no picture
  } else {
    p.avatar = f.OptionalInt("avatar");
  }
  if (f.ok() && p.avatar && *p.avatar < 0) return BadRequest("field 'avatar' must be an upload's id, or null");
  if (f.ok() && !p.display_name && !p.avatar) return BadRequest("nothing to change: give display_name or avatar");
  return f.Finish(std::move(p));
}

Result<AvatarParams> AvatarParams::Parse(const object& o) {
  Fields f(o);
  NATTER_TRY(auto user, UserLookupParams::Parse(o));
  AvatarParams p{std::move(user), f.OptionalString("variant").value_or("thumb")};
  if (f.ok() && p.variant != "main" && p.variant != "thumb") return BadRequest("variant must be main or thumb");
  return f.Finish(std::move(p));
}

Result<BlockParams> BlockParams::Parse(const object& o) {
  Fields f(o);
  BlockParams p{f.Int("user_id")};
  if (const auto* blocked = o.if_contains("blocked"); blocked && !blocked->is_null()) {
    if (!blocked->is_bool()) return BadRequest("field 'blocked' must be true or false");
    p.blocked = blocked->as_bool();
  }
  return f.Finish(p);
}

Result<ReportParams> ReportParams::Parse(const object& o) {
  Fields f(o);
  ReportParams p;
  p.conversation_id = f.OptionalInt("conversation_id").value_or(0);
  p.seq = f.OptionalInt("seq").value_or(0);
  p.user_id = f.OptionalInt("user_id").value_or(0);
  p.reason = f.String("reason");
  p.text = f.OptionalString("text").value_or("");
  if (!f.ok()) return f.Finish(std::move(p));
  bool message = p.conversation_id > 0 && p.seq > 0;
  if (message == (p.user_id > 0) || (!message && (p.conversation_id != 0 || p.seq != 0))) {
    return BadRequest("report a message (conversation_id and seq) or a user (user_id)");
  }
  static constexpr std::string_view kReasons[] = {"spam",     "harassment", "hate", "sexual",
                                                  "violence", "illegal",    "other"};
  if (std::find(std::begin(kReasons), std::end(kReasons), p.reason) == std::end(kReasons)) {
    return BadRequest("reason must be spam, harassment, hate, sexual, violence, illegal or other");
  }
  if (p.text.size() > 1000) return TooLarge("text is too long (at most 1000 bytes)");
  if (!chat::IsValidUtf8Text(p.text)) return BadRequest("text must be valid UTF-8");
  return f.Finish(std::move(p));
}

Result<ReportsParams> ReportsParams::Parse(const object& o) {
  Fields f(o);
  ReportsParams p;
  p.state = f.OptionalString("state").value_or("open");
  if (p.state != "open" && p.state != "resolved" && p.state != "all") {
    return BadRequest("state must be open, resolved or all");
  }
  p.before = f.OptionalInt("before").value_or(INT64_MAX);
  p.limit = static_cast<int>(std::clamp<int64_t>(f.OptionalInt("limit").value_or(50), 1, 500));
  return f.Finish(std::move(p));
}

Result<ResolveReportParams> ResolveReportParams::Parse(const object& o) {
  Fields f(o);
  ResolveReportParams p{f.Int("report_id"), f.String("action"), f.OptionalString("note").value_or("")};
  if (!f.ok()) return f.Finish(std::move(p));
  if (p.action != "dismiss" && p.action != "delete_message" && p.action != "suspend_user") {
    return BadRequest("action must be dismiss, delete_message or suspend_user");
  }
  if (p.note.size() > 1000) return TooLarge("note is too long (at most 1000 bytes)");
  return f.Finish(std::move(p));
}

Result<AdminUsersParams> AdminUsersParams::Parse(const object& o) {
  Fields f(o);
  AdminUsersParams p;
  p.query = f.OptionalString("query").value_or("");
  if (p.query.size() > 64) return TooLarge("query is too long");
  p.after = f.OptionalInt("after").value_or(0);
  p.limit = static_cast<int>(std::clamp<int64_t>(f.OptionalInt("limit").value_or(50), 1, 500));
  return f.Finish(std::move(p));
}

Result<UserIdParams> UserIdParams::Parse(const object& o) {
  Fields f(o);
  UserIdParams p{f.Int("user_id")};
  return f.Finish(p);
}

Result<ExportMessagesParams> ExportMessagesParams::Parse(const object& o) {
  Fields f(o);
  ExportMessagesParams p{f.Int("user_id"), f.Int("conversation_id"), f.OptionalInt("after").value_or(0),
                         ClampedLimit(f.OptionalInt("limit"), 200)};
  return f.Finish(p);
}

Result<ConversationBanParams> ConversationBanParams::Parse(const object& o) {
  Fields f(o);
  ConversationBanParams p{f.Int("conversation_id"), f.Int("user_id"),
                          f.Bool("banned", "field 'banned' must be true or false"),
                          f.OptionalString("reason").value_or("")};
  if (p.reason.size() > 1000) return TooLarge("reason is too long");
  if (!chat::IsValidUtf8Text(p.reason)) return BadRequest("reason must be UTF-8 text");
  return f.Finish(std::move(p));
}

Result<ConversationMuteParams> ConversationMuteParams::Parse(const object& o) {
  Fields f(o);
  ConversationMuteParams p{f.Int("conversation_id"), f.Int("user_id"),
                           f.Bool("muted", "field 'muted' must be true or false"), f.OptionalInt("for_s").value_or(0)};
  // Ten years at most: a longer mute is one until lifted (for_s 0).
  if (p.for_s < 0 || p.for_s > int64_t{10} * 365 * 24 * 3600) {
    return BadRequest("for_s must be 0 (until lifted) to 315360000 seconds");
  }
  return f.Finish(std::move(p));
}

Result<SuspendParams> SuspendParams::Parse(const object& o) {
  Fields f(o);
  SuspendParams p{f.Int("user_id"), f.Bool("suspended", "field 'suspended' must be true or false"),
                  f.OptionalString("reason").value_or("")};
  if (p.reason.size() > 1000) return TooLarge("reason is too long");
  return f.Finish(std::move(p));
}

Result<PasswordResetParams> PasswordResetParams::Parse(const object& o) {
  Fields f(o);
  PasswordResetParams p{f.Int("user_id"), f.String("password")};
  return f.Finish(std::move(p));
}

Result<ServerRoleParams> ServerRoleParams::Parse(const object& o) {
  Fields f(o);
  ServerRoleParams p{f.Int("user_id")};
  std::string role = f.String("role");
  if (!f.ok()) return f.Finish(p);
  auto parsed = ParseServerRole(role);
  if (!parsed || role.empty()) return BadRequest("role must be none, moderator or admin");
  p.role = *parsed;
  return f.Finish(p);
}

Result<CreateUserParams> CreateUserParams::Parse(const object& o) {
  Fields f(o);
  CreateUserParams p{f.String("handle"), f.String("password")};
  return f.Finish(std::move(p));
}

Result<CreateBotParams> CreateBotParams::Parse(const object& o) {
  Fields f(o);
  CreateBotParams p{f.String("handle"), f.OptionalString("display_name").value_or("")};
  return f.Finish(std::move(p));
}

Result<CreateInviteParams> CreateInviteParams::Parse(const object& o) {
  Fields f(o);
  CreateInviteParams p;
  p.uses = f.OptionalInt("uses").value_or(1);
  p.expires_in_s = f.OptionalInt("expires_in_s").value_or(p.expires_in_s);
  if (!f.ok()) return f.Finish(p);
  if (p.uses < 1 || p.uses > 100000) return BadRequest("uses must be 1 to 100000");
  if (p.expires_in_s < 0 || p.expires_in_s > int64_t{10} * 365 * 24 * 3600) {
    return BadRequest("expires_in_s must be 0 (never) to ten years");
  }
  return f.Finish(p);
}

Result<InviteIdParams> InviteIdParams::Parse(const object& o) {
  Fields f(o);
  InviteIdParams p{f.Int("invite_id")};
  return f.Finish(p);
}

Result<AuditParams> AuditParams::Parse(const object& o) {
  Fields f(o);
  AuditParams p;
  p.query.actor = f.OptionalInt("actor").value_or(0);
  p.query.target_user = f.OptionalInt("target").value_or(0);
  p.query.action = f.OptionalString("action").value_or("");
  p.query.before_id = f.OptionalInt("before").value_or(INT64_MAX);
  p.query.limit = static_cast<int>(std::clamp<int64_t>(f.OptionalInt("limit").value_or(100), 1, 1000));
  return f.Finish(std::move(p));
}

Result<PrivacyParams> PrivacyParams::Parse(const object& o) {
  Fields f(o);
  std::string who = f.String("group_adds");
  if (!f.ok()) return f.Finish(PrivacyParams{});
  auto parsed = ParseGroupAdds(who);
  if (!parsed) return BadRequest("group_adds must be everyone, contacts or nobody");
  return f.Finish(PrivacyParams{*parsed});
}

Result<SetPresenceParams> SetPresenceParams::Parse(const object& o) {
  Fields f(o);
  SetPresenceParams p{f.Bool("hidden", "field 'hidden' must be true or false")};
  return f.Finish(p);
}

namespace {

// Whether `text` is 1 to `max` bytes, each a letter, digit or one of `extra`.
bool MadeOf(std::string_view text, size_t max, std::string_view extra) {
  if (text.empty() || text.size() > max) return false;
  return std::all_of(text.begin(), text.end(), [extra](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || extra.find(ch) != std::string_view::npos;
  });
}

}  // namespace

Result<PushDeviceParams> PushDeviceParams::Parse(const object& o) {
  Fields f(o);
  PushDeviceParams p{f.String("platform"), f.String("token"), f.OptionalString("topic").value_or(""),
                     f.OptionalString("environment").value_or("production"), f.OptionalString("locale").value_or("")};
  if (!f.ok()) return f.Finish(std::move(p));
  if (p.platform != "fcm" && p.platform != "apns") return BadRequest("field 'platform' must be fcm or apns");
  if (!MadeOf(p.token, 4096, "_:.-")) {
    return BadRequest("field 'token' must be 1 to 4096 letters, digits, '_', ':', '.' or '-'");
  }
  if (!p.topic.empty() && !MadeOf(p.topic, 255, "_.-")) {
    return BadRequest("field 'topic' must be at most 255 letters, digits, '_', '.' or '-'");
  }
  if (p.environment != "production" && (p.environment != "sandbox" || p.platform != "apns")) {
    return BadRequest("field 'environment' must be production, or sandbox for apns");
  }
  if (!p.locale.empty() && !MadeOf(p.locale, 35, "_-")) return BadRequest("field 'locale' must be a BCP 47 tag");
  return p;
}

Result<PushSettingsParams> PushSettingsParams::Parse(const object& o) {
  Fields f(o);
  PushSettingsParams p{f.Bool("show_preview", "field 'show_preview' must be true or false")};
  return f.Finish(p);
}

Result<MuteParams> MuteParams::Parse(const object& o) {
  Fields f(o);
  MuteParams p{f.Int("conversation_id"), f.OptionalInt("until").value_or(-1)};
  if (f.ok() && p.until != -1 && p.until <= 0) f.Fail(BadRequest("field 'until' must be a time in ms, or -1"));
  if (p.until == -1) p.until = kMutedForever;
  return f.Finish(p);
}

Result<AppStateParams> AppStateParams::Parse(const object& o) {
  Fields f(o);
  AppStateParams p{f.Bool("foreground", "field 'foreground' must be true or false")};
  return f.Finish(p);
}

Result<UploadParams> UploadParams::Parse(const object& o) {
  Fields f(o);
  UploadParams p{f.Int("media_id")};
  return f.Finish(p);
}

Result<CreateUploadParams> CreateUploadParams::Parse(const object& o) {
  Fields f(o);
  CreateUploadParams p;
  p.size = f.Int("size");
  p.mime = f.OptionalString("mime").value_or("application/octet-stream");
  std::string name = f.OptionalString("filename").value_or("");
  if (!f.ok()) return f.Finish(std::move(p));
  NATTER_TRY(p.filename, media::CheckedFilename(name));
  return p;
}

Result<CompleteUploadParams> CompleteUploadParams::Parse(const object& o) {
  constexpr size_t kMaxParts = 10000;  // S3's own limit
  Fields f(o);
  CompleteUploadParams p;
  p.media_id = f.Int("media_id");
  auto* list = o.if_contains("parts");
  if (!list || !list->is_array() || list->get_array().empty()) {
    return BadRequest("field 'parts' must be an array of {part, etag}");
  }
  if (list->get_array().size() > kMaxParts) return TooLarge("an upload has at most 10000 parts");
  for (const auto& item : list->get_array()) {
    if (!item.is_object()) return BadRequest("field 'parts' must be an array of {part, etag}");
    Fields part(item.get_object());
    media::S3Part s3_part{static_cast<int>(part.Int("part")), part.String("etag")};
    NATTER_TRY(s3_part, part.Finish(std::move(s3_part)));
    int expected = static_cast<int>(p.parts.size()) + 1;
    if (s3_part.number != expected) return BadRequest("parts must be listed in order, from 1, each once");
    // An ETag is a short quoted token; nothing else may reach the store's XML.
    bool printable = std::all_of(s3_part.etag.begin(), s3_part.etag.end(), [](char c) { return c > 0x20 && c < 0x7f; });
    if (s3_part.etag.empty() || s3_part.etag.size() > 200 || !printable) {
      return BadRequest("a part's etag must be the ETag the store answered");
    }
    p.parts.push_back(std::move(s3_part));
  }
  return f.Finish(std::move(p));
}

Result<MediaUrlParams> MediaUrlParams::Parse(const object& o) {
  Fields f(o);
  MediaUrlParams p;
  p.conversation_id = f.Int("conversation_id");
  p.seq = f.Int("seq");
  p.media_id = f.Int("media_id");
  p.variant = f.OptionalString("variant").value_or("main");
  if (f.ok() && p.variant != "main" && p.variant != "thumb" && p.variant != "poster") {
    return BadRequest("variant must be main, thumb or poster");
  }
  return f.Finish(std::move(p));
}

}  // namespace natter::api
