// media.*: uploads (created here; their bytes go by tus over HTTP,
// gateway/tus_protocol.h, or straight to the object store with the S3
// backend), an upload's state, and download URLs for attachments. Attaching
// is part of messages.send (message_methods.cc).
#include "api/dispatcher.h"
#include "media/media_service.h"

namespace natter::api {

namespace json = boost::json;

namespace {

// Where the client sends the bytes: the tus URL, or each part's presigned URL.
json::object TargetJson(const media::UploadTarget& t) {
  json::object o{{"media_id", t.upload.id}, {"size", t.upload.size}, {"expires_at", t.upload.expires_at}};
  if (t.parts.empty()) {
    o["transport"] = "tus";
    o["upload_url"] = "/v1/uploads/" + std::to_string(t.upload.id);
    return o;
  }
  o["transport"] = "s3";
  o["part_size"] = t.part_size;
  o["urls_expire_at"] = t.urls_expire_at;
  json::array parts;
  for (const auto& p : t.parts) parts.push_back(json::object{{"part", p.number}, {"size", p.size}, {"url", p.url}});
  o["parts"] = std::move(parts);
  return o;
}

}  // namespace

void Dispatcher::CreateUpload(const Caller& c, CreateUploadParams p, Reply reply) {
  if (!d_.media) return reply(Unavailable("media is not enabled on this server"));
  d_.media->CreateTarget(ExecutorOf(c), c.user, p.size, std::move(p.mime), std::move(p.filename),
                         [reply = std::move(reply)](Result<media::UploadTarget> r) {
                           if (!r.ok()) return reply(r.take_error());
                           reply(json::value(TargetJson(*r)));
                         });
}

void Dispatcher::UploadParts(const Caller& c, UploadParams p, Reply reply) {
  if (!d_.media) return reply(Unavailable("media is not enabled on this server"));
  d_.media->PartUrls(ExecutorOf(c), c.user, p.media_id, [reply = std::move(reply)](Result<media::UploadTarget> r) {
    if (!r.ok()) return reply(r.take_error());
    reply(json::value(TargetJson(*r)));
  });
}

void Dispatcher::CompleteUpload(const Caller& c, CompleteUploadParams p, Reply reply) {
  if (!d_.media) return reply(Unavailable("media is not enabled on this server"));
  d_.media->CompleteParts(ExecutorOf(c), c.user, p.media_id, std::move(p.parts),
                          [reply = std::move(reply)](Result<media::Attachment> r) {
                            if (!r.ok()) return reply(r.take_error());
                            reply(json::value(json::object{{"attachment", media::PublicJson(*r)}}));
                          });
}

void Dispatcher::GetUpload(const Caller& c, UploadParams p, Reply reply) {
  if (!d_.media) return reply(Unavailable("media is not enabled on this server"));
  d_.media->Lookup(ExecutorOf(c), c.user, p.media_id, [reply = std::move(reply)](Result<media::UploadStatus> r) {
    if (!r.ok()) return reply(r.take_error());
    const MediaUpload& u = r->upload;
    json::object o{{"media_id", u.id},          {"state", UploadStateName(u.state)}, {"size", u.size},
                   {"offset", r->offset},       {"mime", u.declared_mime},           {"filename", u.filename},
                   {"created_at", u.created_at}};
    if (u.expires_at != 0) o["expires_at"] = u.expires_at;
    if (!u.info.empty()) {
      auto a = media::ParseInfo(u.info);
      if (a.ok()) o["attachment"] = media::PublicJson(*a);
    }
    reply(json::value(std::move(o)));
  });
}

void Dispatcher::MediaUrl(const Caller& c, MediaUrlParams p, Reply reply) {
  if (!d_.media) return reply(Unavailable("media is not enabled on this server"));
  d_.store.ReadResult<media::Attachment>(
      d_.store.PartitionOf(p.conversation_id), ExecutorOf(c),
      [user = c.user, p](ConversationTxn& txn) -> Result<media::Attachment> {
        // A member now, of a conversation whose message holds it now: a
        // removed member or a deleted message grants nothing.
        NATTER_RETURN_IF_ERROR(chat::RequireMember(txn, user, p.conversation_id));
        NATTER_TRY(auto message, txn.FindMessage(p.conversation_id, p.seq));
        if (!message || message->deleted || message->kind != EventKind::kMessage) {
          return NotFound("no such message");
        }
        NATTER_TRY(auto list, media::ParseAttachments(message->attachments));
        for (auto& a : list) {
          if (a.id == p.media_id) return std::move(a);
        }
        return NotFound("the message has no such attachment");
      },
      [this, variant = p.variant, reply = std::move(reply)](Result<media::Attachment> r) {
        if (!r.ok()) return reply(r.take_error());
        auto it = r->variants.find(variant);
        if (it == r->variants.end()) return reply(NotFound("the attachment has no " + variant + " variant"));
        // A thumbnail or a poster is an image, not the file the name is of.
        std::string filename = variant == "main" ? r->filename : std::string();
        json::object o{{"url", d_.media->DownloadUrl(it->second, filename)},
                       {"expires_at", d_.media->DownloadUrlExpiry() * 1000},
                       {"mime", it->second.mime},
                       {"size", it->second.size}};
        reply(json::value(std::move(o)));
      });
}

}  // namespace natter::api
