#include "media/attachment_release.h"

#include "media/attachment.h"

namespace natter::media {

Status ReleaseAttachments(ConversationTxn& txn, const Message& message, int64_t due_at) {
  if (message.attachments.empty()) return OkStatus();
  auto attachments = ParseAttachments(message.attachments);
  if (!attachments.ok()) return OkStatus();
  for (const auto& a : *attachments) {
    NATTER_RETURN_IF_ERROR(txn.AddMediaRelease(a.id, due_at));
    if (a.thumb_upload != 0) NATTER_RETURN_IF_ERROR(txn.AddMediaRelease(a.thumb_upload, due_at));
  }
  return OkStatus();
}

}  // namespace natter::media
