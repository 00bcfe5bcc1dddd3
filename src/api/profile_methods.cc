// profile.set and users.avatar: the name and picture others see of a user.
// The picture is one of the user's image uploads, attached to the profile
// as an upload is to a message (it no longer expires); a replaced one is
// released after the same grace period as a deleted message's attachments.
#include "api/answers.h"
#include "api/dispatcher.h"
#include "api/json_views.h"
#include "chat/text_rules.h"
#include "media/attachment.h"
#include "media/media_service.h"

namespace natter::api {

namespace json = boost::json;

namespace {

// The image upload `id` of `user`, attached to their profile; its stored form.
Result<std::string> TakeAvatar(AccountsTxn& txn, UserId user, int64_t id, int64_t now) {
  NATTER_TRY(auto upload, txn.FindUpload(id));
  if (!upload || upload->user_id != user) return NotFound("the avatar is not one of your uploads");
  if (upload->state == UploadState::kUploading) return Conflict("the avatar is still uploading");
  NATTER_TRY(auto picture, media::ParseInfo(upload->info));
  if (picture.kind != media::MediaKind::kImage) return BadRequest("an avatar must be an image");
  // The same upload set again is already the profile's.
  NATTER_TRY(bool attached, txn.AttachUpload(id, user, now, "avatar:" + std::to_string(user)));
  if (!attached && upload->state == UploadState::kAttached) {
    return Conflict("that upload belongs to a message; upload the picture again");
  }
  if (!attached) return NotFound("the avatar upload has expired");
  // Taken back within the grace period after it was replaced: it stays.
  NATTER_RETURN_IF_ERROR(txn.CancelUploadRelease(id));
  // Others see the picture, not what the file was called on the phone.
  picture.filename.clear();
  return media::InfoText(picture);
}

}  // namespace

void Dispatcher::SetProfile(const Caller& c, ProfileParams p, Reply reply) {
  if (p.display_name) {
    if (auto st = chat::CheckDisplayName(*p.display_name); !st.ok()) return reply(st.take_error());
  }
  if (p.avatar && *p.avatar != 0 && !d_.media) return reply(Unavailable("media is not enabled on this server"));
  int64_t now = d_.clock.NowMs();
  int64_t release_at = now + (d_.media ? d_.media->limits()->delete_grace_ms : 0);
  d_.store.WriteAccountsResult<User>(
      ExecutorOf(c),
      [user = c.user, p = std::move(p), now, release_at](AccountsTxn& txn) -> Result<User> {
        NATTER_TRY(auto me, txn.FindUser(user));
        if (!me) return NotFound("user not found");
        if (p.display_name) me->display_name = *p.display_name;
        int64_t before = me->avatar_upload;
        if (p.avatar && *p.avatar != before) {
          me->avatar.clear();
          me->avatar_upload = 0;
          if (*p.avatar != 0) {
            NATTER_TRY(me->avatar, TakeAvatar(txn, user, *p.avatar, now));
            me->avatar_upload = *p.avatar;
          }
          if (before != 0) NATTER_RETURN_IF_ERROR(txn.ReleaseUploadAt(before, release_at));
        }
        NATTER_TRY(bool set, txn.SetProfile(user, me->display_name, me->avatar, me->avatar_upload, before));
        if (!set) return Conflict("your profile changed meanwhile; try again");
        return std::move(*me);
      },
      Respond<User>(std::move(reply), [](const User& u) { return ToJson(u); }));
}

void Dispatcher::AvatarUrl(const Caller& c, AvatarParams p, Reply reply) {
  if (!d_.media) return reply(Unavailable("media is not enabled on this server"));
  d_.store.ReadAccountsResult<media::StoredVariant>(
      ExecutorOf(c),
      [p](AccountsTxn& txn) -> Result<media::StoredVariant> {
        NATTER_TRY(auto user, p.user.handle ? txn.FindUserByHandle(*p.user.handle) : txn.FindUser(*p.user.user_id));
        if (!user || user->avatar.empty()) return NotFound("no such user, or no avatar");
        NATTER_TRY(auto stored, media::ParseInfo(user->avatar));
        auto it = stored.variants.find(p.variant);
        if (it == stored.variants.end()) it = stored.variants.find("main");
        if (it == stored.variants.end()) return NotFound("the avatar has no such variant");
        return it->second;
      },
      [this, reply = std::move(reply)](Result<media::StoredVariant> r) {
        if (!r.ok()) return reply(r.take_error());
        reply(json::value(json::object{{"url", d_.media->DownloadUrl(*r, "")},
                                       {"expires_at", d_.media->DownloadUrlExpiry() * 1000},
                                       {"mime", r->mime},
                                       {"size", r->size}}));
      });
}

}  // namespace natter::api
