// natter: the command-line client on libnatter. Scriptable commands (people
// read the default output, scripts read --json) and an interactive chat mode
// that works in a plain terminal and under tmux. Each --profile directory
// holds one local store, so two profiles on one machine can chat.
#include <poll.h>
#include <unistd.h>
#include <algorithm>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <iostream>
#include <optional>
#include <string>

#include "natter/client.h"

namespace json = boost::json;
using natter::client::Client;
using natter::client::ClientOptions;
using Clock = std::chrono::steady_clock;

namespace {

struct Session {
  std::unique_ptr<Client> client;
  bool json_output = false;
  int64_t me = 0;
  uint64_t next_extra = 1;
  std::string connection_problem;  // why the last connection attempt failed, with the URL

  // What every event tells the session, whoever waits for it.
  void Note(const json::object& event) {
    if (event.at("@type") == "auth_state" && event.contains("user_id")) me = event.at("user_id").as_int64();
    if (event.at("@type") == "connection_state") {
      auto* reason = event.if_contains("reason");
      connection_problem = reason && reason->is_string() ? std::string(reason->as_string()) : "";
    }
  }

  // Sends a request and waits for its answer; other events go to `on_event`.
  std::optional<json::object> Call(json::object request, double timeout_s,
                                   const std::function<void(const json::object&)>& on_event = {}) {
    uint64_t extra = next_extra++;
    request["@extra"] = extra;
    client->Send(json::serialize(request));
    auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
    while (Clock::now() < deadline) {
      auto e = client->Receive(std::chrono::milliseconds(100));
      if (!e) continue;
      json::object event = json::parse(*e).as_object();
      if (auto* x = event.if_contains("@extra"); x && x->is_uint64() && x->as_uint64() == extra) return event;
      if (auto* x = event.if_contains("@extra"); x && x->is_int64() && x->as_int64() == static_cast<int64_t>(extra))
        return event;
      Note(event);
      if (on_event) on_event(event);
    }
    return std::nullopt;
  }

  // Waits for an event matching `pred`, up to the timeout.
  std::optional<json::object> WaitFor(const std::function<bool(const json::object&)>& pred, double timeout_s) {
    auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
    while (Clock::now() < deadline) {
      auto e = client->Receive(std::chrono::milliseconds(100));
      if (!e) continue;
      json::object event = json::parse(*e).as_object();
      Note(event);
      if (pred(event)) return event;
    }
    return std::nullopt;
  }

  int Print(const std::optional<json::object>& answer, const std::function<void(const json::object&)>& human) {
    if (!answer) {
      std::cerr << "natter: no answer in time\n";
      return 3;
    }
    if (answer->at("@type") == "error") {
      if (json_output)
        std::cout << json::serialize(*answer) << "\n";
      else
        std::cerr << "natter: " << answer->at("code").as_string().c_str() << ": "
                  << answer->at("message").as_string().c_str() << "\n";
      return 1;
    }
    if (json_output)
      std::cout << json::serialize(*answer) << "\n";
    else
      human(*answer);
    return 0;
  }

  bool WaitReady(double timeout_s) {
    return WaitFor([](const json::object& e) { return e.at("@type") == "sync_done"; }, timeout_s).has_value();
  }
};

std::string Line(const json::object& m, int64_t me) {
  std::string kind = m.contains("kind") ? std::string(m.at("kind").as_string()) : "message";
  std::string who = m.at("sender_id").as_int64() == me ? "me" : std::to_string(m.at("sender_id").as_int64());
  std::string text = m.contains("text") ? std::string(m.at("text").as_string()) : "";
  std::string seq = "[" + std::to_string(m.at("seq").as_int64()) + "] ";
  if (kind == "message") return seq + who + ": " + (m.contains("deleted") ? "(deleted)" : text);
  return seq + "* " + who + " " + kind + (text.empty() ? "" : " " + text);
}

int Chat(Session& s, int64_t conversation, double timeout_s) {
  if (!s.WaitReady(timeout_s)) std::cout << "(offline: showing what is stored here; messages will go out later)\n";
  auto history = s.Call({{"@type", "get_history"}, {"conversation_id", conversation}, {"limit", 20}}, timeout_s);
  // Entries are shown once, in seq order: live ones, and those a catch-up
  // brings after a reconnect, newer than anything shown.
  int64_t shown = 0;
  if (history && history->contains("messages")) {
    for (const auto& m : history->at("messages").as_array()) {
      std::cout << Line(m.as_object(), s.me) << "\n";
      shown = std::max(shown, m.as_object().at("seq").as_int64());
    }
  }
  std::cout << "(type a message and Enter to send; Ctrl-D to quit)" << std::endl;
  std::string pending_line;
  for (;;) {
    pollfd p{STDIN_FILENO, POLLIN, 0};
    if (poll(&p, 1, 50) > 0) {
      char buf[4096];
      ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
      if (n <= 0) return 0;
      pending_line.append(buf, static_cast<size_t>(n));
      size_t nl;
      while ((nl = pending_line.find('\n')) != std::string::npos) {
        std::string text = pending_line.substr(0, nl);
        pending_line.erase(0, nl + 1);
        if (text.empty()) continue;
        s.client->Send(json::serialize(
            json::object{{"@type", "send_message"}, {"conversation_id", conversation}, {"text", text}}));
      }
    }
    while (auto e = s.client->Receive(std::chrono::milliseconds(0))) {
      json::object event = json::parse(*e).as_object();
      std::string type(event.at("@type").as_string());
      if (type == "new_entry") {
        const auto& m = event.at("entry").as_object();
        if (m.at("conversation_id").as_int64() == conversation && m.at("seq").as_int64() > shown) {
          shown = m.at("seq").as_int64();
          std::cout << Line(m, s.me) << std::endl;
          if (m.at("sender_id").as_int64() != s.me) {
            s.client->Send(json::serialize(
                json::object{{"@type", "mark_read"}, {"conversation_id", conversation}, {"seq", m.at("seq")}}));
          }
        }
      } else if (type == "message_state" && event.at("conversation_id").as_int64() == conversation) {
        std::string state(event.at("state").as_string());
        std::cout << "  (" << (event.contains("seq") ? "[" + std::to_string(event.at("seq").as_int64()) + "] " : "")
                  << state << ")" << std::endl;
      } else if (type == "typing" && event.at("conversation_id").as_int64() == conversation) {
        std::cout << "  (" << event.at("user_id").as_int64() << " is typing)" << std::endl;
      } else if (type == "connection_state") {
        std::cout << "  (" << event.at("state").as_string().c_str() << ")" << std::endl;
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"natter: a command-line chat client for natterd"};
  app.option_defaults()->always_capture_default();  // --help shows every default
  std::string profile = "./natter-profile", server = "http://127.0.0.1:8080";
  bool json_output = false;
  double timeout_s = 10;
  std::string ca_file;
  std::vector<std::string> pins;
  int64_t keep_messages = ClientOptions{}.keep_messages, keep_days = 0;
  app.add_option("--profile", profile, "Directory of this profile's local store")->envname("NATTER_PROFILE");
  app.add_option("--server", server, "natterd's URL: http://host:port or https://host:port")->envname("NATTER_SERVER");
  app.add_flag("--json", json_output, "Print answers as JSON, one object a line");
  app.add_option("--timeout", timeout_s, "Seconds to wait for the server");
  app.add_option("--ca-file", ca_file, "PEM file of the only CAs to trust for https (default: the system's)")
      ->envname("NATTER_CA_FILE");
  app.add_option("--keep-messages", keep_messages, "Newest entries kept per conversation here (0: all)");
  app.add_option("--keep-days", keep_days, "Entries older than this are dropped here (0: none)");
  app.add_option("--pin", pins, "Require this public key in the server's chain: sha256/<base64> (repeatable)");
  app.set_version_flag("--version", std::string("natter ") + NATTER_VERSION);
  app.require_subcommand(1);

  std::string handle, password, title, text;
  int64_t conversation = 0, seq = 0;
  int limit = 20;
  std::vector<std::string> handles;
  auto* reg = app.add_subcommand("register", "Create an account");
  reg->add_option("handle", handle)->required();
  reg->add_option("password", password)->required();
  auto* login = app.add_subcommand("login", "Log this profile in");
  login->add_option("handle", handle)->required();
  login->add_option("password", password)->required();
  app.add_subcommand("logout", "Log out and forget this profile's data");
  app.add_subcommand("conversations", "List conversations (newest first) with unread counts");
  auto* direct = app.add_subcommand("create-direct", "Start (or find) a direct conversation");
  direct->add_option("handle", handle)->required();
  auto* group = app.add_subcommand("create-group", "Create a group");
  group->add_option("title", title)->required();
  group->add_option("handles", handles);
  auto* add = app.add_subcommand("add-members", "Add members to a group");
  add->add_option("conversation", conversation)->required();
  add->add_option("handles", handles)->required();
  auto* send = app.add_subcommand("send", "Send a message (kept in the outbox until the server has it)");
  send->add_option("conversation", conversation)->required();
  send->add_option("text", text)->required();
  auto* history = app.add_subcommand("history", "Show a conversation's latest messages");
  history->add_option("conversation", conversation)->required();
  history->add_option("--limit", limit);
  auto* read_cmd = app.add_subcommand("read", "Mark a conversation read up to a seq");
  read_cmd->add_option("conversation", conversation)->required();
  read_cmd->add_option("seq", seq)->required();
  auto* chat = app.add_subcommand("chat", "Chat interactively in one conversation");
  chat->add_option("conversation", conversation)->required();
  app.add_subcommand("sync", "Connect, catch up, send what is pending, and exit");
  CLI11_PARSE(app, argc, argv);

  Session s;
  s.json_output = json_output;
  try {
    ClientOptions options;
    options.server = server;
    options.database_directory = profile;
    options.device = "natter-cli";
    options.ca_file = ca_file;
    options.pins = pins;
    options.keep_messages = keep_messages;
    options.keep_days = keep_days;
    options.timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
    s.client = Client::Create(std::move(options));
  } catch (const std::exception& e) {
    std::cerr << "natter: " << e.what() << " (server " << server << ", profile " << profile << ")\n";
    return 2;
  }
  auto state = s.Call({{"@type", "get_state"}}, 5);
  if (state && state->contains("user_id")) s.me = state->at("user_id").as_int64();
  auto sub = app.get_subcommands().front()->get_name();

  auto resolve = [&](const std::string& h) -> std::optional<int64_t> {
    auto u = s.Call({{"@type", "get_user"}, {"handle", h}}, timeout_s);
    if (!u || u->at("@type") != "result") return std::nullopt;
    return u->at("user_id").as_int64();
  };
  auto need_online = [&]() -> bool {
    if (s.WaitReady(timeout_s)) return true;
    if (!s.connection_problem.empty()) {
      std::cerr << "natter: cannot reach the server: " << s.connection_problem << "\n";
    } else if (s.me == 0) {
      std::cerr << "natter: not logged in (profile " << profile << ")\n";
    } else {
      std::cerr << "natter: " << server << " did not answer in time\n";
    }
    return false;
  };

  if (sub == "register") {
    return s.Print(s.Call({{"@type", "register"}, {"handle", handle}, {"password", password}}, timeout_s),
                   [](const json::object& a) {
                     std::cout << "registered " << a.at("handle").as_string().c_str() << " (user "
                               << a.at("user_id").as_int64() << ")\n";
                   });
  }
  if (sub == "login") {
    int rc = s.Print(s.Call({{"@type", "login"}, {"handle", handle}, {"password", password}}, timeout_s),
                     [&](const json::object& a) {
                       std::cout << "logged in as " << handle << " (user " << a.at("user_id").as_int64() << ")\n";
                     });
    if (rc == 0) s.WaitReady(timeout_s);
    return rc;
  }
  if (sub == "logout") {
    return s.Print(s.Call({{"@type", "logout"}}, timeout_s), [](const json::object&) { std::cout << "logged out\n"; });
  }
  if (sub == "sync") {
    if (!need_online()) return 3;
    // Give the outbox a moment to drain.
    auto until = Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
    while (Clock::now() < until) {
      auto st = s.Call({{"@type", "get_state"}}, 2);
      if (st && st->at("pending").as_int64() == 0) break;
    }
    std::cout << (json_output ? "{\"synced\":true}" : "synced") << "\n";
    return 0;
  }
  if (sub == "conversations") {
    s.WaitReady(std::min(timeout_s, 3.0));  // fresh if we can, stored if not
    return s.Print(s.Call({{"@type", "get_conversations"}}, timeout_s), [](const json::object& a) {
      for (const auto& c : a.at("conversations").as_array()) {
        const auto& o = c.as_object();
        std::cout << o.at("id").as_int64() << "  " << o.at("kind").as_string().c_str() << "  "
                  << (o.at("title").as_string().empty() ? "-" : o.at("title").as_string().c_str()) << "  unread "
                  << o.at("unread").as_int64() << "\n";
      }
    });
  }
  if (sub == "create-direct" || sub == "create-group" || sub == "add-members") {
    if (!need_online()) return 3;
    json::array ids;
    std::vector<std::string> wanted = sub == "create-direct" ? std::vector<std::string>{handle} : handles;
    for (const auto& h : wanted) {
      auto id = resolve(h);
      if (!id) {
        std::cerr << "natter: no user " << h << "\n";
        return 1;
      }
      ids.push_back(*id);
    }
    json::object req;
    if (sub == "create-direct") req = {{"@type", "create_direct"}, {"peer_id", ids[0]}};
    if (sub == "create-group") req = {{"@type", "create_group"}, {"title", title}, {"members", ids}};
    if (sub == "add-members") req = {{"@type", "add_members"}, {"conversation_id", conversation}, {"user_ids", ids}};
    return s.Print(s.Call(std::move(req), timeout_s),
                   [](const json::object& a) { std::cout << "conversation " << a.at("id").as_int64() << "\n"; });
  }
  if (sub == "send") {
    bool online = s.WaitReady(std::min(timeout_s, 3.0));
    auto answer = s.Call({{"@type", "send_message"}, {"conversation_id", conversation}, {"text", text}}, timeout_s);
    if (!answer || answer->at("@type") != "result") return s.Print(answer, [](const json::object&) {});
    std::string id(answer->at("client_msg_id").as_string());
    std::optional<json::object> settled;
    if (online) {
      settled = s.WaitFor(
          [&](const json::object& e) {
            return e.at("@type") == "message_state" && e.at("client_msg_id") == json::value(id) &&
                   e.at("state") != "pending";
          },
          timeout_s);
    }
    json::object out{{"client_msg_id", id}, {"state", settled ? settled->at("state") : json::value("pending")}};
    if (settled && settled->contains("seq")) out["seq"] = settled->at("seq");
    if (settled && settled->contains("reason")) out["reason"] = settled->at("reason");
    if (json_output)
      std::cout << json::serialize(out) << "\n";
    else
      std::cout << out.at("state").as_string().c_str()
                << (out.contains("seq") ? " as [" + std::to_string(out.at("seq").as_int64()) + "]" : "")
                << (out.contains("reason") ? std::string(": ") + out.at("reason").as_string().c_str() : "") << "\n";
    return out.at("state") == "failed" ? 1 : 0;
  }
  if (sub == "history") {
    s.WaitReady(std::min(timeout_s, 3.0));
    int64_t me = s.me;
    return s.Print(s.Call({{"@type", "get_history"}, {"conversation_id", conversation}, {"limit", limit}}, timeout_s),
                   [me](const json::object& a) {
                     for (const auto& m : a.at("messages").as_array()) std::cout << Line(m.as_object(), me) << "\n";
                   });
  }
  if (sub == "read") {
    s.WaitReady(std::min(timeout_s, 3.0));
    return s.Print(s.Call({{"@type", "mark_read"}, {"conversation_id", conversation}, {"seq", seq}}, timeout_s),
                   [](const json::object&) { std::cout << "marked read\n"; });
  }
  if (sub == "chat") return Chat(s, conversation, timeout_s);
  return 2;
}
