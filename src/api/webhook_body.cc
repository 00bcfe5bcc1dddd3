#include "api/webhook_body.h"

#include <boost/json/serialize.hpp>

#include "api/json_views.h"

namespace natter::api {

namespace json = boost::json;

std::string WebhookBody(const WebhookJob& job, const hooks::WebhookSubject& s) {
  json::object data;
  auto gone = [](const char* key, int64_t id) { return json::object{{key, id}, {"gone", true}}; };
  if (job.conversation_id != 0) {
    data["conversation"] = s.conversation ? ToJson(*s.conversation) : gone("id", job.conversation_id);
    if (s.event) {
      data["event"] = ToJson(*s.event);
    } else {
      data["event"] = json::object{{"conversation_id", job.conversation_id}, {"seq", job.seq}, {"gone", true}};
    }
  } else if (s.report || !s.user) {
    data["report"] = s.report ? ToJson(*s.report) : gone("report_id", job.subject);
  } else {
    data["user"] = ToJson(*s.user);
  }
  return json::serialize(json::object{
      {"id", job.event_id}, {"type", job.type}, {"created_at", job.created_at}, {"data", std::move(data)}});
}

}  // namespace natter::api
