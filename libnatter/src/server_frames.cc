#include "server_frames.h"

#include <boost/json/parse.hpp>
#include <limits>

namespace natter::client {

namespace json = boost::json;

namespace {

// Reads the fields of one JSON object, keeping the first complaint: callers
// read everything they need and check ok() once.
class Reader {
 public:
  Reader(const json::value& v, std::string where, std::string& why) : where_(std::move(where)), why_(why) {
    if (v.is_object()) {
      o_ = &v.as_object();
    } else {
      Complain(where_ + " is not an object");
    }
  }

  bool ok() const { return why_.empty(); }
  const json::object& object() const { return o_ ? *o_ : empty_; }

  int64_t Int(const char* key, int64_t min = 0) {
    auto v = OptInt(key, min);
    if (!v) Complain(Name(key) + " is missing");
    return v.value_or(0);
  }
  std::optional<int64_t> OptInt(const char* key, int64_t min = 0) {
    const json::value* v = Find(key);
    if (!v) return std::nullopt;
    if (!v->is_int64() && !(v->is_uint64() && v->get_uint64() <= std::numeric_limits<int64_t>::max())) {
      Complain(Name(key) + " is not an integer");
      return std::nullopt;
    }
    int64_t n = v->to_number<int64_t>();
    if (n < min) Complain(Name(key) + " is below " + std::to_string(min));
    return n;
  }
  // Required, and not "".
  std::string Str(const char* key) {
    auto v = OptStr(key);
    if (!v) Complain(Name(key) + " is missing");
    if (v && v->empty()) Complain(Name(key) + " is empty");
    return v.value_or("");
  }
  std::optional<std::string> OptStr(const char* key) {
    const json::value* v = Find(key);
    if (!v) return std::nullopt;
    if (!v->is_string()) {
      Complain(Name(key) + " is not a string");
      return std::nullopt;
    }
    return std::string(v->get_string());
  }
  bool OptBool(const char* key) {
    const json::value* v = Find(key);
    if (!v) return false;
    if (!v->is_bool()) Complain(Name(key) + " is not true or false");
    return v->is_bool() && v->get_bool();
  }
  const json::value* Value(const char* key) {
    const json::value* v = Find(key);
    if (!v) Complain(Name(key) + " is missing");
    return v;
  }
  const json::array* Array(const char* key, bool required = true) {
    const json::value* v = Find(key);
    if (!v) {
      if (required) Complain(Name(key) + " is missing");
      return nullptr;
    }
    if (!v->is_array()) Complain(Name(key) + " is not an array");
    return v->if_array();
  }
  std::string Name(const char* key) const { return where_ + "." + key; }
  std::string& why() { return why_; }

 private:
  const json::value* Find(const char* key) const {
    const json::value* v = o_ ? o_->if_contains(key) : nullptr;
    return v && !v->is_null() ? v : nullptr;
  }
  void Complain(std::string what) {
    if (why_.empty()) why_ = std::move(what);
  }

  const json::object* o_ = nullptr;
  static inline const json::object empty_{};
  std::string where_;
  std::string& why_;
};

std::optional<Entry> ReadEntry(const json::value& v, const std::string& where, std::string& why) {
  Reader r(v, where, why);
  Entry e;
  e.conversation_id = r.Int("conversation_id", 1);
  e.seq = r.Int("seq", 1);
  e.kind = r.Str("kind");
  e.sender_id = r.OptInt("sender_id").value_or(0);
  e.client_msg_id = r.OptStr("client_msg_id").value_or("");
  // What the store and the app read, if present, has the type they expect.
  (void)r.OptStr("text");
  for (const char* key : {"reply_to", "target_seq", "created_at", "edited_at"}) (void)r.OptInt(key);
  (void)r.OptBool("deleted");
  if (!r.ok()) return std::nullopt;
  e.fields = r.object();
  e.fields.erase("pts");
  e.fields.erase("duplicate");
  return e;
}

std::optional<std::vector<Entry>> ReadEntries(const json::array* list, const std::string& where, std::string& why) {
  std::vector<Entry> out;
  if (!list) return out;
  for (size_t i = 0; i < list->size(); ++i) {
    auto e = ReadEntry((*list)[i], where + "[" + std::to_string(i) + "]", why);
    if (!e) return std::nullopt;
    out.push_back(std::move(*e));
  }
  return out;
}

std::optional<std::vector<Member>> ReadMembers(const json::array* list, const std::string& where, std::string& why) {
  std::vector<Member> out;
  if (!list) return std::nullopt;
  for (size_t i = 0; i < list->size(); ++i) {
    Reader r((*list)[i], where + "[" + std::to_string(i) + "]", why);
    Member m;
    m.user_id = r.Int("user_id", 1);
    m.role = r.OptStr("role").value_or("");
    m.delivered_seq = r.OptInt("delivered_seq").value_or(0);
    m.read_seq = r.OptInt("read_seq").value_or(0);
    if (!r.ok()) return std::nullopt;
    out.push_back(std::move(m));
  }
  return out;
}

std::optional<Conversation> ReadConversation(const json::value& v, const std::string& where, std::string& why) {
  Reader r(v, where, why);
  Conversation c;
  c.id = r.Int("id", 1);
  (void)r.Str("kind");
  (void)r.OptStr("title");
  c.large = r.OptBool("large");
  for (const char* key : {"created_by", "created_at", "last_seq", "last_activity"}) (void)r.OptInt(key);
  const json::array* members = r.Array("members", false);
  if (!r.ok()) return std::nullopt;
  if (members) {
    c.members = ReadMembers(members, r.Name("members"), why);
    if (!c.members) return std::nullopt;
  }
  c.fields = r.object();
  return c;
}

ServerFrame ReadSyncConversation(Reader& frame) {
  const json::value* data = frame.Value("data");
  if (!data) return BadFrame{"sync.conversation", frame.why()};
  std::string& why = frame.why();
  Reader r(*data, "data", why);
  SyncConversationFrame f;
  f.conversation_id = r.Int("conversation_id", 1);
  f.removed = r.OptBool("removed");
  if (!r.ok()) return BadFrame{"sync.conversation", why};
  if (f.removed) return f;
  f.my_role = r.OptStr("my_role").value_or("");
  const json::value* conversation = r.Value("conversation");
  const json::array* members = r.Array("members");
  const json::array* events = r.Array("events", false);
  if (!r.ok()) return BadFrame{"sync.conversation", why};
  auto c = ReadConversation(*conversation, "data.conversation", why);
  auto m = ReadMembers(members, "data.members", why);
  auto e = c && m ? ReadEntries(events, "data.events", why) : std::nullopt;
  if (!c || !m || !e) return BadFrame{"sync.conversation", why};
  if (c->id != f.conversation_id)
    return BadFrame{"sync.conversation", "data.conversation.id is not data.conversation_id"};
  for (const auto& entry : *e) {
    if (entry.conversation_id != f.conversation_id) {
      return BadFrame{"sync.conversation", "an event of data.events is of another conversation"};
    }
  }
  f.conversation = std::move(*c);
  f.members = std::move(*m);
  f.events = std::move(*e);
  return f;
}

ServerFrame ReadFrame(const json::value& v, std::string& why) {
  Reader frame(v, "frame", why);
  std::string type = frame.Str("type");
  if (!frame.ok()) return BadFrame{type, why};
  if (type == "result" || type == "error") {
    ReplyFrame f;
    f.ok = type == "result";
    f.id = frame.OptStr("id").value_or("");  // requests without an id get no answer to match
    if (f.ok) {
      if (const json::value* data = frame.object().if_contains("data")) f.data = *data;
    } else {
      f.code = frame.Str("code");
      f.message = frame.OptStr("message").value_or("");
      if (const json::value* details = frame.object().if_contains("details")) f.details = *details;
    }
    if (!frame.ok()) return BadFrame{type, why};
    return f;
  }
  if (type == "message") {
    const json::value* m = frame.Value("message");
    auto e = m ? ReadEntry(*m, "message", why) : std::nullopt;
    if (!e) return BadFrame{type, why};
    return MessageFrame{std::move(*e)};
  }
  if (type == "receipt") {
    ReceiptFrame f;
    f.conversation_id = frame.Int("conversation_id", 1);
    f.user_id = frame.Int("user_id", 1);
    f.delivered_seq = frame.Int("delivered_seq");
    f.read_seq = frame.Int("read_seq");
    if (!frame.ok()) return BadFrame{type, why};
    return f;
  }
  if (type == "conversation") {
    const json::value* c = frame.Value("conversation");
    const json::array* changed = frame.Array("members_changed", false);
    const json::array* removed = frame.Array("members_removed", false);
    if (!frame.ok()) return BadFrame{type, why};
    ConversationFrame f;
    auto conversation = ReadConversation(*c, "conversation", why);
    if (!conversation) return BadFrame{type, why};
    f.conversation = std::move(*conversation);
    if (changed) {
      f.members_changed = ReadMembers(changed, "members_changed", why);
      if (!f.members_changed) return BadFrame{type, why};
    }
    for (size_t i = 0; removed && i < removed->size(); ++i) {
      const json::value& u = (*removed)[i];
      if (!u.is_int64() || u.get_int64() < 1) return BadFrame{type, "members_removed holds a non-id"};
      f.members_removed.push_back(u.get_int64());
    }
    return f;
  }
  if (type == "sync.conversation") return ReadSyncConversation(frame);
  if (type == "resync") return ResyncFrame{};
  if (type == "typing" || type == "presence") {
    (void)frame.Int("user_id", 1);
    if (type == "typing") (void)frame.Int("conversation_id", 1);
    if (!frame.ok()) return BadFrame{type, why};
    NoticeFrame f{type, frame.object()};
    f.fields.erase("type");
    return f;
  }
  if (type == "invitation" || type == "invitation_closed") {
    if (type == "invitation") (void)frame.Value("invitation");
    if (type == "invitation_closed") (void)frame.Int("conversation_id", 1);
    if (!frame.ok()) return BadFrame{type, why};
    NoticeFrame f{type, frame.object()};
    f.fields.erase("type");
    return f;
  }
  if (type == "devices" || type == "keys.low" || type == "session_reset") {  // end-to-end encryption (§5.31)
    if (type == "devices") (void)frame.Int("user_id", 1), (void)frame.Value("devices");
    if (type == "keys.low") (void)frame.Int("device_id", 1);
    if (type == "session_reset") (void)frame.Int("user_id", 1), (void)frame.Int("device_id", 1);
    if (!frame.ok()) return BadFrame{type, why};
    NoticeFrame f{type, frame.object()};
    f.fields.erase("type");
    return f;
  }
  return UnknownFrame{type};
}

}  // namespace

ServerFrame DecodeServerFrame(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return BadFrame{"", "not JSON: " + ec.message()};
  std::string why;
  return ReadFrame(v, why);
}

std::optional<SyncAnswer> DecodeSyncAnswer(const json::value& data, std::string& why) {
  Reader r(data, "data", why);
  SyncAnswer a;
  a.resync_required = r.OptBool("resync_required");
  a.token = a.resync_required ? r.OptStr("token").value_or("") : r.Str("token");
  a.more = r.OptBool("more");
  a.conversations = r.OptInt("conversations").value_or(0);
  if (!r.ok()) return std::nullopt;
  return a;
}

std::optional<Entry> DecodeEntry(const json::value& data, std::string& why) { return ReadEntry(data, "data", why); }

std::optional<std::vector<Entry>> DecodeHistory(const json::value& data, std::string& why) {
  Reader r(data, "data", why);
  const json::array* messages = r.Array("messages");
  if (!r.ok()) return std::nullopt;
  return ReadEntries(messages, "data.messages", why);
}

std::optional<Conversation> DecodeConversation(const json::value& data, std::string& why) {
  return ReadConversation(data, "data", why);
}

std::optional<Tokens> DecodeTokens(const json::value& data, std::string& why) {
  Reader r(data, "answer", why);
  Tokens t;
  t.user_id = r.OptInt("user_id", 1).value_or(0);
  t.access_token = r.Str("access_token");
  t.refresh_token = r.Str("refresh_token");
  t.access_expires_at = r.Int("access_expires_at", 1);
  // Seconds since 1970, not milliseconds: timers are set from it.
  if (r.ok() && t.access_expires_at > (int64_t{1} << 40)) why = "answer.access_expires_at is not in seconds";
  if (!r.ok()) return std::nullopt;
  return t;
}

}  // namespace natter::client
