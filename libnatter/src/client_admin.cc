// ClientCore: operator calls (docs/admin.md) for tools such as `natter
// admin`. One request, `admin_request` with `method`, `path` (under
// /admin/v1/) and an optional `body`, made over HTTP with this session's
// access token (refreshed first when it is about to expire); the answer is the
// server's JSON, or its error.
#include "client_core.h"
#include "common/json_lookup.h"

namespace natter::client {

using json_lookup::Str;

void ClientCore::AdminRequest(const Json& req) {
  std::string method = Str(req, "method"), path = Str(req, "path");
  if (method != "GET" && method != "POST" && method != "PUT" && method != "DELETE") {
    return Fail(req, "bad_request", "method must be GET, POST, PUT or DELETE");
  }
  if (!path.starts_with("/admin/v1/")) return Fail(req, "bad_request", "path must start with /admin/v1/");
  const boost::json::value* body = req.if_contains("body");
  boost::json::value payload = body && body->is_object() ? *body : boost::json::value(nullptr);
  WithFreshToken(false, [this, req, method, path, payload](Token state, const std::string& why) {
    if (state == Token::kEnded) return Fail(req, "unauthorized", why.empty() ? "log in first" : why);
    auto token = store_->Get("access_token");
    if (state != Token::kFresh || !token) return Fail(req, "unavailable", why);
    HttpCall(ioc_, server_, {method, path, payload, *token}, [this, req](const HttpAnswer& answer) {
      if (answer.status != 200 || !answer.body.is_object()) return FailHttp(req, answer);
      Answer(req, answer.body.as_object());
    });
  });
}

}  // namespace natter::client
