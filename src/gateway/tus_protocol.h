// The parts of tus 1.0 (tus.io: core, creation, expiration, termination)
// that are plain text: headers read and written, paths, dates. The HTTP
// session does the I/O (gateway/http_session.cc), media/media_service.h the
// work. Pure: no sockets, tested on its own.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "natter/status.h"

namespace natter::gateway::tus {

inline constexpr std::string_view kVersion = "1.0.0";
inline constexpr std::string_view kExtensions = "creation,expiration,termination";
inline constexpr std::string_view kOffsetContentType = "application/offset+octet-stream";
inline constexpr std::string_view kCollection = "/v1/uploads";

// "/v1/uploads" (the collection: nullopt id) or "/v1/uploads/<id>"; false
// for any other path.
struct UploadPath {
  bool matches = false;
  std::optional<int64_t> id;
};
UploadPath ParseUploadPath(std::string_view path);

// Upload-Metadata: "key base64value,key2 base64value2,flag"; BadRequest when
// malformed (a key twice, a value that is not base64).
Result<std::map<std::string, std::string>> ParseMetadata(std::string_view header);

// A non-negative decimal (Upload-Length, Upload-Offset), or nullopt.
std::optional<int64_t> ParseDecimal(std::string_view s);

// RFC 9110 IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), for Upload-Expires.
std::string HttpDate(int64_t ms);

// A Range header of one range ("bytes=first-", "bytes=first-last" or the
// suffix "bytes=-count") over an object of `size` bytes: [first, last], or
// not satisfiable (it starts past the end). nullopt when absent or in
// another form (several ranges): the whole object is sent then.
struct ByteRange {
  int64_t first = 0;
  int64_t last = 0;
  bool satisfiable = true;
};
std::optional<ByteRange> ParseRange(std::string_view header, int64_t size);

}  // namespace natter::gateway::tus
