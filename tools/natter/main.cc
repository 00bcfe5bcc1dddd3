// natter: the command-line client on libnatter. Scriptable commands (people
// read the default output, scripts read --json) and an interactive chat mode
// (chat.cc) that works in a plain terminal and under tmux. Each --profile
// directory holds one local store, so two profiles on one machine can chat.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>

#include "admin.h"
#include "chat.h"
#include "common/json_lookup.h"
#include "device_key.h"
#include "natter/client.h"
#include "session.h"

namespace json = boost::json;
using natter::cli::Session;
using natter::client::Client;
using natter::client::ClientOptions;
using Clock = std::chrono::steady_clock;

namespace {

using natter::json_lookup::Int;
using natter::json_lookup::Str;

// What the command line says, filled in by CLI11.
struct Args {
  std::string profile = "./natter-profile", server = "http://127.0.0.1:8080", ca_file;
  std::vector<std::string> pins;
  bool json_output = false;
  double timeout_s = 10;
  int64_t keep_messages = ClientOptions{}.keep_messages, keep_days = 0;
  int64_t upload_chunk_bytes = ClientOptions{}.upload_chunk_bytes;
  std::string handle, password, title, text, emoji, role, group_adds;
  int64_t conversation = 0, seq = 0;
  int limit = 20;
  std::vector<std::string> handles, files;
  std::string platform, token, topic, payload, previews, thumb;
  bool sandbox = false, encrypted = false;
  int64_t minutes = 0;
  natter::cli::AdminArgs admin;
};

void AddCommands(CLI::App& app, Args& a) {
  auto conv = [&a](CLI::App* c) { c->add_option("conversation", a.conversation, "Conversation id")->required(); };
  auto seq = [&a](CLI::App* c) { c->add_option("seq", a.seq, "The message's seq")->required(); };
  auto* reg = app.add_subcommand("register", "Create an account");
  reg->add_option("handle", a.handle)->required();
  reg->add_option("password", a.password)->required();
  auto* login = app.add_subcommand("login", "Log this profile in");
  login->add_option("handle", a.handle)->required();
  login->add_option("password", a.password)->required();
  app.add_subcommand("logout", "Log out and forget this profile's data");
  app.add_subcommand("sync", "Connect, catch up, send what is pending, and exit");
  app.add_subcommand("conversations", "List conversations (newest first) with unread counts");
  auto* block =
      app.add_subcommand("block", "Block a user: no direct messages, additions, typing or presence from them");
  block->add_option("handle", a.handle)->required();
  auto* unblock = app.add_subcommand("unblock", "Unblock a user");
  unblock->add_option("handle", a.handle)->required();
  app.add_subcommand("blocked", "List the users you blocked");
  app.add_subcommand("invitations", "List the groups and channels you were invited to");
  auto* accept = app.add_subcommand("accept", "Accept an invitation: join the conversation");
  conv(accept);
  auto* decline = app.add_subcommand("decline", "Decline an invitation");
  conv(decline);
  auto* adds = app.add_subcommand("group-adds", "Who may add you to groups without an invitation (no value: show)");
  adds->add_option("who", a.group_adds, "everyone, contacts or nobody")
      ->check(CLI::IsMember({"everyone", "contacts", "nobody"}));
  auto* direct = app.add_subcommand("create-direct", "Start (or find) a direct conversation");
  direct->add_option("handle", a.handle)->required();
  direct->add_flag("--encrypted", a.encrypted, "End-to-end encrypted: the server carries only ciphertexts (for good)");
  auto* group = app.add_subcommand("create-group", "Create a group");
  group->add_option("title", a.title)->required();
  group->add_option("handles", a.handles);
  group->add_flag("--encrypted", a.encrypted, "End-to-end encrypted: the server carries only ciphertexts (for good)");
  auto* safety = app.add_subcommand("safety", "Show the safety number of your encrypted chats with a user");
  safety->add_option("handle", a.handle)->required();
  auto* channel = app.add_subcommand("create-channel", "Create a broadcast channel");
  channel->add_option("title", a.title)->required();
  auto* rename = app.add_subcommand("rename", "Rename a group or channel");
  conv(rename);
  rename->add_option("title", a.title)->required();
  auto* members = app.add_subcommand("members", "List a conversation's members and roles");
  conv(members);
  auto* add = app.add_subcommand("add-members", "Add members to a group or channel");
  conv(add);
  add->add_option("handles", a.handles)->required();
  auto* remove = app.add_subcommand("remove", "Remove a member");
  conv(remove);
  remove->add_option("handle", a.handle)->required();
  auto* role = app.add_subcommand("role", "Give a member a role: owner, admin, member or readonly");
  conv(role);
  role->add_option("handle", a.handle)->required();
  role->add_option("role", a.role)->required();
  auto* leave = app.add_subcommand("leave", "Leave a conversation");
  conv(leave);
  auto* send = app.add_subcommand("send", "Send a message (kept in the outbox until the server has it)");
  conv(send);
  send->add_option("text", a.text, "The text (may be left out when files are attached)");
  send->add_option("--file", a.files, "Attach a file: uploaded first, resumed after a cut or a restart (repeatable)")
      ->check(CLI::ExistingFile);
  send->add_option("--thumb", a.thumb, "A poster frame (an image) for the first --file, a video")
      ->check(CLI::ExistingFile);
  auto* reply = app.add_subcommand("reply", "Answer a message");
  conv(reply);
  seq(reply);
  reply->add_option("text", a.text)->required();
  auto* edit = app.add_subcommand("edit", "Change the text of one of your messages");
  conv(edit);
  seq(edit);
  edit->add_option("text", a.text)->required();
  auto* del = app.add_subcommand("delete", "Delete a message for everyone");
  conv(del);
  seq(del);
  auto* react = app.add_subcommand("react", "React to a message (no emoji: take yours back)");
  conv(react);
  seq(react);
  react->add_option("emoji", a.emoji);
  auto* history = app.add_subcommand("history", "Show a conversation's latest messages");
  conv(history);
  history->add_option("--limit", a.limit, "How many");
  auto* read = app.add_subcommand("read", "Mark a conversation read up to a seq");
  conv(read);
  seq(read);
  auto* presence = app.add_subcommand("presence", "Who is online, and when the others were last seen");
  presence->add_option("handles", a.handles)->required();
  auto* chat = app.add_subcommand("chat", "Chat interactively in one conversation");
  conv(chat);
  auto* mute = app.add_subcommand("mute", "No push alerts from a conversation (for some minutes, or until unmuted)");
  conv(mute);
  mute->add_option("minutes", a.minutes, "For this long; without it, until unmuted")->check(CLI::PositiveNumber);
  auto* unmute = app.add_subcommand("unmute", "Push alerts from a conversation again");
  conv(unmute);
  auto* push = app.add_subcommand("push-token", "Register this profile's push token (apns or fcm), as an app would");
  push->add_option("platform", a.platform)->required()->check(CLI::IsMember({"apns", "fcm"}));
  push->add_option("token", a.token)->required();
  push->add_option("--topic", a.topic, "APNs: the app's bundle id, when not the server's default");
  push->add_flag("--sandbox", a.sandbox, "APNs: a development build (the sandbox environment)");
  auto* previews = app.add_subcommand("push-previews", "Whether pushes show who wrote and what: on or off");
  previews->add_option("setting", a.previews)->required()->check(CLI::IsMember({"on", "off"}));
  auto* read_push = app.add_subcommand("read-push", "Which conversation and seq a push payload (JSON) names");
  read_push->add_option("payload", a.payload)->required();
  auto* admin = app.add_subcommand("admin", "Operator commands: need the server role moderator or admin");
  admin->require_subcommand(1);
  natter::cli::AddAdminCommands(*admin, a.admin);
}

// The command, with its client made; the exit status.
int Run(Session& s, const std::string& command, const Args& a) {
  auto need_online = [&]() -> bool {
    if (s.WaitReady(a.timeout_s)) return true;
    if (!s.connection_problem().empty()) {
      std::cerr << "natter: cannot reach the server: " << s.connection_problem() << "\n";
    } else if (s.me() == 0) {
      std::cerr << "natter: not logged in (profile " << a.profile << ")\n";
    } else {
      std::cerr << "natter: " << a.server << " did not answer in time\n";
    }
    return false;
  };
  auto ids_of = [&](const std::vector<std::string>& handles) -> std::optional<json::array> {
    json::array ids;
    for (const auto& h : handles) {
      auto id = s.UserId(h);
      if (!id) {
        std::cerr << "natter: no user " << h << "\n";
        return std::nullopt;
      }
      ids.push_back(*id);
    }
    return ids;
  };
  // Online calls answered by a conversation.
  auto conversation_call = [&](json::object req, const std::string& done) {
    return s.Print(s.Call(std::move(req)), [&](const json::object& c) {
      std::string title = natter::cli::Printable(Str(c, "title"));
      std::cout << done << " " << Int(c, "id") << (title.empty() ? "" : " (" + title + ")") << "\n";
      // Who has not consented to be added was asked instead.
      if (const auto* invited = c.if_contains("invited"); invited && invited->is_array()) {
        for (const auto& u : invited->as_array()) {
          if (u.is_int64()) std::cout << "invited " << s.Name(u.as_int64()) << " (not a member until they accept)\n";
        }
      }
    });
  };
  auto entry_call = [&](json::object req, const std::string& done) {
    return s.Print(s.Call(std::move(req)),
                   [&](const json::object& e) { std::cout << done << " as [" << Int(e, "seq") << "]\n"; });
  };

  if (command == "register") {
    return s.Print(s.Call({{"@type", "register"}, {"handle", a.handle}, {"password", a.password}}),
                   [](const json::object& r) {
                     std::cout << "registered " << Str(r, "handle") << " (user " << Int(r, "user_id") << ")\n";
                   });
  }
  if (command == "login") {
    int rc = s.Print(s.Call({{"@type", "login"}, {"handle", a.handle}, {"password", a.password}}),
                     [&](const json::object& r) {
                       std::cout << "logged in as " << a.handle << " (user " << Int(r, "user_id") << ")\n";
                     });
    if (rc == 0 && s.WaitReady(a.timeout_s)) {
      // A profile is an end-to-end encryption device once its keys are
      // published (just after the first sync): messages sent to it before
      // that are not for it.
      auto st = s.Call({{"@type", "get_state"}}, 2.0);
      if (st && natter::json_lookup::Bool(*st, "end_to_end") && Int(*st, "device_id") == 0) {
        s.WaitFor([](const json::object& e) { return Str(e, "@type") == "keys_published"; }, a.timeout_s);
      }
    }
    return rc;
  }
  if (command == "logout") {
    return s.Print(s.Call({{"@type", "logout"}}), [](const json::object&) { std::cout << "logged out\n"; });
  }
  if (command == "sync") {
    if (!need_online()) return 3;
    // Give the outbox a moment to drain.
    auto until = Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(a.timeout_s * 1000));
    int64_t pending = 0;
    for (;;) {
      auto st = s.Call({{"@type", "get_state"}}, 2.0);
      pending = st ? Int(*st, "pending") : pending;
      if ((st && pending == 0) || Clock::now() >= until) break;
      s.WaitFor([](const json::object& e) { return Str(e, "@type") == "message_state"; }, 0.2);
    }
    if (pending > 0) {
      std::cerr << "natter: " << pending << " message(s) still pending (" << a.server << ")\n";
      return 3;
    }
    std::cout << (a.json_output ? "{\"synced\":true}" : "synced") << "\n";
    return 0;
  }
  if (command == "conversations") {
    s.WaitReady(std::min(a.timeout_s, 3.0));  // fresh if we can, stored if not
    return s.Print(s.Call({{"@type", "get_conversations"}}), [&](const json::object& r) {
      for (const auto* c : natter::json_lookup::Objects(r, "conversations")) {
        const auto& o = *c;
        std::string name = natter::cli::Printable(Str(o, "title"));
        if (Str(o, "kind") == "direct") {
          name = o.contains("peer_handle") ? Str(o, "peer_handle")
                 : o.contains("peer_id")   ? s.Name(Int(o, "peer_id"))
                                           : "-";
        }
        std::cout << Int(o, "id") << "  " << Str(o, "kind") << "  " << (name.empty() ? "-" : name) << "  unread "
                  << Int(o, "unread") << "\n";
      }
    });
  }
  if (command == "members") {
    s.WaitReady(std::min(a.timeout_s, 3.0));
    return s.Print(s.Call({{"@type", "get_members"}, {"conversation_id", a.conversation}}), [&](const json::object& r) {
      for (const auto* m : natter::json_lookup::Objects(r, "members")) {
        const auto& o = *m;
        std::cout << s.Name(Int(o, "user_id")) << "  " << Str(o, "role") << "  read " << Int(o, "read_seq") << "\n";
      }
    });
  }
  if (command == "presence") {
    if (!need_online()) return 3;
    auto ids = ids_of(a.handles);
    if (!ids) return 1;
    return s.Print(s.Call({{"@type", "get_presence"}, {"user_ids", *ids}}), [&](const json::object& r) {
      for (const auto* p : natter::json_lookup::Objects(r, "presence")) {
        const auto& o = *p;
        std::cout << s.Name(Int(o, "user_id")) << "  " << natter::cli::Printable(Str(o, "status"));
        if (Int(o, "last_seen") > 0) std::cout << "  last seen " << Int(o, "last_seen");
        std::cout << "\n";
      }
    });
  }
  if (command == "block" || command == "unblock") {
    if (!need_online()) return 3;
    auto ids = ids_of({a.handle});
    if (!ids) return 1;
    return s.Print(s.Call({{"@type", command == "block" ? "block_user" : "unblock_user"}, {"user_id", (*ids)[0]}}),
                   [&](const json::object&) { std::cout << command << "ed " << a.handle << "\n"; });
  }
  if (command == "blocked") {
    s.WaitReady(std::min(a.timeout_s, 3.0));
    return s.Print(s.Call({{"@type", "get_blocked"}}), [&](const json::object& r) {
      for (const auto* b : natter::json_lookup::Objects(r, "blocked")) {
        std::string handle = Str(*b, "handle");
        std::cout << (handle.empty() ? s.Name(Int(*b, "user_id")) : natter::cli::Printable(handle)) << "\n";
      }
    });
  }
  if (command == "invitations") {
    if (!need_online()) return 3;
    return s.Print(s.Call({{"@type", "get_invitations"}}), [&](const json::object& r) {
      for (const auto* i : natter::json_lookup::Objects(r, "invitations")) {
        const json::value* c = i->if_contains("conversation");
        if (!c || !c->is_object()) continue;
        std::string title = natter::cli::Printable(Str(c->as_object(), "title"));
        std::cout << Int(c->as_object(), "id") << "  " << Str(c->as_object(), "kind") << "  "
                  << (title.empty() ? "-" : title) << "  from " << s.Name(Int(*i, "invited_by")) << "  members "
                  << Int(*i, "members") << "\n";
      }
    });
  }
  if (command == "accept") {
    if (!need_online()) return 3;
    return conversation_call({{"@type", "accept_invitation"}, {"conversation_id", a.conversation}}, "joined");
  }
  if (command == "decline") {
    if (!need_online()) return 3;
    return s.Print(s.Call({{"@type", "decline_invitation"}, {"conversation_id", a.conversation}}),
                   [&](const json::object&) { std::cout << "declined " << a.conversation << "\n"; });
  }
  if (command == "group-adds") {
    if (!need_online()) return 3;
    json::object req{{"@type", a.group_adds.empty() ? "get_privacy" : "set_group_adds"}};
    if (!a.group_adds.empty()) req["group_adds"] = a.group_adds;
    return s.Print(s.Call(std::move(req)), [&](const json::object& r) {
      std::cout << "group adds: " << natter::cli::Printable(Str(r, "group_adds")) << "\n";
    });
  }
  if (command == "create-direct" || command == "create-group" || command == "create-channel" ||
      command == "add-members" || command == "remove" || command == "role") {
    if (!need_online()) return 3;
    auto ids = ids_of(command == "create-group" || command == "add-members" ? a.handles
                      : command == "create-channel"                         ? std::vector<std::string>{}
                                                                            : std::vector<std::string>{a.handle});
    if (!ids) return 1;
    if (command == "create-direct") {
      json::object req{{"@type", "create_direct"}, {"peer_id", (*ids)[0]}};
      if (a.encrypted) req["encrypted"] = true;
      return conversation_call(std::move(req), "conversation");
    }
    if (command == "create-group" || command == "create-channel") {
      json::object req{{"@type", "create_group"},
                       {"kind", command == "create-group" ? "group" : "channel"},
                       {"title", a.title},
                       {"members", *ids}};
      if (a.encrypted) req["encrypted"] = true;
      return conversation_call(std::move(req), "conversation");
    }
    if (command == "add-members") {
      return conversation_call({{"@type", "add_members"}, {"conversation_id", a.conversation}, {"user_ids", *ids}},
                               "conversation");
    }
    if (command == "remove") {
      return conversation_call(
          {{"@type", "remove_member"}, {"conversation_id", a.conversation}, {"user_id", (*ids)[0]}},
          "removed " + a.handle + " from");
    }
    return conversation_call(
        {{"@type", "set_role"}, {"conversation_id", a.conversation}, {"user_id", (*ids)[0]}, {"role", a.role}},
        a.handle + " is " + a.role + " in");
  }
  if (command == "rename" || command == "leave") {
    if (!need_online()) return 3;
    if (command == "leave") {
      return conversation_call({{"@type", "leave"}, {"conversation_id", a.conversation}}, "left");
    }
    return conversation_call({{"@type", "rename"}, {"conversation_id", a.conversation}, {"title", a.title}}, "renamed");
  }
  if (command == "edit" || command == "delete" || command == "react") {
    if (!need_online()) return 3;
    json::object req{{"conversation_id", a.conversation}, {"seq", a.seq}};
    if (command == "edit") {
      req["@type"] = "edit_message";
      req["text"] = a.text;
      return entry_call(std::move(req), "edited");
    }
    if (command == "delete") {
      req["@type"] = "delete_message";
      return entry_call(std::move(req), "deleted");
    }
    req["@type"] = "react";
    req["emoji"] = a.emoji;
    return entry_call(std::move(req), a.emoji.empty() ? "reaction taken back" : "reacted");
  }
  if (command == "send" || command == "reply") {
    bool online = s.WaitReady(std::min(a.timeout_s, 3.0));
    json::object req{{"@type", "send_message"}, {"conversation_id", a.conversation}, {"text", a.text}};
    if (command == "reply") req["reply_to"] = a.seq;
    if (a.text.empty() && a.files.empty()) {
      std::cerr << "natter: send needs a text or a --file\n";
      return 2;
    }
    if (!a.thumb.empty() && a.files.empty()) {
      std::cerr << "natter: --thumb is the poster frame of a --file\n";
      return 2;
    }
    if (!a.files.empty()) {
      json::array files;
      for (const auto& path : a.files)
        files.push_back(json::object{{"path", std::filesystem::absolute(path).string()}});
      if (!a.thumb.empty()) files[0].as_object()["thumb"] = std::filesystem::absolute(a.thumb).string();
      req["files"] = std::move(files);
    }
    auto answer = s.Call(std::move(req));
    if (!answer || Str(*answer, "@type") != "result") return s.Print(answer, [](const json::object&) {});
    std::string id = Str(*answer, "client_msg_id");
    std::optional<json::object> settled;
    // Settled, or the timeout passes without news: a file still going up
    // (progress keeps coming) is waited for.
    while (online && !settled) {
      auto news = s.WaitFor(
          [&](const json::object& e) {
            bool mine = Str(e, "client_msg_id") == id;
            return mine && (Str(e, "@type") == "upload_progress" ||
                            (Str(e, "@type") == "message_state" && Str(e, "state") != "pending" &&
                             Str(e, "state") != "uploading"));
          },
          a.timeout_s);
      if (!news) break;
      if (Str(*news, "@type") == "message_state") settled = news;
    }
    json::object out{{"client_msg_id", id}, {"state", settled ? settled->at("state") : json::value("pending")}};
    if (settled && settled->contains("seq")) out["seq"] = settled->at("seq");
    if (settled && settled->contains("reason")) out["reason"] = settled->at("reason");
    if (a.json_output) {
      std::cout << json::serialize(out) << "\n";
    } else {
      std::cout << Str(out, "state") << (out.contains("seq") ? " as [" + std::to_string(Int(out, "seq")) + "]" : "")
                << (out.contains("reason") ? ": " + Str(out, "reason") : "") << "\n";
    }
    return Str(out, "state") == "failed" ? 1 : 0;
  }
  if (command == "safety") {
    if (!need_online()) return 3;
    auto ids = ids_of({a.handle});
    if (!ids) return 1;
    return s.Print(s.Call({{"@type", "get_safety_number"}, {"user_id", (*ids)[0]}}), [&](const json::object& r) {
      // Twelve groups of five, as both sides read them out to each other.
      std::string digits = natter::json_lookup::Str(r, "safety_number"), grouped;
      for (size_t i = 0; i < digits.size(); i += 5) grouped += (i ? " " : "") + digits.substr(i, 5);
      std::cout << "safety number with " << natter::cli::Printable(a.handle) << ": " << grouped << "\n";
    });
  }
  if (command == "history") {
    s.WaitReady(std::min(a.timeout_s, 3.0));
    return s.Print(s.Call({{"@type", "get_history"}, {"conversation_id", a.conversation}, {"limit", a.limit}}),
                   [&](const json::object& r) {
                     for (const auto* m : natter::json_lookup::Objects(r, "messages")) std::cout << s.Line(*m) << "\n";
                   });
  }
  if (command == "read") {
    s.WaitReady(std::min(a.timeout_s, 3.0));
    return s.Print(s.Call({{"@type", "mark_read"}, {"conversation_id", a.conversation}, {"seq", a.seq}}),
                   [](const json::object&) { std::cout << "marked read\n"; });
  }
  if (command == "mute" || command == "unmute") {
    if (!need_online()) return 3;
    json::object req{{"@type", command}, {"conversation_id", a.conversation}};
    if (command == "mute" && a.minutes > 0) {
      auto now =
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
      req["until"] = now.count() + a.minutes * 60'000;
    }
    return s.Print(s.Call(std::move(req)), [&](const json::object& r) {
      int64_t until = Int(r, "muted_until");
      std::cout << (until == 0 ? "unmuted " : "muted ") << a.conversation
                << (until > 0   ? " until " + std::to_string(until)
                    : until < 0 ? " until unmuted"
                                : "")
                << "\n";
    });
  }
  if (command == "push-token") {
    s.WaitReady(std::min(a.timeout_s, 3.0));  // offline, it is registered on the next connection
    json::object req{{"@type", "register_push_token"}, {"platform", a.platform}, {"token", a.token}};
    if (!a.topic.empty()) req["topic"] = a.topic;
    if (a.sandbox) req["environment"] = "sandbox";
    return s.Print(s.Call(std::move(req)),
                   [](const json::object& r) { std::cout << "push token " << Str(r, "state") << "\n"; });
  }
  if (command == "push-previews") {
    if (!need_online()) return 3;
    return s.Print(s.Call({{"@type", "set_push_preview"}, {"show_preview", a.previews == "on"}}),
                   [&](const json::object&) { std::cout << "push previews " << a.previews << "\n"; });
  }
  if (command == "read-push") {
    return s.Print(s.Call({{"@type", "read_push"}, {"payload", a.payload}}), [](const json::object& r) {
      std::cout << Str(r, "kind") << " in " << Int(r, "conversation_id") << " at [" << Int(r, "seq") << "]\n";
    });
  }
  if (command == "chat") return natter::cli::Chat(s, a.conversation);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"natter: a command-line chat client for natterd"};
  app.option_defaults()->always_capture_default();  // --help shows every default
  Args a;
  app.add_option("--profile", a.profile, "Directory of this profile's local store")->envname("NATTER_PROFILE");
  app.add_option("--server", a.server, "natterd's URL: http://host:port or https://host:port")
      ->envname("NATTER_SERVER");
  app.add_flag("--json", a.json_output, "Print answers as JSON, one object a line");
  app.add_option("--timeout", a.timeout_s, "Seconds to wait for the server")->check(CLI::Range(0.01, 3600.0));
  app.add_option("--ca-file", a.ca_file, "PEM file of the only CAs to trust for https (default: the system's)")
      ->envname("NATTER_CA_FILE");
  app.add_option("--pin", a.pins, "Require this public key in the server's chain: sha256/<base64> (repeatable)");
  app.add_option("--keep-messages", a.keep_messages, "Newest entries kept per conversation here (0: all)");
  app.add_option("--keep-days", a.keep_days, "Entries older than this are dropped here (0: none)");
  app.add_option("--upload-chunk-bytes", a.upload_chunk_bytes, "Bytes of a file sent in one upload request")
      ->check(CLI::Range(int64_t{1024}, int64_t{64} << 20));
  app.set_version_flag("--version", std::string("natter ") + NATTER_VERSION);
  app.require_subcommand(1);
  AddCommands(app, a);
  CLI11_PARSE(app, argc, argv);

  std::unique_ptr<Client> client;
  try {
    ClientOptions options;
    options.server = a.server;
    options.database_directory = a.profile;
    options.device = "natter-cli";
    options.device_key = natter::cli::ProfileDeviceKey(a.profile);
    options.ca_file = a.ca_file;
    options.pins = a.pins;
    options.keep_messages = a.keep_messages;
    options.keep_days = a.keep_days;
    options.upload_chunk_bytes = a.upload_chunk_bytes;
    options.timeout = std::chrono::milliseconds(static_cast<int64_t>(a.timeout_s * 1000));
    client = Client::Create(std::move(options));
  } catch (const std::exception& e) {
    std::cerr << "natter: " << e.what() << " (server " << a.server << ", profile " << a.profile << ")\n";
    return 2;
  }
  try {
    Session session(std::move(client), a.json_output, a.timeout_s);
    const CLI::App* command = app.get_subcommands().front();
    if (command->get_name() == "admin") {
      return natter::cli::RunAdmin(session, command->get_subcommands().front()->get_name(), a.admin);
    }
    return Run(session, command->get_name(), a);
  } catch (const std::exception& e) {  // an answer of a shape this CLI did not expect
    std::cerr << "natter: " << e.what() << "\n";
    return 1;
  }
}
