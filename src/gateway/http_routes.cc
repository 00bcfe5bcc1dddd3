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

std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    if (path.front() == '/') path.remove_prefix(1);
    size_t end = path.find('/');
    out.push_back(path.substr(0, end));
    path = end == std::string_view::npos ? std::string_view() : path.substr(end);
  }
  return out;
}

// The param a placeholder binds (docs/protocol.md's names for them).
std::string_view BoundField(std::string_view placeholder) {
  if (placeholder == "{id}") return "conversation_id";
  if (placeholder == "{seq}") return "seq";
  if (placeholder == "{user_id}") return "user_id";
  if (placeholder == "{media_id}") return "media_id";
  if (placeholder == "{report_id}") return "report_id";
  if (placeholder == "{invite_id}") return "invite_id";
  return {};
}

// Whether `segments` have `pattern`'s shape: as many, and its literals.
bool Fits(const std::vector<std::string>& segments, const std::vector<std::string_view>& pattern) {
  if (pattern.size() != segments.size()) return false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i].front() != '{' && pattern[i] != segments[i]) return false;
  }
  return true;
}

// Binds `pattern`'s placeholders into `params`; a malformed id fails naming its field.
Status Bind(const std::vector<std::string>& segments, const std::vector<std::string_view>& pattern,
            json::object& params) {
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i].front() != '{') continue;
    auto id = ParseId(segments[i]);
    if (pattern[i] == "{handle or user_id}") {
      if (id)
        params["user_id"] = *id;
      else
        params["handle"] = segments[i];
      continue;
    }
    std::string_view field = BoundField(pattern[i]);
    if (!id) return BadRequest("malformed " + std::string(field) + " in the path");
    params[field] = *id;
  }
  return OkStatus();
}

// A malformed id answers 400 in any path that starts like `pattern` up to
// that id, whatever follows and whatever the verb (an id is checked before
// the rest of the path is looked at).
std::optional<Error> MalformedId(const std::vector<std::string>& segments,
                                 const std::vector<std::string_view>& pattern) {
  for (size_t i = 0; i < pattern.size() && i < segments.size(); ++i) {
    if (pattern[i].front() != '{') {
      if (pattern[i] != segments[i]) return std::nullopt;
      continue;
    }
    if (pattern[i] == "{handle or user_id}" || ParseId(segments[i])) continue;
    return BadRequest("malformed " + std::string(BoundField(pattern[i])) + " in the path");
  }
  return std::nullopt;
}

}  // namespace

Result<RouteMatch> MatchRoute(std::string_view verb, std::string_view target, std::string_view body) {
  auto url = boost::urls::parse_origin_form(target);
  if (!url) return BadRequest("malformed request target");
  std::vector<std::string> segments;
  for (auto s : url->segments()) segments.push_back(std::string(s));
  bool api = segments.size() >= 2 && segments[0] == "v1";
  bool admin = segments.size() >= 3 && segments[0] == "admin" && segments[1] == "v1";
  if (!api && !admin) return NotFound("no such endpoint");

  json::object params;
  if (!body.empty()) {
    boost::system::error_code ec;
    json::parse_options opts;
    opts.max_depth = 16;
    json::value v = json::parse(body, ec, {}, opts);
    if (ec || !v.is_object()) return BadRequest("the request body must be one JSON object");
    params = std::move(v.get_object());
  }
  for (auto param : url->params()) {
    // A search is text even when it is all digits ("007" stays "007").
    if (param.has_value)
      params[param.key] = param.key == "query" ? json::value(std::string(param.value)) : QueryValue(param.value);
  }

  std::optional<Error> malformed;
  for (const api::Method& method : api::Methods()) {
    for (const api::HttpRoute& route : method.routes) {
      std::vector<std::string_view> pattern = Split(route.pattern);
      if (!malformed) malformed = MalformedId(segments, pattern);
      if (route.verb != verb || !Fits(segments, pattern)) continue;
      json::object bound = params;                                         // copied only for the route that matches
      if (Status st = Bind(segments, pattern, bound); !st.ok()) continue;  // malformed: answered below
      if (!route.fixed.empty()) {
        json::value fixed = json::parse(route.fixed);
        for (auto& [key, value] : fixed.as_object()) bound[key] = value;
      }
      return RouteMatch{&method, std::move(bound)};
    }
  }
  if (malformed) return std::move(*malformed);
  return NotFound("no such endpoint");
}

}  // namespace natter::gateway
