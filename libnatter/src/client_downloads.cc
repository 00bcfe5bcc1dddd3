// ClientCore: attachments fetched into the media cache, a folder beside the
// local store: <database_directory>/media/<conversation>-<seq>-<media id>-<variant>.
// A file there is answered at once, also offline; the cache keeps only what
// the local store's entries still name, so retention bounds it too (an app
// asks for the `thumb` variant first, and the `main` one when it is opened).
#include <boost/json/serialize.hpp>
#include <charconv>
#include <filesystem>

#include "attachment_cipher.h"
#include "auth/base64url.h"
#include "client_core.h"
#include "common/json_lookup.h"

namespace natter::client {

using json_lookup::Int;
using json_lookup::Str;

namespace {

std::string CacheDir(const ClientOptions& options) {
  return (std::filesystem::path(options.database_directory) / "media").string();
}

}  // namespace

std::string ClientCore::MediaCachePath(int64_t conversation_id, int64_t seq, int64_t media_id,
                                       const std::string& variant) {
  return CacheDir(options_) + "/" + std::to_string(conversation_id) + "-" + std::to_string(seq) + "-" +
         std::to_string(media_id) + "-" + variant;
}

void ClientCore::DownloadAttachment(const Json& req) {
  int64_t conv = Int(req, "conversation_id"), seq = Int(req, "seq"), media_id = Int(req, "media_id");
  std::string variant = Str(req, "variant").empty() ? "main" : Str(req, "variant");
  if (conv <= 0 || seq <= 0 || media_id <= 0 || (variant != "main" && variant != "thumb" && variant != "poster")) {
    return Fail(req, "bad_request", "conversation_id, seq, media_id and variant (main, thumb or poster) are required");
  }
  std::string path = MediaCachePath(conv, seq, media_id, variant);
  // A file of an encrypted message: its key and digest are in the entry.
  std::optional<Json> sealed;
  if (auto entry = store_->FindEntry(conv, seq); entry && json_lookup::Bool(*entry, "encrypted")) {
    for (const auto* a : json_lookup::Objects(*entry, "attachments")) {
      if (Int(*a, "id") == media_id && !Str(*a, "key").empty()) sealed = *a;
    }
    if (!sealed) return Fail(req, "not_found", "no readable file " + std::to_string(media_id) + " in that message");
    if (variant != "main") return Fail(req, "not_found", "an encrypted file has no " + variant + " variant");
  }
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    return Answer(
        req, {{"path", path}, {"size", static_cast<int64_t>(std::filesystem::file_size(path, ec))}, {"cached", true}});
  }
  if (!ready_) return Fail(req, "unavailable", "not connected, and not in the media cache");
  std::filesystem::create_directories(CacheDir(options_), ec);
  Call({{"type", "media.url"}, {"conversation_id", conv}, {"seq", seq}, {"media_id", media_id}, {"variant", variant}},
       [this, req, path, sealed](const ReplyFrame& reply) {
         if (!reply.ok) return Fail(req, reply.code, reply.message);
         const auto* grant = reply.data.if_object();
         std::string url = grant ? Str(*grant, "url") : "";
         int64_t size = grant ? Int(*grant, "size") : 0;
         std::string target = url;
         std::optional<ServerEndpoint> from = server_;
         if (url.rfind("http", 0) == 0) from = ObjectStore(url, target);  // the object store's presigned URL
         if (url.empty() || size <= 0 || !from) {
           ReportBadAnswer("media.url", "no usable url and size");
           return Fail(req, "bad_frame", "the server gave no usable download URL");
         }
         std::string mime = Str(*grant, "mime");
         // A sealed file lands beside its place and is opened into it.
         std::string landing = sealed ? path + ".sealed" : path;
         DownloadCall(
             ioc_, *from, target, landing, size, [this, req, path, landing, size, mime, sealed](BytesAnswer a) {
               if (a.status != 200) {
                 return Fail(req, a.status == 0 ? "unavailable" : "not_found",
                             a.status == 0 ? a.error : "download answered " + std::to_string(a.status));
               }
               if (!sealed) return Answer(req, {{"path", path}, {"size", size}, {"mime", mime}, {"cached", false}});
               auto key = auth::Base64UrlDecode(Str(*sealed, "key"));
               auto digest = auth::Base64UrlDecode(Str(*sealed, "digest"));
               Status opened = key && digest ? OpenSealedFile(landing, path, *key, *digest)
                                             : Status(BadRequest("the message's key or digest is not base64url"));
               std::error_code ec;
               std::filesystem::remove(landing, ec);
               if (!opened.ok())
                 return Fail(req, std::string(ErrorCodeName(opened.error().code)), opened.error().message);
               Answer(req, {{"path", path},
                            {"size", static_cast<int64_t>(std::filesystem::file_size(path, ec))},
                            {"mime", Str(*sealed, "mime")},
                            {"cached", false}});
             });
       });
}

void ClientCore::PruneMediaCache(bool everything) {
  std::error_code ec;
  for (const auto& file : std::filesystem::directory_iterator(CacheDir(options_), ec)) {
    std::string name = file.path().filename().string();
    int64_t conv = 0, seq = 0;
    auto [p, err] = std::from_chars(name.data(), name.data() + name.size(), conv);
    bool named = err == std::errc() && p < name.data() + name.size() && *p == '-';
    if (named) named = std::from_chars(p + 1, name.data() + name.size(), seq).ec == std::errc();
    // Unnamed files are leftovers (a download cut off); entries that went
    // with retention take their attachments with them.
    if (everything || !named || !store_->HasEntry(conv, seq)) std::filesystem::remove(file.path(), ec);
  }
}

}  // namespace natter::client
