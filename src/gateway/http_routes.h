// The REST face of the API: maps an HTTP verb and path to a dispatcher method
// and its JSON params (path and query values merged into the body's object).
// Pure: no sockets, no Beast, tested on its own.
#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <string_view>

#include "natter/status.h"

namespace natter::gateway {

struct RouteMatch {
  std::string method;
  boost::json::object params;
};

// NotFound for an unknown path, BadRequest for a body that is not a JSON object
// or a malformed id in the path.
Result<RouteMatch> MatchRoute(std::string_view verb, std::string_view target, std::string_view body);

}  // namespace natter::gateway
