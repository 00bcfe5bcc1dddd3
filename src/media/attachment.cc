#include "media/attachment.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace natter::media {
namespace json = boost::json;

namespace {

int64_t IntOr(const json::object& o, std::string_view key, int64_t fallback = 0) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_int64() ? it->value().as_int64() : fallback;
}

std::string TextOr(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_string() ? std::string(it->value().as_string()) : std::string();
}

}  // namespace

json::object ToStoredJson(const Attachment& a) {
  json::object o = PublicJson(a);
  json::object stored;
  for (const auto& [name, v] : a.variants) {
    json::object o{{"sha256", v.sha256}, {"mime", v.mime}, {"size", v.size}};
    if (v.generation != 0) o["generation"] = v.generation;
    stored[name] = std::move(o);
  }
  o["stored"] = std::move(stored);
  if (a.thumb_upload != 0) o["thumb_upload"] = a.thumb_upload;
  return o;
}

Result<Attachment> AttachmentFromJson(const json::value& v) {
  if (!v.is_object()) return Internal("an attachment is not an object");
  const json::object& o = v.as_object();
  Attachment a;
  a.id = IntOr(o, "id");
  auto kind = ParseMediaKind(TextOr(o, "kind"));
  if (!kind || a.id <= 0) return Internal("an attachment without id or kind");
  a.kind = *kind;
  a.mime = TextOr(o, "mime");
  a.size = IntOr(o, "size");
  a.width = static_cast<int>(IntOr(o, "width"));
  a.height = static_cast<int>(IntOr(o, "height"));
  a.duration_ms = IntOr(o, "duration_ms");
  a.blurhash = TextOr(o, "blurhash");
  a.filename = TextOr(o, "filename");
  a.caption = TextOr(o, "caption");
  a.thumb_upload = IntOr(o, "thumb_upload");
  auto stored = o.find("stored");
  if (stored != o.end() && stored->value().is_object()) {
    for (const auto& [name, value] : stored->value().as_object()) {
      if (!value.is_object()) continue;
      const json::object& s = value.as_object();
      a.variants[std::string(name)] =
          StoredVariant{TextOr(s, "sha256"), TextOr(s, "mime"), IntOr(s, "size"), IntOr(s, "generation")};
    }
  }
  return a;
}

std::string InfoText(const Attachment& a) {
  Attachment without_caption = a;
  without_caption.caption.clear();
  return json::serialize(ToStoredJson(without_caption));
}

Result<Attachment> ParseInfo(std::string_view info) {
  boost::system::error_code ec;
  json::value v = json::parse(info, ec);
  if (ec) return Internal("an upload's info is not JSON");
  return AttachmentFromJson(v);
}

std::string AttachmentsText(const std::vector<Attachment>& list) {
  if (list.empty()) return {};
  json::array out;
  for (const auto& a : list) out.push_back(ToStoredJson(a));
  return json::serialize(out);
}

Result<std::vector<Attachment>> ParseAttachments(std::string_view text) {
  std::vector<Attachment> out;
  if (text.empty()) return out;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_array()) return Internal("a message's attachments are not a JSON array");
  for (const auto& item : v.as_array()) {
    NATTER_TRY(auto a, AttachmentFromJson(item));
    out.push_back(std::move(a));
  }
  return out;
}

json::object PublicJson(const Attachment& a) {
  json::object o{{"id", a.id}, {"kind", MediaKindName(a.kind)}, {"mime", a.mime}, {"size", a.size}};
  if (a.width > 0) o["width"] = a.width;
  if (a.height > 0) o["height"] = a.height;
  if (a.duration_ms > 0) o["duration_ms"] = a.duration_ms;
  if (!a.blurhash.empty()) o["blurhash"] = a.blurhash;
  if (!a.filename.empty()) o["filename"] = a.filename;
  if (!a.caption.empty()) o["caption"] = a.caption;
  json::array variants;
  for (const auto& [name, v] : a.variants) variants.push_back(json::string(name));
  o["variants"] = std::move(variants);
  return o;
}

json::array PublicAttachments(std::string_view text) {
  json::array out;
  auto list = ParseAttachments(text);
  if (!list.ok()) return out;
  for (const auto& a : *list) out.push_back(PublicJson(a));
  return out;
}

}  // namespace natter::media
