#include "api/key_params.h"

#include "api/json_fields.h"
#include "auth/base64url.h"
#include "e2ee/xeddsa.h"

namespace natter::api {
namespace {

namespace json = boost::json;

// A base64url text that decodes to `bytes` bytes and, for keys, to a key of
// Signal's form. The text stays as it came: strict decoding makes it the
// only text of those bytes.
Status CheckKeyText(std::string_view field, const std::string& text, bool is_signature) {
  auto bytes = auth::Base64UrlDecode(text);
  if (!bytes) return BadRequest(std::string(field) + " must be unpadded base64url");
  if (is_signature) {
    if (bytes->size() != e2ee::kSignatureBytes) return BadRequest(std::string(field) + " must be 64 bytes");
    return OkStatus();
  }
  if (!e2ee::IsPublicKey(*bytes)) return BadRequest(std::string(field) + " must be a 33-byte Curve25519 public key");
  return OkStatus();
}

Status CheckId(std::string_view field, int64_t id, int64_t max) {
  if (id <= 0 || id > max) return BadRequest(std::string(field) + " must be 1 to " + std::to_string(max));
  return OkStatus();
}

}  // namespace

Result<PublishKeysParams> PublishKeysParams::Parse(const json::object& o) {
  Fields f(o);
  PublishKeysParams p;
  p.registration_id = f.OptionalInt("registration_id");
  p.identity_key = f.OptionalString("identity_key");
  NATTER_TRY(p, f.Finish(std::move(p)));
  if (p.registration_id) NATTER_RETURN_IF_ERROR(CheckId("registration_id", *p.registration_id, INT32_MAX));
  if (p.identity_key) NATTER_RETURN_IF_ERROR(CheckKeyText("identity_key", *p.identity_key, false));
  if (const json::value* spk = o.if_contains("signed_prekey"); spk && !spk->is_null()) {
    if (!spk->is_object()) return BadRequest("field 'signed_prekey' must be an object {id, key, signature}");
    Fields s(spk->get_object());
    SignedPreKey key{s.Int("id"), s.String("key"), s.String("signature")};
    NATTER_TRY(key, s.Finish(std::move(key)));
    NATTER_RETURN_IF_ERROR(CheckId("signed_prekey.id", key.id, kMaxPreKeyId));
    NATTER_RETURN_IF_ERROR(CheckKeyText("signed_prekey.key", key.public_key, false));
    NATTER_RETURN_IF_ERROR(CheckKeyText("signed_prekey.signature", key.signature, true));
    p.signed_prekey = std::move(key);
  }
  if (const json::value* list = o.if_contains("prekeys"); list && !list->is_null()) {
    if (!list->is_array()) return BadRequest("field 'prekeys' must be an array of {id, key}");
    if (list->get_array().size() > kMaxPreKeysPerPublish) {
      return TooLarge("at most " + std::to_string(kMaxPreKeysPerPublish) + " prekeys in one publish");
    }
    for (const auto& item : list->get_array()) {
      if (!item.is_object()) return BadRequest("field 'prekeys' must be an array of {id, key}");
      Fields k(item.get_object());
      OneTimePreKey key{k.Int("id"), k.String("key")};
      NATTER_TRY(key, k.Finish(std::move(key)));
      NATTER_RETURN_IF_ERROR(CheckId("a prekey's id", key.id, kMaxPreKeyId));
      NATTER_RETURN_IF_ERROR(CheckKeyText("a prekey's key", key.public_key, false));
      for (const auto& other : p.prekeys) {
        if (other.id == key.id) return BadRequest("a prekey id is listed twice");
      }
      p.prekeys.push_back(std::move(key));
    }
  }
  return p;
}

Result<KeyBundleParams> KeyBundleParams::Parse(const json::object& o) {
  NATTER_TRY(auto user, UserLookupParams::Parse(o));
  Fields f(o);
  KeyBundleParams p{std::move(user), f.OptionalInt("device_id").value_or(0)};
  NATTER_TRY(p, f.Finish(std::move(p)));
  if (p.device_id < 0) return BadRequest("device_id must be a positive number");
  return p;
}

}  // namespace natter::api
