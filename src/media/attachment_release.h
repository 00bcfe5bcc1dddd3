// Giving back the uploads of a message that is deleted or erased.
#pragma once

#include "natter/model.h"
#include "natter/status.h"
#include "store/store.h"

namespace natter::media {

// Releases the uploads `message` carried (and their thumbnails) at `due_at`,
// in the deletion's own transaction; the media sweep deletes them then
// (media/media_sweep.cc). Unreadable attachments never stop a deletion: their
// uploads stay.
Status ReleaseAttachments(ConversationTxn& txn, const Message& message, int64_t due_at);

}  // namespace natter::media
