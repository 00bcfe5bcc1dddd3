// The one table of API methods. A row says everything the gateway needs to
// serve a method on either transport: its name (the WebSocket `type`),
// whether it needs an authenticated caller, which rate budget a WebSocket
// request spends, its HTTP routes, and how its params are read and handled.
// Adding a method is one row here and one handler.
//
// Route patterns are written as docs/protocol.md shows them: `{id}` binds
// `conversation_id`, `{seq}` and `{user_id}` bind themselves (positive
// integers), `{handle or user_id}` binds `user_id` when it is one and
// `handle` otherwise; `fixed` params are set last (the path wins).
//
// Thread-safety: the table is immutable; read it from any thread.
#pragma once

#include <boost/json/object.hpp>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "api/dispatcher.h"

namespace natter::api {

enum class Access {
  kPublic,         // no caller needed (register, login, refresh)
  kAuthenticated,  // an access token's user
  // An operator: an access token's user with that server role or a higher
  // one (docs/admin.md). HTTP only, under /admin/v1; every call is audited.
  kModerator,
  kAdmin,
};

enum class RateClass {
  kRequest,  // the connection's request budget
  kTyping,   // and the tighter typing budget; without an id, no answer is sent
};

// How the WebSocket connection takes part, beyond passing the request on.
enum class OnSocket {
  kAnswer,        // answer it
  kAuthenticate,  // `auth`: the connection authenticates itself
  kHoldEvents,    // `sync`: live events are held until the catch-up is written
};

struct HttpRoute {
  std::string_view verb;
  std::string_view pattern;
  // Params the route sets itself (the JSON text of an object, or empty).
  std::string_view fixed = {};
};

struct Method {
  std::string_view name;
  Access access = Access::kAuthenticated;
  RateClass rate = RateClass::kRequest;
  OnSocket on_socket = OnSocket::kAnswer;
  std::vector<HttpRoute> routes;  // none: WebSocket only
  // Reads the params and runs the handler; null for `auth`, which only the
  // connection serves. `reply` runs exactly once (see Dispatcher).
  void (*invoke)(Dispatcher&, const Caller&, const boost::json::object&, Reply) = nullptr;
  // Only reads the params (bad_request or too_large when they are wrong);
  // for checks that run nothing, such as the fuzzers. Null for `auth`.
  Status (*read_params)(const boost::json::object&) = nullptr;
};

// Every method, in the order docs/protocol.md lists them.
std::span<const Method> Methods();
// The row named `name`, or null.
const Method* FindMethod(std::string_view name);

}  // namespace natter::api
