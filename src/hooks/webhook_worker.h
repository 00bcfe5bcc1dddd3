// The webhook worker: a thread of its own (never an I/O thread) that claims
// due events from every partition's webhook queue, reads what each is about
// (hooks/webhook_subject.h), makes and signs its body (the `render` it is
// given, hooks/webhook_signature.h) and POSTs a batch of them at once to the
// operator's URL. A 2xx answer ends an event; anything else, or no answer in
// time, puts it back with exponential backoff (1 s doubling to an hour,
// jittered) until it is older than the give-up time, when it is dropped with
// a warning. Claims are fenced by a token and hold for a lease longer than a
// batch may take (a batch whose lease ran short is put back unsent): in a
// cluster every node's worker takes different events (PostgreSQL's SKIP
// LOCKED), and the events of a node that dies mid-batch are sent by another
// once the lease ends. Delivery is therefore at least once; the event id lets
// a receiver drop a repeat.
//
// Thread-safety: Start and Stop from one thread; the rest is internal.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "hooks/webhook_subject.h"
#include "natter/clock.h"
#include "ops/hook_metrics.h"
#include "push/http2_client.h"
#include "store/store.h"

namespace natter::hooks {

struct WebhookOptions {
  std::string url;                        // empty: webhooks are off
  std::string secret;                     // HMAC key, at least kMinSecretBytes
  std::string ca_file;                    // trusted for an https URL instead of the system's store
  int64_t timeout_ms = 5000;              // per delivery, connection included
  int64_t give_up_ms = 24 * 3600 * 1000;  // an event still failing this long after it happened is dropped
  int64_t max_backoff_ms = 3600 * 1000;
  int64_t poll_ms = 200;  // how often an idle worker looks for due events
  int batch = 32;         // events claimed and sent at once, per partition
};

class WebhookWorker {
 public:
  // The body of a delivery (api/webhook_body.h).
  using Render = std::function<std::string(const WebhookJob&, const WebhookSubject&)>;
  // Sends a batch, answers in the same order; none: libcurl (push/http2_client.h).
  using Sender = std::function<std::vector<push::HttpResponse>(const std::vector<push::HttpRequest>&)>;

  WebhookWorker(Store& store, const Clock& clock, ops::WebhookMetrics& metrics, WebhookOptions options, Render render,
                Sender send = {});
  ~WebhookWorker();

  void Start();
  // Ends the thread; a batch under way is cut short and put back, due at once.
  void Stop();
  // Claims and sends one batch per partition, on the caller's thread (what
  // the thread does each round; tests call it without Start); whether there
  // were any.
  bool RunOnce();

 private:
  struct Outcome {
    WebhookJob job;
    int64_t retry_at = 0;   // 0: done (delivered or dropped)
    bool attempted = true;  // false: put back untried (cut short), no attempt counted
  };

  void Run();
  // The partition's due events, claimed by this worker until `lease_end`.
  std::vector<WebhookJob> Claim(int partition, int64_t lease_end);
  // Each job's body, in order; empty where it could not be read (tried again later).
  std::vector<std::string> Bodies(int partition, const std::vector<WebhookJob>& jobs);
  // Sends what can be sent while the claim (held until `lease_end`) lasts.
  std::vector<Outcome> Send(const std::vector<WebhookJob>& jobs, const std::vector<std::string>& bodies,
                            int64_t lease_end);
  // Whether `job` is past the give-up time (then it is dropped and counted).
  bool GiveUp(const WebhookJob& job, int64_t now, const std::string& why);
  void Record(int partition, const std::vector<Outcome>& outcomes);
  int64_t RetryAt(const WebhookJob& job, int64_t now);
  void RecordQueueState();
  bool Stopping();

  Store& store_;
  const Clock& clock_;
  ops::WebhookMetrics& metrics_;
  const WebhookOptions options_;
  const Render render_;
  push::Http2Client http_;
  const Sender send_;
  std::mt19937_64 random_{std::random_device{}()};  // claim tokens and jitter
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
  int64_t last_queue_check_ms_ = 0;
};

}  // namespace natter::hooks
