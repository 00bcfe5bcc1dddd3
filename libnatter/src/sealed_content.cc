#include "sealed_content.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "common/json_lookup.h"

namespace natter::client {

namespace json = boost::json;

namespace {
std::optional<int64_t> OptInt(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v && v->is_int64() ? std::optional<int64_t>(v->get_int64()) : std::nullopt;
}
}  // namespace

SealedPlace PlaceOf(const Entry& entry) {
  return {entry.conversation_id, entry.kind, OptInt(entry.fields, "target_seq"), OptInt(entry.fields, "reply_to")};
}

std::string SealContent(const SealedBody& body, const SealedPlace& place) {
  json::object o{{"text", body.text}, {"conversation_id", place.conversation_id}, {"kind", place.kind}};
  if (!body.attachments.empty()) o["attachments"] = body.attachments;
  if (place.target_seq) o["target_seq"] = *place.target_seq;
  if (place.reply_to) o["reply_to"] = *place.reply_to;
  return json::serialize(o);
}

Result<SealedBody> OpenContent(std::string_view plaintext, const SealedPlace& place) {
  boost::system::error_code ec;
  json::value v = json::parse(plaintext, ec);
  const json::object* o = ec ? nullptr : v.if_object();
  const json::value* text = o ? o->if_contains("text") : nullptr;
  if (!text || !text->is_string()) return BadRequest("the decrypted content is not a sealed message");
  SealedPlace sealed{json_lookup::Int(*o, "conversation_id"), json_lookup::Str(*o, "kind"), OptInt(*o, "target_seq"),
                     OptInt(*o, "reply_to")};
  if (sealed.conversation_id != place.conversation_id || sealed.kind != place.kind ||
      sealed.target_seq != place.target_seq || sealed.reply_to != place.reply_to) {
    return BadRequest("the ciphertext was sealed for another place (conversation " +
                      std::to_string(sealed.conversation_id) + ", " + sealed.kind + ")");
  }
  SealedBody body{std::string(text->get_string()), {}};
  if (const auto* files = o->if_contains("attachments")) {
    if (!files->is_array()) return BadRequest("the decrypted attachments are not a list");
    for (const auto& f : files->get_array()) {
      const auto* a = f.if_object();
      if (!a || json_lookup::Int(*a, "media_id") <= 0 || json_lookup::Str(*a, "key").empty() ||
          json_lookup::Str(*a, "digest").empty()) {
        return BadRequest("a decrypted attachment without its media_id, key and digest");
      }
    }
    body.attachments = files->get_array();
  }
  return body;
}

}  // namespace natter::client
