// Base64url (RFC 4648 section 5) without padding, as JWTs (RFC 7515) and our
// opaque tokens use it. Decoding is strict so that every byte string has
// exactly one accepted text form: a token cannot be altered into a different
// string that still decodes to the same bytes.
//
// Thread-safety: pure functions, safe to call from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace natter::auth {

// Encodes arbitrary bytes with the URL-safe alphabet and no '=' padding.
std::string Base64UrlEncode(std::string_view bytes);

// Decodes unpadded base64url. Returns nullopt for any character outside the
// URL-safe alphabet (including '=', '+', '/' and whitespace), for a length
// that no encoding can produce (length % 4 == 1) and for non-zero unused
// trailing bits.
std::optional<std::string> Base64UrlDecode(std::string_view text);

}  // namespace natter::auth
