#include "admin.h"

#include <boost/json.hpp>
#include <cctype>
#include <iostream>

#include "common/json_lookup.h"

namespace natter::cli {

namespace json = boost::json;
using json_lookup::Int;
using json_lookup::Str;

namespace {

// `text` as one query value: what is not unreserved (RFC 3986) is %-encoded.
std::string QueryValue(std::string_view text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace

void AddAdminCommands(CLI::App& admin, AdminArgs& a) {
  auto user = [&a](CLI::App* c) { c->add_option("handle", a.handle, "The user's handle")->required(); };
  auto* users = admin.add_subcommand("users", "Find users by any part of their handle or display name");
  users->add_option("query", a.query, "What to look for (none: everyone)");
  users->add_option("--limit", a.limit, "How many")->check(CLI::Range(1, 500));
  user(admin.add_subcommand("user", "Show a user, their role, suspension and sessions"));
  auto* suspend = admin.add_subcommand("suspend", "Suspend an account: every session ends, logins are refused");
  user(suspend);
  suspend->add_option("--reason", a.reason, "Why (kept in the audit log)");
  user(admin.add_subcommand("unsuspend", "Lift a suspension"));
  user(admin.add_subcommand("revoke-sessions", "End every session of a user (they may log in again)"));
  auto* password = admin.add_subcommand("reset-password", "Set a user's password; every session ends");
  user(password);
  password->add_option("password", a.password)->required();
  auto* role = admin.add_subcommand("role", "Give a server role: admin, moderator or none");
  user(role);
  role->add_option("role", a.role)->required()->check(CLI::IsMember({"admin", "moderator", "none"}));
  user(admin.add_subcommand("export", "Print everything held of a user that is theirs, as one JSON document"));
  auto* erase = admin.add_subcommand("erase", "Erase a user: account, messages, memberships and uploads, for good");
  user(erase);
  erase->add_flag("--yes", a.yes, "Yes, erase them (it cannot be undone)");
  auto* bot = admin.add_subcommand("bot", "Make a bot account and print its token (shown this once)");
  bot->add_option("handle", a.handle, "The bot's handle")->required();
  bot->add_option("--name", a.name, "Its display name");
  user(admin.add_subcommand("bot-token", "Give a bot a new token; the old one stops working at once"));
  auto* del = admin.add_subcommand("delete", "Delete any message for everyone");
  del->add_option("conversation", a.conversation)->required();
  del->add_option("seq", a.seq)->required();
  auto* audit = admin.add_subcommand("audit", "Read the audit log, newest first");
  audit->add_option("--actor", a.actor, "Only what this handle did");
  audit->add_option("--target", a.target, "Only what was about this handle");
  audit->add_option("--action", a.action, "Only this action (a method name, auth.login, auth.register)");
  audit->add_option("--limit", a.limit, "How many")->check(CLI::Range(1, 1000));
}

int RunAdmin(Session& s, const std::string& command, const AdminArgs& a) {
  auto call = [&](std::string method, std::string path, json::object body = {}) {
    json::object req{{"@type", "admin_request"}, {"method", std::move(method)}, {"path", std::move(path)}};
    if (!body.empty()) req["body"] = std::move(body);
    return s.Call(std::move(req));
  };
  // Handles become ids through users.get, which needs the chat connection.
  auto id_of = [&](const std::string& handle) -> std::optional<int64_t> {
    if (handle.empty()) return 0;
    s.WaitReady(s.timeout());
    auto id = s.UserId(handle);
    if (!id) std::cerr << "natter: no user " << handle << "\n";
    return id;
  };
  auto user_line = [](const json::object& u) {
    std::string line = std::to_string(Int(u, "user_id")) + "  " + Printable(Str(u, "handle"));
    if (!Str(u, "display_name").empty()) line += " (" + Printable(Str(u, "display_name")) + ")";
    if (Str(u, "server_role") != "none") line += "  " + Str(u, "server_role");
    const auto* suspended = u.if_contains("suspended");
    if (suspended && suspended->is_bool() && suspended->as_bool()) line += "  suspended";
    return line;
  };
  if (command == "users") {
    std::string path = "/admin/v1/users?limit=" + std::to_string(a.limit);
    if (!a.query.empty()) path += "&query=" + QueryValue(a.query);
    return s.Print(call("GET", path), [&](const json::object& r) {
      for (const auto* u : json_lookup::Objects(r, "users")) std::cout << user_line(*u) << "\n";
    });
  }
  if (command == "bot") {
    json::object body{{"handle", a.handle}};
    if (!a.name.empty()) body["display_name"] = a.name;
    return s.Print(call("POST", "/admin/v1/bots", std::move(body)), [&](const json::object& r) {
      std::cout << "bot " << Printable(Str(r, "handle")) << " (" << Int(r, "user_id") << ")\ntoken "
                << Printable(Str(r, "token")) << "\n";
    });
  }
  if (command == "delete") {
    return s.Print(call("DELETE", "/admin/v1/conversations/" + std::to_string(a.conversation) + "/messages/" +
                                      std::to_string(a.seq)),
                   [&](const json::object&) { std::cout << "deleted [" << a.seq << "]\n"; });
  }
  if (command == "audit") {
    auto actor = id_of(a.actor), target = id_of(a.target);
    if (!actor || !target) return 1;
    std::string path = "/admin/v1/audit?limit=" + std::to_string(a.limit);
    if (*actor) path += "&actor=" + std::to_string(*actor);
    if (*target) path += "&target=" + std::to_string(*target);
    if (!a.action.empty()) path += "&action=" + QueryValue(a.action);
    return s.Print(call("GET", path), [&](const json::object& r) {
      for (const auto* e : json_lookup::Objects(r, "entries")) {
        std::cout << Int(*e, "at") << "  " << (Int(*e, "actor") ? s.Name(Int(*e, "actor")) : "-") << "  "
                  << Printable(Str(*e, "action"));
        if (Int(*e, "user_id")) std::cout << "  " << s.Name(Int(*e, "user_id"));
        std::cout << "  " << Printable(Str(*e, "outcome")) << "  " << Printable(Str(*e, "address")) << "\n";
      }
    });
  }
  auto id = id_of(a.handle);
  if (!id) return 1;
  std::string path = "/admin/v1/users/" + std::to_string(*id);
  if (command == "user") {
    return s.Print(call("GET", path), [&](const json::object& u) {
      std::cout << user_line(u) << "\n";
      for (const auto* session : json_lookup::Objects(u, "sessions")) {
        const auto* revoked = session->if_contains("revoked");
        std::cout << "  session " << Int(*session, "session_id") << "  " << Printable(Str(*session, "device"))
                  << ((revoked && revoked->is_bool() && revoked->as_bool()) ? "  ended" : "  open") << "\n";
      }
    });
  }
  auto done = [&](std::string what) {
    return [what = std::move(what)](const json::object& r) {
      std::cout << what;
      if (r.contains("sessions_ended")) std::cout << " (" << Int(r, "sessions_ended") << " session(s) ended)";
      std::cout << "\n";
    };
  };
  if (command == "bot-token") {
    return s.Print(call("POST", "/admin/v1/bots/" + std::to_string(*id) + "/token"),
                   [](const json::object& r) { std::cout << "token " << Printable(Str(r, "token")) << "\n"; });
  }
  if (command == "suspend") {
    json::object body;
    if (!a.reason.empty()) body["reason"] = a.reason;
    return s.Print(call("POST", path + "/suspend", std::move(body)), done("suspended " + a.handle));
  }
  if (command == "unsuspend") return s.Print(call("DELETE", path + "/suspend"), done("unsuspended " + a.handle));
  if (command == "revoke-sessions") {
    return s.Print(call("POST", path + "/revoke-sessions"), done("signed out " + a.handle));
  }
  if (command == "reset-password") {
    return s.Print(call("PUT", path + "/password", {{"password", a.password}}), done("new password for " + a.handle));
  }
  if (command == "role") {
    return s.Print(call("PUT", path + "/role", {{"role", a.role}}), done(a.handle + " is " + a.role));
  }
  if (command == "export") {
    // The document, then each conversation's messages a page at a time, put
    // in their places: one JSON document, as the server would have sent it
    // were it small.
    auto archive = call("GET", path + "/export");
    if (!archive || Str(*archive, "@type") == "error") return s.Print(archive, [](const json::object&) {});
    for (const char* key : {"@type", "@extra", "request"}) archive->erase(key);
    auto* listed = archive->if_contains("conversations");
    json::array none;
    for (auto& c : listed && listed->is_array() ? listed->as_array() : none) {
      if (!c.is_object()) continue;
      json::array messages;
      for (int64_t after = 0;;) {
        auto page = call(
            "GET", path + "/export/messages?conversation_id=" + std::to_string(Int(c.as_object(), "conversation_id")) +
                       "&after=" + std::to_string(after) + "&limit=500");
        if (!page || Str(*page, "@type") == "error") return s.Print(page, [](const json::object&) {});
        for (const auto* m : json_lookup::Objects(*page, "messages")) messages.push_back(*m);
        if (!page->contains("next")) break;
        after = Int(*page, "next");
      }
      c.as_object()["messages"] = std::move(messages);
    }
    std::cout << json::serialize(*archive) << "\n";
    return 0;
  }
  if (command == "erase") {
    if (!a.yes) {
      std::cerr << "natter: erasing " << a.handle << " cannot be undone; add --yes to do it\n";
      return 2;
    }
    return s.Print(call("DELETE", path), [&](const json::object& r) {
      std::cout << "erased " << a.handle << " (" << Int(r, "messages_erased") << " message(s), left "
                << Int(r, "conversations_left") << " conversation(s))\n";
    });
  }
  std::cerr << "natter: unknown admin command " << command << "\n";
  return 2;
}

}  // namespace natter::cli
