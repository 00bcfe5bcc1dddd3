#include "gateway/http_routes.h"

#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>
#include <charconv>
#include <optional>
#include <vector>

namespace natter::gateway {
namespace {

namespace json = boost::json;

std::optional<int64_t> ParseId(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v <= 0) return std::nullopt;
  return v;
}

// Query values that are all digits become numbers, so ?before=10 reads like {"before":10}.
json::value QueryValue(std::string_view v) {
  int64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec == std::errc() && p == v.data() + v.size() && !v.empty() && v[0] != '+') return n;
  return json::string(v);
}

}  // namespace

Result<RouteMatch> MatchRoute(std::string_view verb, std::string_view target, std::string_view body) {
  auto url = boost::urls::parse_origin_form(target);
  if (!url) return BadRequest("malformed request target");
  std::vector<std::string> seg;
  for (auto s : url->segments()) seg.push_back(std::string(s));
  if (seg.size() < 2 || seg[0] != "v1") return NotFound("no such endpoint");

  RouteMatch m;
  if (!body.empty()) {
    boost::system::error_code ec;
    json::parse_options opts;
    opts.max_depth = 16;
    json::value v = json::parse(body, ec, {}, opts);
    if (ec || !v.is_object()) return BadRequest("the request body must be one JSON object");
    m.params = std::move(v.get_object());
  }
  for (auto param : url->params()) {
    if (param.has_value) m.params[param.key] = QueryValue(param.value);
  }

  auto id_at = [&](size_t i, const char* field) -> Status {
    auto id = ParseId(seg[i]);
    if (!id) return BadRequest(std::string("malformed ") + field + " in the path");
    m.params[field] = *id;
    return OkStatus();
  };
  const size_t n = seg.size();
  const std::string& area = seg[1];

  if (area == "auth" && n == 3 && verb == "POST") {
    if (seg[2] == "register" || seg[2] == "login" || seg[2] == "refresh" || seg[2] == "logout") {
      m.method = "auth." + seg[2];
      return m;
    }
  }
  if (area == "sync" && n == 2 && verb == "GET") {
    m.method = "sync";
    return m;
  }
  if (area == "presence" && n == 3 && seg[2] == "query" && verb == "POST") {
    m.method = "presence.get";
    return m;
  }
  if (area == "me" && n == 3 && seg[2] == "presence" && verb == "PUT") {
    m.method = "presence.set";
    return m;
  }
  if (area == "users" && n == 3 && verb == "GET") {
    if (auto id = ParseId(seg[2])) m.params["user_id"] = *id; else m.params["handle"] = seg[2];
    m.method = "users.get";
    return m;
  }
  if (area == "conversations") {
    if (n == 2) {
      if (verb == "GET") m.method = "conversations.list";
      if (verb == "POST") m.method = "conversations.create";
    } else {
      NATTER_RETURN_IF_ERROR(id_at(2, "conversation_id"));
      if (n == 3 && verb == "GET") m.method = "conversations.get";
      if (n == 3 && verb == "PATCH") m.method = "conversations.rename";
      if (n == 4 && seg[3] == "messages" && verb == "GET") m.method = "messages.history";
      if (n == 4 && seg[3] == "messages" && verb == "POST") m.method = "messages.send";
      if (n == 4 && seg[3] == "read" && verb == "POST") m.method = "messages.read";
      if (n == 4 && seg[3] == "delivered" && verb == "POST") m.method = "messages.delivered";
      if (n == 4 && seg[3] == "typing" && verb == "POST") m.method = "typing";
      if (n == 4 && seg[3] == "receipts" && verb == "GET") m.method = "receipts.get";
      if (n >= 5 && seg[3] == "messages") {
        NATTER_RETURN_IF_ERROR(id_at(4, "seq"));
        if (n == 5 && verb == "PATCH") m.method = "messages.edit";
        if (n == 5 && verb == "DELETE") m.method = "messages.delete";
        if (n == 6 && seg[5] == "reactions" && verb == "PUT") m.method = "messages.react";
        if (n == 6 && seg[5] == "reactions" && verb == "DELETE") {
          m.params["emoji"] = "";
          m.method = "messages.react";
        }
      }
      if (n == 4 && seg[3] == "members" && verb == "POST") m.method = "members.add";
      if (n == 5 && seg[3] == "members") {
        NATTER_RETURN_IF_ERROR(id_at(4, "user_id"));
        if (verb == "DELETE") m.method = "members.remove";
        if (verb == "PATCH") m.method = "members.set_role";
      }
    }
    if (!m.method.empty()) return m;
  }
  return NotFound("no such endpoint");
}

}  // namespace natter::gateway
