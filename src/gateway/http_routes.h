// The REST face of the API: finds the method table row whose HTTP route
// matches a verb and path (api/method_table.h), and merges its JSON params:
// the body's object, then the query, then the path and the route's fixed
// params (later ones win). Pure: no sockets, no Beast, tested on its own.
#pragma once

#include <boost/json/object.hpp>
#include <string_view>

#include "api/method_table.h"
#include "natter/status.h"

namespace natter::gateway {

struct RouteMatch {
  const api::Method* method = nullptr;
  boost::json::object params;
};

// NotFound for a path or verb no route has, BadRequest for a body that is not
// a JSON object or a malformed id in a path that a route has.
Result<RouteMatch> MatchRoute(std::string_view verb, std::string_view target, std::string_view body);

}  // namespace natter::gateway
