// admin.users.export (docs/admin.md): what natterd holds of a user that is
// theirs, as one JSON document, as the right to data portability asks (GDPR
// article 20): the account, sessions, devices, blocks, uploads, reports they
// filed, the audit lines by and about them, and for every conversation they
// are in, wrote or reacted in, or are invited to, their membership, the
// messages they sent and their reactions. Others' messages are not theirs to
// take and are left out.
#include <algorithm>

#include "api/dispatcher.h"
#include "api/json_views.h"
#include "store/media_records.h"

namespace natter::api {

namespace json = boost::json;

namespace {

// Audit lines read per page, and at most in all (each of "by" and "about").
constexpr int kAuditPage = 1000;
constexpr size_t kMaxAuditLines = 100000;
// Messages read per statement.
constexpr int kMessagePage = 1000;

// What the accounts partition holds of the user.
struct AccountPart {
  User user;
  bool push_preview = true;
  std::vector<Session> sessions;
  std::vector<PushDevice> devices;
  std::vector<BlockedUser> blocked;
  std::vector<MediaUpload> uploads;
  std::vector<Report> reports;
  std::vector<AuditEntry> audit;  // newest first, by and about them
};

// One conversation the user touched, as they take it away.
struct ConversationPart {
  Conversation conversation;
  std::optional<Member> member;
  std::optional<Invitation> invitation;
  std::vector<Message> messages;
  std::vector<std::pair<Seq, std::string>> reactions;
};

// Every audit line `query` matches, newest first, up to kMaxAuditLines.
Result<std::vector<AuditEntry>> AllAudit(AccountsTxn& txn, AuditQuery query) {
  std::vector<AuditEntry> all;
  query.limit = kAuditPage;
  for (;;) {
    NATTER_TRY(auto page, txn.ListAudit(query));
    all.insert(all.end(), page.begin(), page.end());
    if (page.size() < static_cast<size_t>(kAuditPage) || all.size() >= kMaxAuditLines) return all;
    query.before_id = page.back().id;
  }
}

Result<AccountPart> ReadAccountPart(AccountsTxn& txn, UserId id) {
  AccountPart part;
  NATTER_TRY(auto user, txn.FindUser(id));
  if (!user) return NotFound("no such user");
  part.user = std::move(*user);
  NATTER_TRY(part.push_preview, txn.GetPushPreview(id));
  NATTER_TRY(part.sessions, txn.ListSessions(id));
  NATTER_TRY(part.devices, txn.ListPushDevices({id}));
  NATTER_TRY(part.blocked, txn.ListBlocked(id));
  NATTER_TRY(part.uploads, txn.ListUploadsOf(id));
  NATTER_TRY(part.reports, txn.ListReportsBy(id));
  NATTER_TRY(auto by, AllAudit(txn, AuditQuery{id, 0, "", INT64_MAX, kAuditPage}));
  NATTER_TRY(auto about, AllAudit(txn, AuditQuery{0, id, "", INT64_MAX, kAuditPage}));
  // A line by them about them (a sign-in) is in both.
  part.audit = std::move(by);
  part.audit.insert(part.audit.end(), about.begin(), about.end());
  std::sort(part.audit.begin(), part.audit.end(), [](const auto& a, const auto& b) { return a.id > b.id; });
  part.audit.erase(
      std::unique(part.audit.begin(), part.audit.end(), [](const auto& a, const auto& b) { return a.id == b.id; }),
      part.audit.end());
  return part;
}

Result<std::vector<ConversationPart>> ReadConversationParts(ConversationTxn& txn, UserId id) {
  std::vector<ConversationPart> parts;
  NATTER_TRY(auto touched, txn.ListTouchedConversations(id));
  for (ConversationId c : touched) {
    NATTER_TRY(auto conversation, txn.FindConversation(c));
    if (!conversation) continue;
    ConversationPart part;
    part.conversation = std::move(*conversation);
    NATTER_TRY(part.member, txn.FindMember(c, id));
    NATTER_TRY(part.invitation, txn.FindInvitation(c, id));
    for (Seq after = 0;;) {
      NATTER_TRY(auto page, txn.ListMessagesBy(c, id, after, kMessagePage));
      if (page.empty()) break;
      after = page.back().seq;
      for (auto& m : page) part.messages.push_back(std::move(m));
      if (page.size() < static_cast<size_t>(kMessagePage)) break;
    }
    NATTER_TRY(part.reactions, txn.ListReactionsBy(c, id));
    parts.push_back(std::move(part));
  }
  return parts;
}

json::object AccountJson(const AccountPart& a) {
  const User& u = a.user;
  json::object account = ToJson(u);
  account["created_at"] = u.created_at;
  account["last_seen"] = u.last_seen;
  account["presence_hidden"] = u.presence_hidden;
  account["push_preview"] = a.push_preview;
  if (u.group_adds) account["group_adds"] = GroupAddsName(*u.group_adds);
  account["server_role"] = ServerRoleName(u.server_role);
  if (u.suspended_at != 0) account["suspended_at"] = u.suspended_at;
  if (u.erased_at != 0) account["erased_at"] = u.erased_at;
  return account;
}

json::object ArchiveJson(const AccountPart& a, const std::vector<ConversationPart>& conversations, int64_t now_ms) {
  json::array sessions, devices, blocked, uploads, reports, audit, joined;
  for (const auto& s : a.sessions) {
    sessions.push_back(
        json::object{{"session_id", s.id}, {"device", s.device}, {"created_at", s.created_at}, {"revoked", s.revoked}});
  }
  // The provider's token is an address for pushes, not the user's data.
  for (const auto& d : a.devices) {
    devices.push_back(json::object{
        {"session_id", d.session_id}, {"platform", d.platform}, {"locale", d.locale}, {"updated_at", d.updated_at}});
  }
  for (const auto& b : a.blocked) {
    blocked.push_back(json::object{{"user_id", b.user_id}, {"handle", b.handle}, {"blocked_at", b.blocked_at}});
  }
  for (const auto& up : a.uploads) {
    uploads.push_back(json::object{{"media_id", up.id},
                                   {"filename", up.filename},
                                   {"mime", up.declared_mime},
                                   {"size", up.size},
                                   {"state", UploadStateName(up.state)},
                                   {"created_at", up.created_at}});
  }
  for (const auto& r : a.reports) reports.push_back(ToJson(r));
  for (const auto& e : a.audit) audit.push_back(ToJson(e));
  int64_t message_count = 0;
  for (const auto& part : conversations) {
    json::object c{{"conversation", ToJson(part.conversation)}};
    if (part.member) {
      c["role"] = RoleName(part.member->role);
      c["joined_at"] = part.member->joined_at;
      c["read_seq"] = part.member->read_seq;
    }
    if (part.invitation) {
      c["invitation"] = json::object{{"invited_by", part.invitation->invited_by},
                                     {"role", RoleName(part.invitation->role)},
                                     {"created_at", part.invitation->created_at}};
    }
    json::array messages, reactions;
    for (const auto& m : part.messages) messages.push_back(ToJson(m));
    for (const auto& [seq, emoji] : part.reactions) reactions.push_back(json::object{{"seq", seq}, {"emoji", emoji}});
    message_count += static_cast<int64_t>(part.messages.size());
    c["messages"] = std::move(messages);
    c["reactions"] = std::move(reactions);
    joined.push_back(std::move(c));
  }
  return json::object{{"format", "natter-export/1"},        {"exported_at", now_ms},
                      {"account", AccountJson(a)},          {"sessions", std::move(sessions)},
                      {"push_devices", std::move(devices)}, {"blocked", std::move(blocked)},
                      {"uploads", std::move(uploads)},      {"reports_filed", std::move(reports)},
                      {"audit", std::move(audit)},          {"conversations", std::move(joined)},
                      {"messages_exported", message_count}};
}

}  // namespace

void Dispatcher::AdminExportUser(const Caller& c, UserIdParams p, Reply reply) {
  d_.store.ReadAccountsResult<AccountPart>(
      ExecutorOf(c), [user = p.user_id](AccountsTxn& txn) { return ReadAccountPart(txn, user); },
      [this, c, user = p.user_id, reply = std::move(reply)](Result<AccountPart> account) mutable {
        if (!account.ok()) return reply(account.take_error());
        auto held = std::make_shared<AccountPart>(std::move(account).value());
        d_.store.ReadEach<std::vector<ConversationPart>>(
            ExecutorOf(c), [user](ConversationTxn& txn, int) { return ReadConversationParts(txn, user); },
            [this, held, reply = std::move(reply)](std::vector<Result<std::vector<ConversationPart>>> parts) {
              // An export that left a partition out would look whole.
              std::vector<ConversationPart> all;
              for (auto& part : parts) {
                if (!part.ok()) {
                  Error e = part.take_error();
                  e.message = "the export could not read every partition (" + e.message + "); call it again";
                  return reply(std::move(e));
                }
                for (auto& one : *part) all.push_back(std::move(one));
              }
              reply(json::value(ArchiveJson(*held, all, d_.clock.NowMs())));
            });
      });
}

}  // namespace natter::api
