#include "session.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <iostream>

#include "common/json_lookup.h"

namespace natter::cli {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

using json_lookup::Int;
using json_lookup::Str;

Clock::time_point After(double seconds) {
  seconds = seconds > 0 ? std::min(seconds, 86'400.0) : 0.0;  // (NaN as 0)
  return Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

}  // namespace

std::string Printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  char escaped[8];
  for (size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    bool c1 = c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
              static_cast<unsigned char>(text[i + 1]) <= 0x9F;  // U+0080..U+009F
    if ((c < 0x20 && c != '\t') || c == 0x7F) {
      snprintf(escaped, sizeof escaped, "\\x%02x", c);
      out += escaped;
    } else if (c1) {
      snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned char>(text[++i]));
      out += escaped;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

Session::Session(std::unique_ptr<client::Client> client, bool json_output, double timeout_s)
    : client_(std::move(client)), json_output_(json_output), timeout_s_(timeout_s) {
  if (auto state = Call({{"@type", "get_state"}}, 5.0)) me_ = Int(*state, "user_id");
}

void Session::Note(const json::object& event) {
  std::string type = Str(event, "@type");
  if (type == "auth_state" && event.contains("user_id")) me_ = Int(event, "user_id");
  // The last failure stays the answer to "why not connected" while the next
  // attempt is under way (a "connecting" state has no reason); ready clears it.
  if (type == "connection_state") {
    std::string reason = Str(event, "reason");
    if (!reason.empty()) connection_problem_ = std::move(reason);
    if (Str(event, "state") == "ready") connection_problem_.clear();
  }
}

std::optional<json::object> Session::Receive(int timeout_ms) {
  auto text = client_->Receive(std::chrono::milliseconds(timeout_ms));
  if (!text) return std::nullopt;
  json::object event = json::parse(*text).as_object();
  Note(event);
  return event;
}

void Session::Send(const json::object& request) { client_->Send(json::serialize(request)); }

std::optional<json::object> Session::Call(json::object request, std::optional<double> timeout_s) {
  uint64_t extra = next_extra_++;
  request["@extra"] = extra;
  Send(request);
  auto deadline = After(timeout_s.value_or(timeout_s_));
  while (Clock::now() < deadline) {
    auto e = Receive(100);
    if (!e) continue;
    if (auto* x = e->if_contains("@extra"); x && x->is_number() && x->to_number<uint64_t>() == extra) return e;
    kept_.push_back(std::move(*e));
  }
  return std::nullopt;
}

std::optional<json::object> Session::WaitFor(const std::function<bool(const json::object&)>& pred, double timeout_s) {
  for (auto it = kept_.begin(); it != kept_.end(); ++it) {
    if (pred(*it)) {
      json::object e = std::move(*it);
      kept_.erase(it);
      return e;
    }
  }
  auto deadline = After(timeout_s);
  while (Clock::now() < deadline) {
    auto e = Receive(100);
    if (!e) continue;
    if (pred(*e)) return e;
    kept_.push_back(std::move(*e));  // for whoever waits for it next
  }
  return std::nullopt;
}

std::optional<json::object> Session::NextEvent(int timeout_ms) {
  if (!kept_.empty()) {
    json::object e = std::move(kept_.front());
    kept_.pop_front();
    return e;
  }
  return Receive(timeout_ms);
}

bool Session::WaitReady(double timeout_s) {
  return WaitFor([](const json::object& e) { return Str(e, "@type") == "sync_done"; }, timeout_s).has_value();
}

int Session::Print(const std::optional<json::object>& answer, const std::function<void(const json::object&)>& human) {
  if (!answer) {
    std::cerr << "natter: no answer in time\n";
    return 3;
  }
  if (Str(*answer, "@type") == "error") {
    if (json_output_) {
      std::cout << json::serialize(*answer) << "\n";
    } else {
      std::cerr << "natter: " << Printable(Str(*answer, "code")) << ": " << Printable(Str(*answer, "message")) << "\n";
    }
    return 1;
  }
  if (json_output_) {
    std::cout << json::serialize(*answer) << "\n";
  } else {
    human(*answer);
  }
  return 0;
}

std::string Session::Name(int64_t user_id) {
  if (user_id == 0) return "someone";
  if (auto it = names_.find(user_id); it != names_.end()) return it->second;
  auto user = Call({{"@type", "get_user"}, {"user_id", user_id}}, std::min(timeout_s_, 5.0));
  std::string name = user && Str(*user, "@type") == "result" ? Str(*user, "handle") : "";
  if (name.empty()) return "user " + std::to_string(user_id);  // asked again later: it may be known then
  names_[user_id] = Printable(name);
  return names_[user_id];
}

std::optional<int64_t> Session::UserId(const std::string& handle) {
  auto user = Call({{"@type", "get_user"}, {"handle", handle}});
  if (!user || Str(*user, "@type") != "result") return std::nullopt;
  names_[Int(*user, "user_id")] = handle;
  return Int(*user, "user_id");
}

std::string Session::Line(const json::object& m) { return Printable(RawLine(m)); }

std::string Session::RawLine(const json::object& m) {
  std::string kind = Str(m, "kind"), text = Str(m, "text");
  std::string who = Name(Int(m, "sender_id"));
  std::string seq = "[" + std::to_string(Int(m, "seq")) + "] ";
  std::string target = "[" + std::to_string(Int(m, "target_seq")) + "]";
  std::string target_user = m.contains("target_user") ? Name(Int(m, "target_user")) : "someone";
  if (kind == "message") {
    std::string line = seq + who + ": ";
    if (m.contains("reply_to")) line += "(reply to [" + std::to_string(Int(m, "reply_to")) + "]) ";
    if (m.contains("deleted")) return line + "(deleted)";
    if (m.contains("blocked_sender")) return line + "(hidden: you blocked this user)";
    if (m.contains("undecryptable")) return line + "(could not decrypt: " + Str(m, "undecryptable") + ")";
    line += text;
    if (m.contains("edited_at")) line += " (edited)";
    for (const auto* reaction : json_lookup::Objects(m, "reactions")) {
      line += "  " + Str(*reaction, "emoji") + " " + Name(Int(*reaction, "user_id"));
    }
    return line;
  }
  if (kind == "edit") return seq + "* " + who + " edited " + target + ": " + text;
  if (kind == "delete") return seq + "* " + who + " deleted " + target;
  if (kind == "reaction") {
    return seq + "* " + who +
           (text.empty() ? " took back a reaction to " + target : " reacted " + text + " to " + target);
  }
  if (kind == "member_joined") return seq + "* " + who + " added " + target_user;
  if (kind == "member_left") return seq + "* " + who + " left";
  if (kind == "member_removed") return seq + "* " + who + " removed " + target_user;
  if (kind == "role_changed") return seq + "* " + target_user + " is now " + text;
  if (kind == "title_changed") return seq + "* " + who + " renamed the conversation to \"" + text + "\"";
  return seq + "* " + who + " " + kind + (text.empty() ? "" : " " + text);
}

}  // namespace natter::cli
