// A send's attachments: the sender's uploads the message names, checked and
// then attached to it, in the accounts' writer (the uploads live with the
// accounts).
#pragma once

#include <string>
#include <vector>

#include "api/params.h"
#include "media/attachment.h"
#include "natter/status.h"
#include "store/store.h"

namespace natter::api {

// Every ref (and its thumb) is read and checked before any is attached, so a
// refusal writes nothing: a PostgreSQL batch would otherwise run again to undo
// what it wrote. `send_key` names the send ("<conversation>:<client_msg_id>");
// its retry finds its uploads attached already and takes them again.
Result<std::vector<media::Attachment>> AttachUploads(AccountsTxn& txn, UserId user,
                                                     const std::vector<AttachmentRef>& refs, int64_t now_ms,
                                                     const std::string& send_key, bool encrypted);

}  // namespace natter::api
