#include "push/push_providers.h"

#include <boost/json/parse.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <fstream>
#include <sstream>

#include "common/json_lookup.h"

namespace natter::push {
namespace {

namespace json = boost::json;

// Apple refuses a provider token older than an hour and one renewed more
// often than every 20 minutes.
constexpr int64_t kApnsTokenAgeMs = 50 * 60 * 1000;
constexpr int64_t kFcmRenewBeforeMs = 5 * 60 * 1000;
constexpr int64_t kFcmRetryTokenMs = 10 * 1000;
// Requests handed to curl at once: each one's timeout runs from then, so a
// batch is not queued behind the provider's limit of concurrent streams.
constexpr size_t kRequestsAtOnce = 100;
// Paused device tokens kept at most: past it, those whose pause ended go, and
// while it is still full a new 429 is only retried with backoff.
constexpr size_t kMaxPaused = 100000;

Result<std::string> ReadFile(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return BadRequest(std::string("cannot read the ") + what + " " + path);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string FormEncode(std::string_view value) { return boost::urls::encode(value, boost::urls::unreserved_chars); }

Verdict Refused(std::string reason) {
  Verdict v;
  v.next = Verdict::Next::kFail;
  v.reason = std::move(reason);
  return v;
}

Verdict RetryLater(std::string reason) {
  Verdict v;
  v.next = Verdict::Next::kRetry;
  v.reason = std::move(reason);
  return v;
}

}  // namespace

PushProviders::PushProviders(ProvidersConfig config, const Clock& clock)
    : config_(std::move(config)), clock_(clock), http_(Http2Options{config_.ca_file, 5000, config_.timeout_ms}) {}

Result<std::unique_ptr<PushProviders>> PushProviders::Open(const ProvidersConfig& config, const Clock& clock) {
  std::unique_ptr<PushProviders> p(new PushProviders(config, clock));
  if (!config.apns.key_file.empty()) {
    NATTER_TRY(std::string pem, ReadFile(config.apns.key_file, "APNs key"));
    auto signer = ProviderSigner::FromPem(pem);
    if (!signer.ok()) return BadRequest("APNs key " + config.apns.key_file + ": " + signer.error().message);
    if (std::string_view(signer->algorithm()) != "ES256") {
      return BadRequest("APNs key " + config.apns.key_file + " is not a P-256 key (.p8)");
    }
    if (config.apns.key_id.empty() || config.apns.team_id.empty()) {
      return BadRequest("APNs needs the key id and the team id with the key");
    }
    p->apns_signer_.emplace(std::move(*signer));
  }
  if (!config.fcm.service_account_file.empty()) {
    const std::string& path = config.fcm.service_account_file;
    NATTER_TRY(std::string text, ReadFile(path, "FCM service account key"));
    boost::system::error_code ec;
    json::value key = json::parse(text, ec);
    const json::object* o = key.if_object();
    if (ec || !o) return BadRequest("FCM service account key " + path + " is not JSON");
    auto field = [o](const char* name) { return json_lookup::Str(*o, name); };
    p->account_ = ServiceAccount{field("project_id"), field("client_email"), field("token_uri")};
    if (!config.fcm.token_url.empty()) p->account_.token_uri = config.fcm.token_url;
    if (p->account_.project_id.empty() || p->account_.client_email.empty() || p->account_.token_uri.empty()) {
      return BadRequest("FCM service account key " + path + " lacks project_id, client_email or token_uri");
    }
    auto signer = ProviderSigner::FromPem(field("private_key"));
    if (!signer.ok()) return BadRequest("FCM service account key " + path + ": " + signer.error().message);
    if (std::string_view(signer->algorithm()) != "RS256") {
      return BadRequest("FCM service account key " + path + " does not hold an RSA key");
    }
    p->fcm_signer_.emplace(std::move(*signer));
  }
  return p;
}

bool PushProviders::Serves(std::string_view platform) const {
  return platform == "apns" ? apns_signer_.has_value() : platform == "fcm" && fcm_signer_.has_value();
}

Result<std::string> PushProviders::ApnsToken() {
  int64_t now = clock_.NowMs();
  if (apns_token_.empty() || now - apns_token_issued_ms_ >= kApnsTokenAgeMs) {
    NATTER_TRY(apns_token_, ApnsProviderToken(*apns_signer_, config_.apns.key_id, config_.apns.team_id, now / 1000));
    apns_token_issued_ms_ = now;
  }
  return apns_token_;
}

Result<std::string> PushProviders::FcmAccessToken() {
  int64_t now = clock_.NowMs();
  if (!fcm_token_.empty() && now < fcm_token_renew_ms_) return fcm_token_;
  // A token endpoint that fails is asked again after a pause, not once per device.
  if (now < fcm_token_failed_until_) return Unavailable(fcm_token_failure_);
  auto token = FetchFcmAccessToken(now);
  if (!token.ok()) {
    fcm_token_failed_until_ = now + kFcmRetryTokenMs;
    fcm_token_failure_ = token.error().message;
  }
  return token;
}

Result<std::string> PushProviders::FetchFcmAccessToken(int64_t now) {
  NATTER_TRY(std::string assertion,
             GoogleAssertion(*fcm_signer_, account_.client_email, account_.token_uri, now / 1000));
  HttpRequest req;
  req.url = account_.token_uri;
  req.headers = {{"content-type", "application/x-www-form-urlencoded"}};
  req.body =
      "grant_type=" + FormEncode("urn:ietf:params:oauth:grant-type:jwt-bearer") + "&assertion=" + FormEncode(assertion);
  HttpResponse answer = std::move(http_.Perform({req}).front());  // NOLINT: one request, one answer
  if (answer.status != 200) {
    std::string why =
        answer.status ? "HTTP " + std::to_string(answer.status) + " " + answer.body.substr(0, 200) : answer.error;
    return Unavailable("FCM access token from " + account_.token_uri + ": " + why);
  }
  boost::system::error_code ec;
  json::value body = json::parse(answer.body, ec);
  const json::object* o = body.if_object();
  std::string token = o ? json_lookup::Str(*o, "access_token") : std::string();
  if (ec || token.empty()) return Unavailable("FCM token endpoint answered no access_token");
  int64_t lifetime_ms = json_lookup::Int(*o, "expires_in", 3600) * 1000;
  fcm_token_ = std::move(token);
  fcm_token_renew_ms_ = now + std::max<int64_t>(lifetime_ms - kFcmRenewBeforeMs, 60 * 1000);
  return fcm_token_;
}

Result<HttpRequest> PushProviders::RequestFor(const Outgoing& item) {
  const PushDevice& d = item.device;
  if (!Serves(d.platform)) return BadRequest("not_configured");

  HttpRequest req;
  if (d.platform == "apns") {
    std::string topic = d.topic.empty() ? config_.apns.topic : d.topic;
    if (topic.empty()) return BadRequest("no_topic");
    NATTER_TRY(std::string token, ApnsToken());
    ApnsRequest apns = BuildApnsRequest(item.notification, d.token, topic);
    req.url = (d.environment == "sandbox" ? config_.apns.sandbox_url : config_.apns.url) + apns.path;
    req.headers = std::move(apns.headers);
    req.headers.emplace_back("authorization", "bearer " + token);
    req.body = std::move(apns.body);
    return req;
  }
  NATTER_TRY(std::string token, FcmAccessToken());
  req.url = config_.fcm.url + "/v1/projects/" + account_.project_id + "/messages:send";
  req.headers = {{"content-type", "application/json; charset=UTF-8"}, {"authorization", "Bearer " + token}};
  req.body = BuildFcmMessage(item.notification, d.token);
  return req;
}

std::vector<Verdict> PushProviders::Send(const std::vector<Outgoing>& items, ops::PushMetrics& metrics) {
  std::vector<Verdict> verdicts(items.size());
  std::vector<size_t> pending(items.size());
  for (size_t i = 0; i < items.size(); ++i) pending[i] = i;
  // A stale credential is renewed once and the items it failed sent again.
  for (int round = 0; round < 2 && !pending.empty(); ++round) {
    std::vector<HttpRequest> requests;
    std::vector<size_t> sent;
    for (size_t i : pending) {
      if (auto p = paused_.find(items[i].device.token); p != paused_.end()) {
        int64_t left = p->second - clock_.NowMs();
        if (left > 0) {
          verdicts[i] = RetryLater("waiting for the provider's Retry-After");
          verdicts[i].retry_after = std::chrono::seconds((left + 999) / 1000);
          continue;
        }
        paused_.erase(p);
      }
      auto req = RequestFor(items[i]);
      if (!req.ok()) {
        const Error& e = req.error();
        verdicts[i] = e.code == ErrorCode::kUnavailable ? RetryLater(e.message) : Refused(e.message);
        continue;
      }
      requests.push_back(std::move(*req));
      sent.push_back(i);
    }
    std::vector<HttpResponse> answers;
    for (size_t from = 0; from < requests.size(); from += kRequestsAtOnce) {
      std::vector<HttpRequest> part(
          requests.begin() + static_cast<std::ptrdiff_t>(from),
          requests.begin() + static_cast<std::ptrdiff_t>(std::min(requests.size(), from + kRequestsAtOnce)));
      for (auto& a : http_.Perform(part)) answers.push_back(std::move(a));
    }
    pending.clear();
    for (size_t k = 0; k < sent.size(); ++k) {
      size_t i = sent[k];
      const HttpResponse& a = answers[k];
      auto provider = ops::PushMetrics::ProviderOf(items[i].device.platform);
      if (a.status == 0) {
        verdicts[i] = RetryLater(a.error);
        continue;
      }
      metrics.Latency(provider, a.latency_us);
      bool apns = items[i].device.platform == "apns";
      verdicts[i] =
          apns ? ReadApnsAnswer(a.status, a.body, a.retry_after) : ReadFcmAnswer(a.status, a.body, a.retry_after);
      if (a.status == 429 && verdicts[i].retry_after.count() > 0) {
        int64_t now = clock_.NowMs();
        if (paused_.size() >= kMaxPaused) std::erase_if(paused_, [now](const auto& p) { return p.second <= now; });
        if (paused_.size() < kMaxPaused) paused_[items[i].device.token] = now + verdicts[i].retry_after.count() * 1000;
      }
      if (verdicts[i].next != Verdict::Next::kRenewAuth) continue;
      if (apns) {
        apns_token_.clear();
      } else {
        fcm_token_.clear();
      }
      if (round == 0) {
        pending.push_back(i);
      } else {
        verdicts[i].next = Verdict::Next::kRetry;
      }
    }
  }
  return verdicts;
}

}  // namespace natter::push
