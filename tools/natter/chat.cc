#include "chat.h"

#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <csignal>
#include <iostream>
#include <sstream>
#include <utility>
#include <vector>

#include "common/json_lookup.h"

namespace natter::cli {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

using json_lookup::Int;
using json_lookup::Str;

constexpr const char* kHelp =
    "  /reply <seq> <text>   /edit <seq> <text>   /delete <seq>   /react <seq> <emoji>\n"
    "  /unreact <seq>   /members   /leave   /quit (or Ctrl-D)";

// The terminal in key-at-a-time mode while the chat runs; put back on every
// way out (Ctrl-C included).
termios saved_terminal;
volatile sig_atomic_t terminal_changed = 0;

void RestoreTerminal() {
  if (terminal_changed) tcsetattr(STDIN_FILENO, TCSANOW, &saved_terminal);
  terminal_changed = 0;
}

void OnSignal(int signal) {
  if (terminal_changed) tcsetattr(STDIN_FILENO, TCSANOW, &saved_terminal);
  _exit(128 + signal);
}

class KeyMode {
 public:
  KeyMode() {
    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_terminal) != 0) return;
    termios keys = saved_terminal;
    keys.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
    keys.c_cc[VMIN] = 1;
    keys.c_cc[VTIME] = 0;
    if (tcsetattr(STDIN_FILENO, TCSANOW, &keys) != 0) return;
    terminal_changed = 1;
    for (int signal : {SIGINT, SIGTERM, SIGQUIT, SIGHUP}) std::signal(signal, OnSignal);
    // An exception nobody catches does not unwind to ~KeyMode.
    std::set_terminate([] {
      RestoreTerminal();
      std::abort();
    });
  }
  ~KeyMode() { RestoreTerminal(); }
  bool on() const { return terminal_changed != 0; }
};

class ChatView {
 public:
  ChatView(Session& s, int64_t conversation) : s_(s), conversation_(conversation) {}

  int Run() {
    if (!s_.WaitReady(s_.timeout())) {
      Print("(offline: showing what is stored here; messages go out later)");
    }
    auto history = s_.Call({{"@type", "get_history"}, {"conversation_id", conversation_}, {"limit", 20}});
    if (history && Str(*history, "@type") == "result") {
      for (const auto* m : json_lookup::Objects(*history, "messages")) Show(*m);
    } else if (history) {
      Print("natter: " + Str(*history, "message"));
    }
    Print("(type a message and Enter to send, /help for commands; Ctrl-D to quit)");
    for (;;) {
      pollfd p{STDIN_FILENO, POLLIN, 0};
      if (poll(&p, 1, 50) > 0) {
        char buf[4096];
        ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
        if (n <= 0) {  // the end of a pipe: a last line without a newline goes too
          if (!line_.empty()) Enter(std::exchange(line_, ""));
          return Drain();
        }
        for (ssize_t i = 0; i < n; ++i) {
          if (!Key(buf[i])) return Drain();
        }
        Redraw();
      }
      while (auto e = s_.NextEvent(0)) OnEvent(*e);
    }
  }

 private:
  // One key (or byte of a piped line); false to quit.
  bool Key(char c) {
    if (c == '\n' || c == '\r') {
      std::string line = std::move(line_);
      line_.clear();
      if (keys_.on()) std::cout << "\r\033[K" << std::flush;
      return line.empty() || Enter(line);
    }
    // Arrow and other keys come as ESC [ ... letter: nothing to edit with here.
    if (escape_ > 0) {
      if (escape_ == 1 && c != '[')
        escape_ = 0;
      else if (escape_ == 2 && c >= 0x40 && c <= 0x7e)
        escape_ = 0;
      else
        escape_ = 2;
      return true;
    }
    if (c == 27) {
      escape_ = 1;
      return true;
    }
    if (c == 4) return !line_.empty();  // Ctrl-D on an empty line
    if (c == 127 || c == 8) {           // a whole character, not a byte of one
      while (!line_.empty() && (static_cast<unsigned char>(line_.back()) & 0xC0) == 0x80) line_.pop_back();
      if (!line_.empty()) line_.pop_back();
      return true;
    }
    if (static_cast<unsigned char>(c) < 32) return true;
    line_ += c;
    // The others see "typing", at most every 3 s while keys come.
    if (keys_.on() && Clock::now() - last_typing_ > std::chrono::seconds(3)) {
      last_typing_ = Clock::now();
      s_.Send({{"@type", "typing"}, {"conversation_id", conversation_}});
    }
    return true;
  }

  bool Enter(const std::string& line) {
    if (line[0] != '/') {
      s_.Send({{"@type", "send_message"}, {"conversation_id", conversation_}, {"text", line}});
      return true;
    }
    std::istringstream in(line.substr(1));
    std::string command, rest;
    int64_t seq = 0;
    in >> command;
    if (command == "quit") return false;
    if (command == "members") {
      auto a = s_.Call({{"@type", "get_members"}, {"conversation_id", conversation_}});
      for (const auto* m : a ? json_lookup::Objects(*a, "members") : std::vector<const json::object*>{}) {
        Print("  " + s_.Name(Int(*m, "user_id")) + " (" + Str(*m, "role") + ")");
      }
      return true;
    }
    if (command == "leave") return Answered(s_.Call({{"@type", "leave"}, {"conversation_id", conversation_}}));
    bool with_seq =
        command == "reply" || command == "edit" || command == "delete" || command == "react" || command == "unreact";
    if (!with_seq || !(in >> seq)) {
      Print(kHelp);
      return true;
    }
    std::getline(in >> std::ws, rest);
    json::object req{{"conversation_id", conversation_}, {"seq", seq}};
    if (command == "reply") {
      req = {{"@type", "send_message"}, {"conversation_id", conversation_}, {"reply_to", seq}, {"text", rest}};
    } else if (command == "edit") {
      req["@type"] = "edit_message";
      req["text"] = rest;
    } else if (command == "delete") {
      req["@type"] = "delete_message";
    } else {
      req["@type"] = "react";
      req["emoji"] = command == "react" ? rest : "";
    }
    return Answered(s_.Call(std::move(req)));
  }

  bool Answered(const std::optional<json::object>& a) {
    if (!a) Print("(no answer in time)");
    if (a && Str(*a, "@type") == "error") Print("(" + Str(*a, "code") + ": " + Str(*a, "message") + ")");
    return true;
  }

  void OnEvent(const json::object& event) {
    std::string type = Str(event, "@type");
    if (type == "new_entry") {
      const auto* entry = event.if_contains("entry");
      if (!entry || !entry->is_object()) return;
      const auto& m = entry->get_object();
      if (Int(m, "conversation_id") != conversation_ || Int(m, "seq") <= shown_) return;
      Show(m);
      if (Int(m, "sender_id") != s_.me()) {
        s_.Send({{"@type", "mark_read"}, {"conversation_id", conversation_}, {"seq", Int(m, "seq")}});
      }
    } else if (type == "message_state" && Int(event, "conversation_id") == conversation_) {
      std::string seq = event.contains("seq") ? "[" + std::to_string(Int(event, "seq")) + "] " : "";
      Print("  (" + seq + Str(event, "state") + (event.contains("reason") ? ": " + Str(event, "reason") : "") + ")");
    } else if (type == "typing" && Int(event, "conversation_id") == conversation_ && Int(event, "user_id") != s_.me()) {
      Print("  (" + s_.Name(Int(event, "user_id")) + " is typing)");
    } else if (type == "connection_state") {
      std::string reason = Str(event, "reason");
      Print("  (" + Str(event, "state") + (reason.empty() ? "" : ": " + reason) + ")");
    } else if (type == "conversation_removed" && Int(event, "conversation_id") == conversation_) {
      Print("  (you are no longer in this conversation)");
    } else if (type == "identity_changed") {
      // End-to-end encryption (docs/e2ee.md): worth comparing safety numbers again.
      bool new_device = Str(event, "reason") == "new_device";
      Print("  (" + s_.Name(Int(event, "user_id")) +
            (new_device ? " has a new device" : " has a device whose identity key changed: refused") +
            "; compare safety numbers again: natter safety <handle>)");
    } else if (type == "error") {  // one no request of ours waits for (a bad frame, a line that could not go)
      Print("  (" + Str(event, "code") + ": " + Str(event, "message") + ")");
    }
  }

  // Entries are shown once, in seq order: from history, live, and those a
  // catch-up brings after a reconnect, newer than anything shown.
  void Show(const json::object& m) {
    shown_ = std::max(shown_, Int(m, "seq"));
    Print(s_.Line(m));
  }

  // Waits (up to the timeout) for what was typed to leave the outbox before
  // the chat ends, showing what happens meanwhile.
  int Drain() {
    auto until = Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(s_.timeout() * 1000));
    while (Clock::now() < until) {
      auto state = s_.Call({{"@type", "get_state"}}, 2.0);
      if (!state || Int(*state, "pending") == 0) break;
      for (auto e = s_.NextEvent(100); e && Clock::now() < until; e = s_.NextEvent(0)) OnEvent(*e);
    }
    return 0;
  }

  // A line above what is being typed, with the server's text made printable.
  void Print(const std::string& text) {
    if (keys_.on()) std::cout << "\r\033[K";
    std::cout << Printable(text) << "\n";
    Redraw();
  }
  void Redraw() {
    if (keys_.on()) std::cout << "\r\033[K> " << line_;
    std::cout << std::flush;
  }

  Session& s_;
  int64_t conversation_;
  KeyMode keys_;
  std::string line_;
  int escape_ = 0;  // within an escape sequence: 1 after ESC, 2 after ESC [
  int64_t shown_ = 0;
  Clock::time_point last_typing_{};
};

}  // namespace

int Chat(Session& session, int64_t conversation_id) { return ChatView(session, conversation_id).Run(); }

}  // namespace natter::cli
