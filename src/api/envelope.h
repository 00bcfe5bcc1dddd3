// The envelope of a WebSocket request: one JSON object (depth limited) with a
// string `type` and an optional `id` (string or integer) that its answer
// echoes. docs/protocol.md section 6.4.
//
// Thread-safety: pure function.
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <string_view>

#include "natter/status.h"

namespace natter::api {

struct Envelope {
  boost::json::value request;  // the whole object; params sit at its top level
  boost::json::value id;       // null when absent
  std::string type;
};

// Fails with bad_request; `id` then holds what the error answer carries (the
// request's id once it is known to be valid, null before).
Result<Envelope> ParseEnvelope(std::string_view text, boost::json::value& id);

}  // namespace natter::api
