// ClientCore: the files of an outbox entry go up before its message does.
//
// Each file is one upload: media.create on the socket records it and says
// where its bytes go, then either tus PATCHes to natterd (the local backend:
// HEAD first says where the server stands, so a cut or a crash resumes
// there) or PUTs of its parts to the object store's presigned URLs (S3: the
// ETag of each part is kept, so only missing parts go again; fresh URLs come
// from media.parts), ending with media.complete. Every step is written to
// the local store before the next, and the message is sent, with the
// uploads named, once every file is ready. Errors a retry cannot fix (the
// server refused the file) fail the message; anything else tries again.
#include <boost/asio/steady_timer.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <filesystem>

#include "client_core.h"
#include "common/json_lookup.h"
#include "media/content_type.h"
#include "media/file_io.h"

namespace natter::client {

namespace asio = boost::asio;
namespace json = boost::json;
using json_lookup::Int;
using json_lookup::Str;

namespace {

// The reason in an HTTP error answer's JSON body, else its status.
std::string ReasonOf(const BytesAnswer& a) {
  boost::system::error_code ec;
  auto body = json::parse(a.body, ec);
  if (!ec && body.is_object()) {
    if (auto* e = body.as_object().if_contains("error"); e && e->is_object()) {
      return Str(e->as_object(), "message");
    }
  }
  return a.status == 0 ? a.error : "HTTP " + std::to_string(a.status);
}

std::string CodeOf(int status) {
  switch (status) {
    case 400:
    case 415:
      return "bad_request";
    case 413:
      return "too_large";
    case 403:
      return "forbidden";
    default:
      return "unavailable";
  }
}

// A file the app named, with its size and type, and the kind its bytes say
// (what natterd will find); nullopt with `why` when it cannot be sent.
std::optional<OutboxFile> FileToSend(const std::string& path, const std::string& mime, media::MediaKind& kind,
                                     std::string& why) {
  OutboxFile f;
  f.path = path;
  std::error_code ec;
  auto size = std::filesystem::file_size(f.path, ec);
  if (f.path.empty() || ec || !std::filesystem::is_regular_file(f.path, ec) || size == 0) {
    why = "cannot send " + (f.path.empty() ? std::string("a file without a path") : f.path) +
          ": not a readable, non-empty file";
    return std::nullopt;
  }
  f.size = static_cast<int64_t>(size);
  f.filename = std::filesystem::path(f.path).filename().string();
  // The type its bytes say (natterd checks them against it); the app's word
  // only for what cannot be told from the bytes.
  auto head = media::ReadSlice(f.path, 0, media::kSniffBytes);
  media::Sniffed sniffed = head.ok() ? media::SniffContent(*head) : media::Sniffed{"application/octet-stream"};
  kind = sniffed.kind;
  f.mime = sniffed.mime != "application/octet-stream" || mime.empty() ? sniffed.mime : mime;
  return f;
}

}  // namespace

bool ClientCore::AttachFiles(const Json& req, OutboxEntry& e, std::string& why) {
  const auto* files = req.if_contains("files");
  if (!files || files->is_null()) return true;
  if (!files->is_array() || files->as_array().size() > 10) {
    why = "files must be an array of at most 10 {path, mime, caption, thumb}";
    return false;
  }
  std::vector<OutboxFile> thumbs;  // after the files, so a file's index is its place in `files`
  for (const auto& item : files->as_array()) {
    const auto* o = item.if_object();
    media::MediaKind kind = media::MediaKind::kFile;
    auto f = FileToSend(o ? Str(*o, "path") : "", o ? Str(*o, "mime") : "", kind, why);
    if (!f) return false;
    f->index = static_cast<int>(e.files.size());
    f->caption = Str(*o, "caption");
    if (std::string thumb_path = Str(*o, "thumb"); !thumb_path.empty()) {
      media::MediaKind thumb_kind = media::MediaKind::kFile;
      auto thumb = FileToSend(thumb_path, "", thumb_kind, why);
      if (!thumb) return false;
      if (kind != media::MediaKind::kVideo || thumb_kind != media::MediaKind::kImage) {
        why = "a thumb is an image for a video: " + f->filename + " is " + f->mime + ", " + thumb->filename + " is " +
              thumb->mime;
        return false;
      }
      thumb->thumb_of = f->index;
      thumbs.push_back(std::move(*thumb));
    }
    e.files.push_back(std::move(*f));
  }
  for (auto& thumb : thumbs) {
    thumb.index = static_cast<int>(e.files.size());
    e.files.push_back(std::move(thumb));
  }
  return true;
}

void ClientCore::UploadFiles(const OutboxEntry& e) {
  if (!uploading_.insert(e.client_msg_id).second) return;  // under way
  Emit({{"@type", "message_state"},
        {"conversation_id", e.conversation_id},
        {"client_msg_id", e.client_msg_id},
        {"state", "uploading"}});
  UploadStep(e.client_msg_id);
}

void ClientCore::UploadStep(const std::string& id) {
  auto e = store_->FindOutbox(id);
  if (!e || e->state != "pending" || !ready_) {
    uploading_.erase(id);
    return;
  }
  auto file = std::find_if(e->files.begin(), e->files.end(), [](const OutboxFile& f) { return !f.ready; });
  if (file == e->files.end()) {
    uploading_.erase(id);
    return SendFromOutbox(*e);
  }
  if (file->media_id == 0) return CreateUpload(*e, *file);
  if (!file->upload_url.empty()) return ResumeTus(*e, *file);
  return SendParts(*e, *file);
}

void ClientCore::UploadLater(const std::string& id) {
  uploading_.erase(id);
  RetryLater(id, [this, id] {
    auto e = store_->FindOutbox(id);
    if (e && e->state == "pending") UploadFiles(*e);
  });
}

void ClientCore::UploadFailed(const OutboxEntry& e, const std::string& code, const std::string& reason) {
  uploading_.erase(e.client_msg_id);
  retries_.erase(e.client_msg_id);
  store_->MarkFailed(e.client_msg_id, reason);
  Emit({{"@type", "message_state"},
        {"conversation_id", e.conversation_id},
        {"client_msg_id", e.client_msg_id},
        {"state", "failed"},
        {"code", code},
        {"reason", reason}});
}

void ClientCore::UploadProgress(const OutboxEntry& e, const OutboxFile& f, int64_t sent) {
  retries_.erase(e.client_msg_id);  // the next failure is tried again soon
  Emit({{"@type", "upload_progress"},
        {"conversation_id", e.conversation_id},
        {"client_msg_id", e.client_msg_id},
        {"file", f.index},
        {"sent", sent},
        {"total", f.size}});
}

void ClientCore::FileReady(const OutboxEntry& e, const OutboxFile& f) {
  store_->MarkFileReady(e.client_msg_id, f.index);
  UploadProgress(e, f, f.size);
  UploadStep(e.client_msg_id);
}

void ClientCore::CreateUpload(const OutboxEntry& e, const OutboxFile& f) {
  Call({{"type", "media.create"}, {"size", f.size}, {"mime", f.mime}, {"filename", f.filename}},
       [this, e, f](const ReplyFrame& reply) {
         if (!reply.ok) {
           if (Permanent(reply.code)) return UploadFailed(e, reply.code, f.filename + ": " + reply.message);
           return UploadLater(e.client_msg_id);
         }
         const auto* data = reply.data.if_object();
         int64_t media_id = data ? Int(*data, "media_id") : 0;
         if (media_id <= 0) {
           ReportBadAnswer("media.create", "no media_id");
           return UploadLater(e.client_msg_id);
         }
         std::string url = Str(*data, "upload_url");
         store_->SetUploadTarget(e.client_msg_id, f.index, media_id, url);
         if (url.empty()) parts_[media_id] = *data;  // the object store's part URLs
         UploadStep(e.client_msg_id);
       });
}

void ClientCore::WithAuth(const std::string& id, bool refused, std::function<void(const std::string& token)> then) {
  // `refused`: the server said the last token was no good; get a new one.
  WithFreshToken(refused, [this, id, then = std::move(then)](Token token, const std::string&) {
    if (token != Token::kFresh) return UploadLater(id);
    then(store_->Get("access_token").value_or(""));
  });
}

void ClientCore::CheckReady(const OutboxEntry& e, const OutboxFile& f) {
  Call({{"type", "media.get"}, {"media_id", f.media_id}}, [this, e, f](const ReplyFrame& reply) {
    const auto* data = reply.ok ? reply.data.if_object() : nullptr;
    std::string state = data ? Str(*data, "state") : "";
    if (state == "ready" || state == "attached") return FileReady(e, f);
    if (!reply.ok && reply.code == "not_found") {  // gone (expired, refused): start again
      parts_.erase(f.media_id);
      store_->ResetUpload(e.client_msg_id, f.index);
      return UploadStep(e.client_msg_id);
    }
    UploadLater(e.client_msg_id);
  });
}

void ClientCore::ResumeTus(const OutboxEntry& e, const OutboxFile& f, bool refused) {
  WithAuth(e.client_msg_id, refused, [this, e, f, refused](const std::string& token) {
    BytesRequest head{"HEAD", f.upload_url, {{"Tus-Resumable", "1.0.0"}, {"Authorization", "Bearer " + token}}, ""};
    BytesCall(ioc_, server_, std::move(head), [this, e, f, refused](BytesAnswer a) {
      if (a.status == 404) {  // expired or refused meanwhile: start again
        store_->ResetUpload(e.client_msg_id, f.index);
        return UploadStep(e.client_msg_id);
      }
      if (a.status == 401) return refused ? UploadLater(e.client_msg_id) : ResumeTus(e, f, true);
      if (a.status != 200 || !a.headers.count("upload-offset")) return UploadLater(e.client_msg_id);
      int64_t offset = std::strtoll(a.headers["upload-offset"].c_str(), nullptr, 10);
      if (offset < f.size) return Patch(e, f, offset);
      CheckReady(e, f);  // every byte is there; the server may still be processing the file
    });
  });
}

void ClientCore::Patch(const OutboxEntry& e, const OutboxFile& f, int64_t offset) {
  auto chunk =
      media::ReadSlice(f.path, offset, static_cast<size_t>(std::min(options_.upload_chunk_bytes, f.size - offset)));
  if (!chunk.ok() || chunk->empty()) return UploadFailed(e, "bad_request", "cannot read " + f.path);
  WithAuth(e.client_msg_id, false, [this, e, f, offset, chunk = std::move(*chunk)](const std::string& token) mutable {
    int64_t end = offset + static_cast<int64_t>(chunk.size());
    BytesRequest patch{"PATCH",
                       f.upload_url,
                       {{"Tus-Resumable", "1.0.0"},
                        {"Authorization", "Bearer " + token},
                        {"Upload-Offset", std::to_string(offset)},
                        {"Content-Type", "application/offset+octet-stream"}},
                       std::move(chunk)};
    BytesCall(ioc_, server_, std::move(patch), [this, e, f, end](BytesAnswer a) {
      if (a.status == 204) {
        int64_t now = std::strtoll(a.headers["upload-offset"].c_str(), nullptr, 10);
        if (now >= f.size) return FileReady(e, f);
        UploadProgress(e, f, now);
        if (now != end) return UploadLater(e.client_msg_id);  // not what was sent: ask where it stands
        return Patch(e, f, now);
      }
      if (a.status == 404) {
        store_->ResetUpload(e.client_msg_id, f.index);
        return UploadStep(e.client_msg_id);
      }
      if (a.status == 401) return ResumeTus(e, f, true);  // a new token, then HEAD says where to go on
      // Refused for what the file is (its type, its size): no retry helps.
      if (a.status == 400 || a.status == 413 || a.status == 415) {
        return UploadFailed(e, CodeOf(a.status), f.filename + ": " + ReasonOf(a));
      }
      UploadLater(e.client_msg_id);  // cut, busy, a PATCH still running: HEAD says where to go on
    });
  });
}

std::optional<ServerEndpoint> ClientCore::ObjectStore(const std::string& url, std::string& target) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return std::nullopt;
  ClientOptions options = options_;
  options.server = std::string(parsed->scheme()) + "://" + std::string(parsed->encoded_authority());
  // The store is not the chat server: its certificate comes from the system's
  // trust store, and the server's pins are not its keys.
  options.pins.clear();
  options.ca_file.clear();
  try {
    ServerEndpoint store = MakeServerEndpoint(options);
    if (store.origin == server_.origin) store = server_;
    target = std::string(parsed->encoded_path()) +
             (parsed->has_query() ? "?" + std::string(parsed->encoded_query()) : std::string());
    return store;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

void ClientCore::SendParts(const OutboxEntry& e, const OutboxFile& f) {
  auto known = parts_.find(f.media_id);
  if (known == parts_.end()) {  // after a restart, or URLs that expired: fresh ones
    return Call({{"type", "media.parts"}, {"media_id", f.media_id}}, [this, e, f](const ReplyFrame& reply) {
      if (!reply.ok && reply.code == "not_found") {
        store_->ResetUpload(e.client_msg_id, f.index);
        return UploadStep(e.client_msg_id);
      }
      // Complete already: its media.complete went through, the answer was lost.
      if (!reply.ok && reply.code == "conflict") return CheckReady(e, f);
      if (!reply.ok || !reply.data.is_object()) return UploadLater(e.client_msg_id);
      parts_[f.media_id] = reply.data.as_object();
      UploadStep(e.client_msg_id);
    });
  }
  boost::system::error_code ec;
  auto parsed_etags = json::parse(f.etags.empty() ? "[]" : f.etags, ec);
  json::array etags = !ec && parsed_etags.is_array() ? parsed_etags.as_array() : json::array();
  const auto* parts = known->second.if_contains("parts");
  int64_t part_size = Int(known->second, "part_size");
  if (!parts || !parts->is_array() || part_size <= 0) {
    ReportBadAnswer("media.parts", "no parts");
    return UploadLater(e.client_msg_id);
  }
  const auto& list = parts->as_array();
  etags.resize(list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    if (etags[i].is_string() && !etags[i].as_string().empty()) continue;
    const auto* part = list[i].if_object();
    std::string target;
    auto store = part ? ObjectStore(Str(*part, "url"), target) : std::nullopt;
    if (!store) {
      ReportBadAnswer("media.parts", "a part URL that is not one");
      return UploadLater(e.client_msg_id);
    }
    auto bytes = media::ReadSlice(f.path, static_cast<int64_t>(i) * part_size, static_cast<size_t>(Int(*part, "size")));
    if (!bytes.ok() || static_cast<int64_t>(bytes->size()) != Int(*part, "size")) {
      return UploadFailed(e, "bad_request", "cannot read " + f.path);
    }
    BytesCall(ioc_, *store, BytesRequest{"PUT", target, {}, std::move(*bytes)},
              [this, e, f, i, etags, part_size](BytesAnswer a) mutable {
                if (a.status != 200 || a.headers["etag"].empty()) {
                  if (a.status == 403) parts_.erase(f.media_id);  // expired URLs: fresh ones next time
                  return UploadLater(e.client_msg_id);
                }
                etags[i] = a.headers["etag"];
                store_->SetUploadEtags(e.client_msg_id, f.index, json::serialize(etags));
                UploadProgress(e, f, std::min<int64_t>(f.size, static_cast<int64_t>(i + 1) * part_size));
                UploadStep(e.client_msg_id);
              });
    return;
  }
  // Every part is in the store: natterd joins, checks and processes them.
  json::array complete;
  for (size_t i = 0; i < etags.size(); ++i) {
    complete.push_back(json::object{{"part", static_cast<int64_t>(i + 1)}, {"etag", etags[i]}});
  }
  Call({{"type", "media.complete"}, {"media_id", f.media_id}, {"parts", std::move(complete)}},
       [this, e, f](const ReplyFrame& reply) {
         if (reply.ok) {
           parts_.erase(f.media_id);
           return FileReady(e, f);
         }
         if (reply.code == "conflict") return CheckReady(e, f);  // completed before, its answer lost
         if (reply.code == "not_found") {                        // expired meanwhile: start again
           parts_.erase(f.media_id);
           store_->ResetUpload(e.client_msg_id, f.index);
           return UploadStep(e.client_msg_id);
         }
         if (Permanent(reply.code)) return UploadFailed(e, reply.code, f.filename + ": " + reply.message);
         UploadLater(e.client_msg_id);
       });
}

}  // namespace natter::client
