// natter admin: the operator commands (docs/admin.md), each one call of the
// admin HTTP API made with the profile's session.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "session.h"

namespace natter::cli {

struct AdminArgs {
  std::string handle, query, reason, password, role, actor, target, action, name;
  int64_t conversation = 0, seq = 0;
  int limit = 50;
  bool yes = false;  // erase: the operator confirmed
};

void AddAdminCommands(CLI::App& admin, AdminArgs& a);
// Runs the admin command `command`; the exit status.
int RunAdmin(Session& s, const std::string& command, const AdminArgs& a);

}  // namespace natter::cli
