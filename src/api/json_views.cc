#include "api/json_views.h"

#include <boost/json/array.hpp>

namespace natter::api {

namespace json = boost::json;

json::object ToJson(const Message& m) {
  json::object o;
  o["conversation_id"] = m.conversation_id;
  o["seq"] = m.seq;
  o["sender_id"] = m.sender_id;
  o["client_msg_id"] = m.client_msg_id;
  o["text"] = m.text;
  if (m.reply_to) o["reply_to"] = *m.reply_to;
  o["created_at"] = m.created_at;
  return o;
}

json::object ToJson(const Member& m) {
  return {{"user_id", m.user_id}, {"role", RoleName(m.role)}, {"joined_at", m.joined_at}};
}

json::object ToJson(const Conversation& c) {
  return {{"id", c.id},           {"kind", KindName(c.kind)},     {"title", c.title},
          {"created_by", c.created_by}, {"created_at", c.created_at}, {"last_seq", c.last_seq},
          {"last_activity", c.last_activity}};
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
  o["unread"] = s.unread;
  o["last_message"] = s.last_message ? json::value(ToJson(*s.last_message)) : json::value(nullptr);
  return o;
}

json::object ToJson(const chat::HistoryPage& p) {
  json::array messages;
  for (const auto& m : p.messages) messages.push_back(ToJson(m));
  return {{"messages", std::move(messages)}, {"last_seq", p.last_seq}, {"has_more", p.has_more}};
}

json::object ToJson(const accounts::LoginResult& r) {
  return {{"user_id", r.user_id},
          {"session_id", r.session_id},
          {"access_token", r.access_token},
          {"access_expires_at", r.access_expires_at},
          {"refresh_token", r.refresh_token}};
}

json::object ToJson(const User& u) { return {{"user_id", u.id}, {"handle", u.handle}}; }

json::object ErrorJson(const Error& e) {
  return {{"code", ErrorCodeName(e.code)}, {"message", e.message}};
}

}  // namespace natter::api
