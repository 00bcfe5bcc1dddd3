#include "hooks/presend_hook.h"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <memory>
#include <random>

#include <spdlog/spdlog.h>

#include "chat/text_rules.h"
#include "hooks/webhook_signature.h"

namespace natter::hooks {
namespace {

namespace json = boost::json;

constexpr size_t kMaxReasonBytes = 500;

std::string RequestId() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "presend.";
  for (int i = 0; i < 16; ++i) id += kHex[random() & 15];
  return id;
}

std::string Body(const PresendCall& call, const std::string& id, int64_t now_ms) {
  json::object data{{"conversation_id", call.conversation_id}, {"sender_id", call.sender}, {"text", call.text}};
  if (call.edit) {
    data["seq"] = call.seq;
  } else {
    data["client_msg_id"] = call.client_msg_id;
    data["attachments"] = call.captions.size();
    json::array captions;
    for (const auto& caption : call.captions) captions.push_back(json::string(caption));
    data["captions"] = std::move(captions);
  }
  return json::serialize(json::object{{"id", id},
                                      {"type", call.edit ? "message.edit" : "message.send"},
                                      {"created_at", now_ms},
                                      {"data", std::move(data)}});
}

std::string Describe(const push::HttpResponse& answer) {
  return answer.status ? "HTTP " + std::to_string(answer.status) : answer.error;
}

}  // namespace

Result<std::string> ReadPresendAnswer(const push::HttpResponse& answer, const PresendCall& call,
                                      const PresendOptions& options, std::string* failure) {
  failure->clear();
  auto fallback = [&](std::string why) -> Result<std::string> {
    *failure = why;
    if (options.accept_on_failure) return call.text;
    return Unavailable("the message check did not answer (" + why + "); try again");
  };
  if (answer.status == 204) return call.text;
  if (answer.status != 200) return fallback(Describe(answer));
  boost::system::error_code ec;
  json::value v = json::parse(answer.body, ec);
  if (ec || !v.is_object()) return fallback("its answer is not a JSON object");
  const json::object& o = v.get_object();
  const json::value* action = o.if_contains("action");
  if (!action || !action->is_string()) return fallback("its answer has no action");
  if (action->get_string() == "reject") {
    std::string reason;
    if (const json::value* r = o.if_contains("reason"); r && r->is_string()) reason = std::string(r->get_string());
    if (reason.size() > kMaxReasonBytes || !chat::IsValidUtf8Text(reason)) reason.clear();
    return Forbidden(reason.empty() ? "rejected by the server's message policy" : "rejected: " + reason);
  }
  if (action->get_string() != "accept") return fallback("unknown action");
  const json::value* text = o.if_contains("text");
  if (!text) return call.text;
  if (!text->is_string()) return fallback("its text is not a string");
  std::string rewritten(text->get_string());
  if (rewritten.size() > call.max_text_bytes || !chat::IsValidUtf8Text(rewritten)) {
    return fallback("its text is too long or not UTF-8");
  }
  if (rewritten.empty() && call.captions.empty()) return fallback("its text is empty");
  return rewritten;
}

PresendHook::PresendHook(PresendOptions options, const Clock& clock, ops::PresendMetrics& metrics)
    : options_(std::move(options)),
      clock_(clock),
      metrics_(metrics),
      http_(push::Http2Options{options_.ca_file, options_.timeout_ms, options_.timeout_ms}, options_.max_in_flight) {}

void PresendHook::Check(const PresendCall& call, Executor& ex, std::function<void(Result<std::string>)> done) {
  std::string body = Body(call, RequestId(), clock_.NowMs());
  push::HttpRequest req;
  req.url = options_.url;
  req.headers = {{"Content-Type", "application/json"},
                 {"User-Agent", "natterd-presend"},
                 {std::string(kSignatureHeader), SignWebhook(options_.secret, clock_.NowSeconds(), body)}};
  req.body = std::move(body);
  http_.Send(std::move(req), [this, call, &ex, done = std::move(done)](push::HttpResponse answer) mutable {
    // On the hook's HTTP thread: read the verdict here (cheap), act on `ex`.
    std::string failure;
    // Stopping, or too many checks waiting: refused whatever the default, so
    // neither a shutdown nor a flood waves messages through unchecked.
    Result<std::string> verdict =
        answer.error == kStopping || answer.error == kTooManyRequests
            ? Result<std::string>(Unavailable(answer.error == kStopping ? "the server is stopping; try again"
                                                                        : "too many messages wait for their check; "
                                                                          "try again"))
            : ReadPresendAnswer(answer, call, options_, &failure);
    bool unasked = answer.error == kStopping || answer.error == kTooManyRequests;
    if (!failure.empty() || unasked) {
      metrics_.Checked(ops::PresendMetrics::kFailed);
      int64_t now = clock_.NowMs(), last = last_warning_ms_.load();
      if (now - last >= 10000 && last_warning_ms_.compare_exchange_strong(last, now)) {
        spdlog::warn("presend: the hook gave no usable answer ({}); {} (counted in natter_presend_checks_total)",
                     failure, options_.accept_on_failure ? "messages go through unchecked" : "sends are refused");
      }
    } else if (!verdict.ok()) {
      metrics_.Checked(ops::PresendMetrics::kRejected);
    } else {
      metrics_.Checked(*verdict == call.text ? ops::PresendMetrics::kAccepted : ops::PresendMetrics::kRewritten);
    }
    if (answer.status != 0) metrics_.Latency(answer.latency_us);
    ex.Post([done = std::move(done), verdict = std::move(verdict)]() mutable { done(std::move(verdict)); });
  });
}

}  // namespace natter::hooks
