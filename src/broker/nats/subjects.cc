#include "broker/nats/subjects.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <unordered_set>

namespace natter::nats {

std::string ConversationSubject(ConversationId id) { return "natter.c." + std::to_string(id); }
std::string UserSubject(UserId id) { return "natter.u." + std::to_string(id); }
std::string SessionsSubject() { return "natter.sessions"; }
std::string LostSubject() { return "natter.lost"; }

std::optional<ConversationId> ConversationFrameId(std::string_view payload) {
  // Every frame passes through here on publish, so most are turned away
  // without parsing: a conversation frame must hold the quoted word, and a
  // message text cannot fake it, since its quotes are escaped.
  if (payload.find("\"conversation\"") == std::string_view::npos) return std::nullopt;
  try {
    boost::system::error_code ec;
    boost::json::value frame = boost::json::parse(payload, ec);
    if (ec || !frame.is_object()) return std::nullopt;
    const auto* type = frame.get_object().if_contains("type");
    if (!type || !type->is_string() || type->get_string() != "conversation") return std::nullopt;
    const auto* conversation = frame.get_object().if_contains("conversation");
    if (!conversation || !conversation->is_object()) return std::nullopt;
    const auto* id = conversation->get_object().if_contains("id");
    if (!id || !id->is_int64() || id->get_int64() == 0) return std::nullopt;
    return id->get_int64();
  } catch (const std::exception&) {
    return std::nullopt;  // allocation failure: treat as an ordinary frame
  }
}

std::vector<std::string> SubjectsFor(const Event& event, std::optional<ConversationId> frame_conversation) {
  std::vector<std::string> subjects;
  if (event.revoke_session != 0) return {SessionsSubject()};
  if (event.conversation_id != 0) subjects.push_back(ConversationSubject(event.conversation_id));
  if (event.conversation_id == 0 || frame_conversation || event.to_each_recipient) {
    std::unordered_set<UserId> seen;
    for (const auto& r : event.recipients) {
      if (seen.insert(r.user).second) subjects.push_back(UserSubject(r.user));
    }
  }
  return subjects;
}

}  // namespace natter::nats
