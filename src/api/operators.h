// Who is an operator, and what the audit log keeps of an operator's call
// (docs/admin.md). Roles come from the store (given through the admin API)
// and from the configuration (--admins, --moderators: handles), so the first
// admin needs no database edit; the higher of the two counts.
//
// Thread-safety: immutable after construction; pure functions.
#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <unordered_set>
#include <vector>

#include "natter/model.h"

namespace natter::api {

class OperatorRoles {
 public:
  OperatorRoles() = default;
  OperatorRoles(const std::vector<std::string>& admins, const std::vector<std::string>& moderators);
  // The role `user` holds: stored or configured, whichever is higher.
  ServerRole Of(const User& user) const;
  // Whether --admins or --moderators names `handle` (any case).
  bool Named(std::string_view handle) const;

 private:
  std::unordered_set<std::string> admins_, moderators_;  // lower-case handles
};

struct Method;

// The params as the audit log keeps them: secrets (a password) left out, at
// most a few kilobytes.
std::string AuditDetail(const boost::json::object& params);
// Whom the call was about: the user its path names, if it names one.
UserId AuditTarget(const Method& method, const boost::json::object& params);

}  // namespace natter::api
