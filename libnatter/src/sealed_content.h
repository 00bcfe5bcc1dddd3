// What the ciphertext of an encrypted message, edit or reaction holds
// (docs/e2ee.md): its text, with where it belongs (conversation, kind, the
// message it edits or reacts to, the one it answers), so that a server that
// moves a ciphertext to another conversation, or passes a message off as an
// edit of another, is caught when it is opened.
//
// Thread-safety: pure functions.
#pragma once

#include <boost/json/array.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "natter/status.h"
#include "server_frames.h"

namespace natter::client {

struct SealedPlace {
  int64_t conversation_id = 0;
  std::string kind;  // message, edit, reaction
  std::optional<int64_t> target_seq;
  std::optional<int64_t> reply_to;
};

// Where a timeline entry says it belongs.
SealedPlace PlaceOf(const Entry& entry);

// A message's files (encrypted conversations): each {"media_id", "key",
// "digest", "mime", "filename", "size", "caption"}, keys and digests in
// base64url; the uploads themselves are ciphertext.
struct SealedBody {
  std::string text;
  boost::json::array attachments;
};

std::string SealContent(const SealedBody& body, const SealedPlace& place);

// What a decrypted `plaintext` says, when it belongs at `place`; bad_request
// when it is not sealed content, or was sealed for another place.
Result<SealedBody> OpenContent(std::string_view plaintext, const SealedPlace& place);

}  // namespace natter::client
