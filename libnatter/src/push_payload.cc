#include "push_payload.h"

#include <boost/json/parse.hpp>
#include <charconv>

namespace natter::client {
namespace {

namespace json = boost::json;

// An id as APNs carries it (a number) or FCM does (a decimal string).
std::optional<int64_t> IdOf(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (!v->is_string()) return std::nullopt;
  std::string_view text = v->get_string();
  int64_t out = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return out;
}

}  // namespace

std::optional<PushTarget> ReadPushPayload(std::string_view text, std::string& why) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) {
    why = "the push payload is not a JSON object";
    return std::nullopt;
  }
  const json::object& o = v.get_object();
  PushTarget t;
  const json::object* fields = nullptr;
  if (const auto* natter = o.if_contains("natter"); natter && natter->is_object()) {
    // APNs: the kind follows from aps.
    fields = &natter->get_object();
    const auto* clear = fields->if_contains("clear");
    const auto* aps = o.if_contains("aps");
    bool alert = aps && aps->is_object() && aps->get_object().contains("alert");
    t.kind = clear && clear->is_bool() && clear->get_bool() ? "clear" : alert ? "message" : "badge";
    // A clear's badge is natter's (a background push carries none in aps).
    for (const json::value* holder : {aps, static_cast<const json::value*>(natter)}) {
      if (!holder || !holder->is_object()) continue;
      if (const auto* badge = holder->get_object().if_contains("badge"); badge && badge->is_int64()) {
        t.badge = badge->get_int64();
      }
    }
  } else {
    // FCM: the whole message, or its data map.
    const auto* data = o.if_contains("data");
    fields = data && data->is_object() ? &data->get_object() : &o;
    const auto* kind = fields->if_contains("kind");
    t.kind = kind && kind->is_string() ? std::string(kind->get_string()) : "";
    if (t.kind != "message" && t.kind != "badge" && t.kind != "clear") {
      why = "the push payload is not natterd's (no \"natter\" object, no data \"kind\")";
      return std::nullopt;
    }
    t.badge = IdOf(*fields, "badge").value_or(-1);
  }
  auto conversation = IdOf(*fields, "conversation_id");
  auto seq = IdOf(*fields, "seq");
  if (!conversation || *conversation <= 0 || !seq || *seq < 0) {
    why = "the push payload names no conversation_id and seq";
    return std::nullopt;
  }
  t.conversation_id = *conversation;
  t.seq = *seq;
  return t;
}

json::object ToJson(const PushTarget& t) {
  json::object o{{"conversation_id", t.conversation_id}, {"seq", t.seq}, {"kind", t.kind}};
  if (t.badge >= 0) o["badge"] = t.badge;
  return o;
}

}  // namespace natter::client
