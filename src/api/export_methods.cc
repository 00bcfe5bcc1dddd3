// admin.users.export (docs/admin.md): what natterd holds of a user that is
// theirs, as JSON, as the right to data portability asks (GDPR article 20):
// the account, sessions, devices, blocks, uploads, the reports they filed and
// the audit lines of their sign-ins and of operators' calls on them, and
// every conversation they are in, left, wrote or reacted in, or are invited
// to, with their membership and reactions. Their messages come a page at a
// time (admin.users.export_messages), so no answer grows with a lifetime of
// chat. What others wrote or did is left out.
#include <algorithm>

#include "api/dispatcher.h"
#include "api/json_views.h"
#include "store/media_records.h"

namespace natter::api {

namespace json = boost::json;

namespace {

// Audit lines in a document, newest first, of each of "by" and "about".
constexpr int kAuditLines = 1000;
// A page of messages: about this many bytes of text and attachments at most.
constexpr size_t kMessagePageBytes = 512 * 1024;

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
  bool audit_truncated = false;   // older lines were left out
};

// One conversation the user touched, as they take it away.
struct ConversationPart {
  Conversation conversation;
  std::optional<Member> member;
  std::optional<Invitation> invitation;
  bool departed = false;  // they left or declined it
  std::vector<std::pair<Seq, std::string>> reactions;
};

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
  NATTER_TRY(auto by, txn.ListAudit(AuditQuery{id, 0, "", INT64_MAX, kAuditLines}));
  NATTER_TRY(auto about, txn.ListAudit(AuditQuery{0, id, "", INT64_MAX, kAuditLines}));
  part.audit_truncated = by.size() == kAuditLines || about.size() == kAuditLines;
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
    NATTER_TRY(part.departed, txn.HasDeparted(c, id));
    NATTER_TRY(part.reactions, txn.ListReactionsBy(c, id));
    parts.push_back(std::move(part));
  }
  return parts;
}

// Of an audit line, what is the user's: when they acted, what they did
// (and, for their own sign-ins, from where and with what device); when an
// operator acted on them, what was done and when, not who or from where.
json::object AuditJson(const AuditEntry& e, UserId user) {
  json::object o{{"id", e.id}, {"at", e.at_ms}, {"action", e.action}, {"outcome", e.outcome}};
  if (e.actor != user) return o;
  o["address"] = e.address;
  if (e.action.starts_with("auth.")) o["detail"] = ToJson(e).at("detail");
  return o;
}

// Of a report they filed, what they said and what became of it; not the
// reported message (another's words) nor the moderator's note.
json::object ReportJson(const Report& r) {
  json::object o{{"report_id", r.id},        {"created_at", r.created_at},
                 {"user_id", r.target_user}, {"reason", r.reason},
                 {"text", r.text},           {"state", r.state}};
  if (r.conversation_id != 0) {
    o["conversation_id"] = r.conversation_id;
    o["seq"] = r.seq;
  }
  if (!r.resolution.empty()) o["resolution"] = r.resolution;
  return o;
}

json::object AccountJson(const AccountPart& a, ServerRole role) {
  const User& u = a.user;
  json::object account = ToJson(u);
  account["created_at"] = u.created_at;
  account["last_seen"] = u.last_seen;
  account["presence_hidden"] = u.presence_hidden;
  account["push_preview"] = a.push_preview;
  if (u.group_adds) account["group_adds"] = GroupAddsName(*u.group_adds);
  account["server_role"] = ServerRoleName(role);
  account["suspended"] = u.suspended_at != 0;
  if (u.suspended_at != 0) account["suspended_at"] = u.suspended_at;
  if (u.erased_at != 0) account["erased_at"] = u.erased_at;
  return account;
}

json::object ArchiveJson(const AccountPart& a, ServerRole role, const std::vector<ConversationPart>& conversations,
                         int64_t now_ms) {
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
  for (const auto& r : a.reports) reports.push_back(ReportJson(r));
  for (const auto& e : a.audit) audit.push_back(AuditJson(e, a.user.id));
  for (const auto& part : conversations) {
    const Conversation& conv = part.conversation;
    json::object c{{"conversation_id", conv.id}, {"kind", KindName(conv.kind)}, {"created_at", conv.created_at}};
    if (!conv.title.empty()) c["title"] = conv.title;
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
    if (part.departed) c["left"] = true;
    json::array reactions;
    for (const auto& [seq, emoji] : part.reactions) reactions.push_back(json::object{{"seq", seq}, {"emoji", emoji}});
    c["reactions"] = std::move(reactions);
    joined.push_back(std::move(c));
  }
  return json::object{{"format", "natter-export/1"},        {"exported_at", now_ms},
                      {"account", AccountJson(a, role)},    {"sessions", std::move(sessions)},
                      {"push_devices", std::move(devices)}, {"blocked", std::move(blocked)},
                      {"uploads", std::move(uploads)},      {"reports_filed", std::move(reports)},
                      {"audit", std::move(audit)},          {"audit_truncated", a.audit_truncated},
                      {"conversations", std::move(joined)}};
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
              reply(json::value(ArchiveJson(*held, d_.operators.Of(held->user), all, d_.clock.NowMs())));
            });
      });
}

void Dispatcher::AdminExportMessages(const Caller& c, ExportMessagesParams p, Reply reply) {
  int limit = std::clamp(p.limit, 1, 500);
  d_.store.ReadResult<std::vector<Message>>(
      d_.store.PartitionOf(p.conversation_id), ExecutorOf(c),
      [p, limit](ConversationTxn& txn) { return txn.ListMessagesBy(p.conversation_id, p.user_id, p.after, limit); },
      [reply = std::move(reply), limit](Result<std::vector<Message>> r) {
        if (!r.ok()) return reply(r.take_error());
        std::vector<Message> found = std::move(r).value();
        json::array messages;
        size_t bytes = 0;
        for (const auto& m : found) {
          if (bytes > kMessagePageBytes) break;  // the rest is the next page's
          bytes += m.text.size() + m.attachments.size();
          messages.push_back(ToJson(m));
        }
        json::object answer{{"messages", messages}};
        if (messages.size() < found.size() || found.size() == static_cast<size_t>(limit)) {
          answer["next"] = messages.back().as_object().at("seq");
        }
        reply(json::value(std::move(answer)));
      });
}

}  // namespace natter::api
