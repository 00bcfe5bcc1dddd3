#include "api/json_views.h"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>

#include "media/attachment.h"

namespace natter::api {

namespace json = boost::json;

namespace {

// An encrypted message's ciphertexts (docs/e2ee.md): the header's sending
// device and shared ciphertext, then the envelopes loaded for the reader.
json::object EncryptedJson(const std::vector<Envelope>& envelopes) {
  const Envelope& header = envelopes.front();
  json::object o{{"device_id", header.device_id}};
  if (!header.body.empty()) {
    o["type"] = header.type;
    o["body"] = header.body;
  }
  json::array own;
  for (size_t i = 1; i < envelopes.size(); ++i) {
    const Envelope& e = envelopes[i];
    own.push_back(json::object{{"user_id", e.user_id}, {"device_id", e.device_id}, {"type", e.type}, {"body", e.body}});
  }
  o["envelopes"] = std::move(own);
  return o;
}

}  // namespace

json::object ToJson(const Message& m) {
  json::object o;
  o["conversation_id"] = m.conversation_id;
  o["seq"] = m.seq;
  o["kind"] = EventKindName(m.kind);
  o["sender_id"] = m.sender_id;
  if (!m.client_msg_id.empty()) o["client_msg_id"] = m.client_msg_id;
  bool encrypted = !m.envelopes.empty() && m.envelopes.front().user_id == 0;
  if (m.kind != EventKind::kDelete && !m.deleted && !encrypted) o["text"] = m.text;
  if (encrypted && !m.deleted) o["encrypted"] = EncryptedJson(m.envelopes);
  if (m.reply_to) o["reply_to"] = *m.reply_to;
  if (m.target_seq) o["target_seq"] = *m.target_seq;
  if (m.target_user) o["target_user"] = *m.target_user;
  o["created_at"] = m.created_at;
  if (m.edited_at) o["edited_at"] = *m.edited_at;
  if (m.deleted) o["deleted"] = true;
  if (!m.attachments.empty()) o["attachments"] = media::PublicAttachments(m.attachments);
  if (!m.reactions.empty()) {
    json::array reactions;
    for (const auto& r : m.reactions) reactions.push_back(json::object{{"user_id", r.user_id}, {"emoji", r.emoji}});
    o["reactions"] = std::move(reactions);
  }
  return o;
}

json::object ToJson(const Member& m) {
  return {{"user_id", m.user_id},
          {"role", RoleName(m.role)},
          {"joined_at", m.joined_at},
          {"read_seq", m.read_seq},
          {"delivered_seq", m.delivered_seq}};
}

json::object ToJson(const Conversation& c) {
  return {{"id", c.id},
          {"kind", KindName(c.kind)},
          {"title", c.title},
          {"created_by", c.created_by},
          {"created_at", c.created_at},
          {"last_seq", c.last_seq},
          {"last_activity", c.last_activity},
          {"large", c.large},
          {"encrypted", c.encrypted}};
}

json::object ToJson(const chat::ConversationView& v) {
  json::object o = ToJson(v.conversation);
  json::array members;
  for (const auto& m : v.members) members.push_back(ToJson(m));
  o["members"] = std::move(members);
  return o;
}

json::object ToJson(const ConversationSummary& s) {
  json::object o = ToJson(s.conversation);
  o["my_role"] = RoleName(s.my_role);
  o["read_seq"] = s.my_read_seq;
  o["delivered_seq"] = s.my_delivered_seq;
  o["unread"] = s.unread;
  // Forever reads as -1: JSON numbers past 2^53 lose precision in many clients.
  o["muted_until"] = s.my_muted_until == kMutedForever ? -1 : s.my_muted_until;
  o["last_message"] = s.last_message ? json::value(ToJson(*s.last_message)) : json::value(nullptr);
  return o;
}

json::object ToJson(const PendingInvitation& i) {
  return {{"conversation", ToJson(i.conversation)},
          {"invited_by", i.invitation.invited_by},
          {"role", RoleName(i.invitation.role)},
          {"members", i.members},
          {"created_at", i.invitation.created_at}};
}

json::object ToJson(const chat::HistoryPage& p) {
  json::array messages;
  for (const auto& m : p.messages) {
    json::object o = ToJson(m);
    if (m.kind == EventKind::kMessage && p.blocked_senders.contains(m.sender_id)) o["blocked_sender"] = true;
    messages.push_back(std::move(o));
  }
  return {{"messages", std::move(messages)}, {"last_seq", p.last_seq}, {"has_more", p.has_more}};
}

json::object ToJson(const accounts::LoginResult& r) {
  json::object o{{"user_id", r.user_id},
                 {"session_id", r.session_id},
                 {"access_token", r.access_token},
                 {"access_expires_at", r.access_expires_at}};
  if (!r.refresh_token.empty()) o["refresh_token"] = r.refresh_token;  // none for a bot: its token is how it comes back
  return o;
}

json::object ToJson(const User& u) {
  json::object o{{"user_id", u.id}, {"handle", u.handle}};
  if (u.erased_at != 0) o["erased"] = true;
  if (u.bot && u.erased_at == 0) o["bot"] = true;
  if (!u.display_name.empty()) o["display_name"] = u.display_name;
  if (!u.avatar.empty()) {
    auto picture = media::ParseInfo(u.avatar);
    if (picture.ok()) o["avatar"] = media::PublicJson(*picture);
  }
  return o;
}

json::object ToJson(const chat::ConversationCatchUp& c) {
  if (c.removed) return {{"conversation_id", c.id}, {"removed", true}};
  json::array members, events;
  for (const auto& m : c.members) members.push_back(ToJson(m));
  for (const auto& e : c.events) events.push_back(ToJson(e));
  json::object o{{"conversation_id", c.id},
                 {"conversation", ToJson(c.conversation)},
                 {"my_role", RoleName(c.my_role)},
                 {"members", std::move(members)},
                 {"events", std::move(events)}};
  if (c.gap_to >= c.gap_from && c.gap_from > 0) o["gap"] = json::object{{"from", c.gap_from}, {"to", c.gap_to}};
  return o;
}

json::object ToJson(const chat::ReceiptChange& r) {
  return {{"conversation_id", r.conversation_id},
          {"user_id", r.user_id},
          {"delivered_seq", r.delivered_seq},
          {"read_seq", r.read_seq}};
}

json::object ToJson(const chat::ReceiptCounts& r) {
  return {{"seq", r.seq}, {"members", r.members}, {"delivered", r.delivered}, {"read", r.read}};
}

json::object ToJson(const Report& r) {
  json::object o{{"report_id", r.id},        {"created_at", r.created_at}, {"reporter", r.reporter},
                 {"user_id", r.target_user}, {"reason", r.reason},         {"text", r.text},
                 {"state", r.state}};
  if (r.conversation_id != 0) {
    o["conversation_id"] = r.conversation_id;
    o["seq"] = r.seq;
    o["message_text"] = r.message_text;
  }
  if (r.state == "resolved") {
    o["resolved_by"] = r.resolved_by;
    o["resolved_at"] = r.resolved_at;
    o["resolution"] = r.resolution;
    o["note"] = r.note;
  }
  return o;
}

json::object ToJson(const AuditEntry& e) {
  boost::system::error_code ec;
  json::value detail = json::parse(e.detail, ec);
  return {{"id", e.id},
          {"at", e.at_ms},
          {"actor", e.actor},
          {"action", e.action},
          {"user_id", e.target_user},
          {"detail", ec ? json::value(e.detail) : std::move(detail)},
          {"address", e.address},
          {"outcome", e.outcome}};
}

json::object ErrorJson(const Error& e) {
  json::object out{{"code", ErrorCodeName(e.code)}, {"message", e.message}};
  if (!e.details.empty()) {
    boost::system::error_code ec;
    json::value details = json::parse(e.details, ec);
    if (!ec) out["details"] = std::move(details);
  }
  return out;
}

}  // namespace natter::api
