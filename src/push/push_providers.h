// The two push providers behind one call: APNs (token-based auth, the .p8
// key) and FCM HTTP v1 (an OAuth 2.0 access token from a service account's
// key). Holds the provider credentials, renews them before they expire (the
// APNs provider token every 50 minutes, the FCM access token 5 minutes before
// its end) or when a provider says they are stale, and turns every answer
// into a Verdict.
//
// Thread-safety: one thread at a time (a push worker's); Cancel() from any.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "natter/clock.h"
#include "natter/status.h"
#include "ops/push_metrics.h"
#include "push/http2_client.h"
#include "push/provider_jwt.h"
#include "push/provider_requests.h"
#include "store/push_records.h"

namespace natter::push {

struct ApnsConfig {
  std::string key_file;  // the .p8 key; empty: APNs off
  std::string key_id;
  std::string team_id;
  std::string topic;  // the app's bundle id, for devices that registered none
  std::string url = "https://api.push.apple.com";
  std::string sandbox_url = "https://api.sandbox.push.apple.com";
};

struct FcmConfig {
  std::string service_account_file;  // the service account's JSON key; empty: FCM off
  std::string url = "https://fcm.googleapis.com";
  std::string token_url;  // empty: the key's token_uri
};

struct ProvidersConfig {
  ApnsConfig apns;
  FcmConfig fcm;
  std::string ca_file;  // empty: the system's trust store
  long timeout_ms = 15000;
};

// One notification for one device.
struct Outgoing {
  PushDevice device;
  Notification notification;
};

class PushProviders {
 public:
  // Reads the configured keys. Fails naming the file and what is wrong.
  static Result<std::unique_ptr<PushProviders>> Open(const ProvidersConfig& config, const Clock& clock);

  bool Serves(std::string_view platform) const;
  // Sends every item at once; a verdict per item, in order.
  std::vector<Verdict> Send(const std::vector<Outgoing>& items, ops::PushMetrics& metrics);
  void Cancel() { http_.Cancel(); }

 private:
  struct ServiceAccount {
    std::string project_id;
    std::string client_email;
    std::string token_uri;
  };
  PushProviders(ProvidersConfig config, const Clock& clock);

  // The request for `item`, or the verdict that stops it before sending.
  Result<HttpRequest> RequestFor(const Outgoing& item);
  Result<std::string> ApnsToken();
  Result<std::string> FcmAccessToken();
  Result<std::string> FetchFcmAccessToken(int64_t now);

  ProvidersConfig config_;
  const Clock& clock_;
  Http2Client http_;
  std::optional<ProviderSigner> apns_signer_;
  std::string apns_token_;
  int64_t apns_token_issued_ms_ = 0;
  std::optional<ProviderSigner> fcm_signer_;
  ServiceAccount account_;
  std::string fcm_token_;
  int64_t fcm_token_renew_ms_ = 0;      // when to fetch a new one
  int64_t fcm_token_failed_until_ = 0;  // a failed fetch is not tried again before this
  std::string fcm_token_failure_;
  // Device tokens a provider answered 429 for, and until when they wait
  // (Retry-After): their notifications are not sent before.
  std::unordered_map<std::string, int64_t> paused_;
};

}  // namespace natter::push
