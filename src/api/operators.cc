#include "api/operators.h"

#include "api/method_table.h"

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <cctype>

namespace natter::api {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

}  // namespace

OperatorRoles::OperatorRoles(const std::vector<std::string>& admins, const std::vector<std::string>& moderators) {
  for (const auto& h : admins) admins_.insert(Lower(h));
  for (const auto& h : moderators) moderators_.insert(Lower(h));
}

ServerRole OperatorRoles::Of(const User& user) const {
  std::string handle = Lower(user.handle);
  ServerRole configured = admins_.contains(handle)       ? ServerRole::kAdmin
                          : moderators_.contains(handle) ? ServerRole::kModerator
                                                         : ServerRole::kNone;
  return std::max(configured, user.server_role);
}

bool OperatorRoles::Named(std::string_view handle) const {
  std::string lower = Lower(handle);
  return admins_.contains(lower) || moderators_.contains(lower);
}

std::string AuditDetail(const boost::json::object& params) {
  constexpr size_t kMaxDetailBytes = 4096;
  boost::json::object kept = params;
  kept.erase("password");
  std::string text = boost::json::serialize(kept);
  if (text.size() > kMaxDetailBytes) {
    return boost::json::serialize(boost::json::object{{"truncated", text.substr(0, kMaxDetailBytes)}});
  }
  return text;
}

UserId AuditTarget(const Method& method, const boost::json::object& params) {
  bool in_path = std::any_of(method.routes.begin(), method.routes.end(),
                             [](const HttpRoute& r) { return r.pattern.find("{user_id}") != std::string_view::npos; });
  const auto* id = params.if_contains("user_id");
  return in_path && id && id->is_int64() ? id->as_int64() : 0;
}

}  // namespace natter::api
