#include "hooks/webhook_worker.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <type_traits>

#include "hooks/webhook_signature.h"
#include "store/store_waits.h"

namespace natter::hooks {
namespace {

// A claim outlasts a batch: the reads (each waits at most a minute) and the
// requests (each ends within the timeout). A batch is sent only while the
// timeout and a margin still fit in it.
int64_t LeaseMs(const WebhookOptions& o) { return 3 * o.timeout_ms + 60000; }
constexpr int64_t kLeaseMarginMs = 5000;

bool IsTimeline(const WebhookJob& job) { return job.conversation_id != 0; }

// What the timeline (or account) jobs among `jobs` are about, in order; the
// rest, and any that could not be read (a bad row, logged), empty. Each is
// read on its own: one that cannot be read holds up no other.
template <class Txn>
std::vector<std::optional<WebhookSubject>> ReadSubjects(Txn& txn, const std::vector<WebhookJob>& jobs, bool timeline) {
  std::vector<std::optional<WebhookSubject>> out(jobs.size());
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (IsTimeline(jobs[i]) != timeline) continue;
    Result<WebhookSubject> subject = Internal("unread");
    if constexpr (std::is_same_v<Txn, ConversationTxn>) {
      subject = ReadTimelineSubject(txn, jobs[i]);
    } else {
      subject = ReadAccountSubject(txn, jobs[i]);
    }
    if (subject.ok()) {
      out[i] = std::move(*subject);
    } else {
      spdlog::warn("webhooks: reading event {}: {}", jobs[i].event_id, subject.error().message);
    }
  }
  return out;
}

std::string Describe(const push::HttpResponse& answer) {
  return answer.status ? "HTTP " + std::to_string(answer.status) : answer.error;
}

}  // namespace

WebhookWorker::WebhookWorker(Store& store, const Clock& clock, ops::WebhookMetrics& metrics, WebhookOptions options,
                             Render render, Sender send)
    : store_(store),
      clock_(clock),
      metrics_(metrics),
      options_(std::move(options)),
      render_(std::move(render)),
      http_(push::Http2Options{options_.ca_file, std::min<long>(options_.timeout_ms, 5000), options_.timeout_ms}),
      send_(send ? std::move(send)
                 : Sender([this](const std::vector<push::HttpRequest>& r) { return http_.Perform(r); })) {}

WebhookWorker::~WebhookWorker() { Stop(); }

void WebhookWorker::Start() {
  thread_ = std::thread([this] { Run(); });
}

void WebhookWorker::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  http_.Cancel();
  if (thread_.joinable()) thread_.join();
}

bool WebhookWorker::Stopping() {
  std::lock_guard lock(mu_);
  return stopping_;
}

void WebhookWorker::Run() {
  while (!Stopping()) {
    bool worked = RunOnce();
    RecordQueueState();
    if (worked) continue;
    std::unique_lock lock(mu_);
    wake_.wait_for(lock, std::chrono::milliseconds(options_.poll_ms), [this] { return stopping_; });
  }
}

bool WebhookWorker::RunOnce() {
  bool worked = false;
  for (int p = 0; p < store_.Partitions() && !Stopping(); ++p) {
    int64_t lease_end = clock_.NowMs() + LeaseMs(options_);
    auto jobs = Claim(p, lease_end);
    if (jobs.empty()) continue;
    worked = true;
    auto bodies = Bodies(p, jobs);
    Record(p, Send(jobs, bodies, lease_end));
  }
  return worked;
}

std::vector<WebhookJob> WebhookWorker::Claim(int partition, int64_t lease_end) {
  int64_t now = clock_.NowMs();
  int64_t claim = static_cast<int64_t>(random_() >> 1) | 1;
  auto jobs = WriteSync<std::vector<WebhookJob>>(store_, partition,
                                                 [now, lease_end, claim, limit = options_.batch](ConversationTxn& txn) {
                                                   return txn.ClaimWebhooks(now, lease_end, limit, claim);
                                                 });
  if (!jobs.ok()) {
    spdlog::warn("webhooks: claiming events on partition {}: {}", partition, jobs.error().message);
    return {};
  }
  return std::move(*jobs);
}

std::vector<std::string> WebhookWorker::Bodies(int partition, const std::vector<WebhookJob>& jobs) {
  using Subjects = std::vector<std::optional<WebhookSubject>>;
  std::vector<std::string> bodies(jobs.size());
  // Plain values come back from the store's threads; the JSON is made here.
  auto render = [&](Result<Subjects> read, const char* what) {
    if (!read.ok()) return spdlog::warn("webhooks: reading {} events: {}", what, read.error().message);
    for (size_t i = 0; i < bodies.size(); ++i) {
      if ((*read)[i]) bodies[i] = render_(jobs[i], *(*read)[i]);
    }
  };
  bool any_timeline = std::any_of(jobs.begin(), jobs.end(), IsTimeline);
  bool any_account = std::any_of(jobs.begin(), jobs.end(), [](const WebhookJob& j) { return !IsTimeline(j); });
  if (any_timeline) {
    // The reads own their copy: a wait that gives up leaves them nothing to dangle.
    render(
        ReadSync<Subjects>(store_, partition,
                           [jobs](ConversationTxn& txn) -> Result<Subjects> { return ReadSubjects(txn, jobs, true); }),
        "timeline");
  }
  if (any_account) {
    render(ReadAccountsSync<Subjects>(
               store_, [jobs](AccountsTxn& txn) -> Result<Subjects> { return ReadSubjects(txn, jobs, false); }),
           "account");
  }
  return bodies;
}

bool WebhookWorker::GiveUp(const WebhookJob& job, int64_t now, const std::string& why) {
  if (now - job.created_at < options_.give_up_ms) return false;
  metrics_.Dropped();
  spdlog::warn("webhooks: dropping event {} ({}), undelivered after {} attempts: {}", job.event_id, job.type,
               job.attempts, why);
  return true;
}

std::vector<WebhookWorker::Outcome> WebhookWorker::Send(const std::vector<WebhookJob>& jobs,
                                                        const std::vector<std::string>& bodies, int64_t lease_end) {
  int64_t now = clock_.NowMs();
  std::vector<Outcome> out;
  out.reserve(jobs.size());
  std::vector<push::HttpRequest> requests;
  std::vector<size_t> sent;  // the job of each request
  // Reads that took most of the lease: another node may take these events
  // soon, so this one does not send them (untried, due at once).
  bool in_time = now + options_.timeout_ms + kLeaseMarginMs < lease_end;
  for (size_t i = 0; i < jobs.size(); ++i) {
    const WebhookJob& job = jobs[i];
    out.push_back(Outcome{job, now, false});
    if (!in_time) continue;
    if (GiveUp(job, now, job.attempts ? "the last try failed" : "never tried in time")) {
      out.back().retry_at = 0;
      continue;
    }
    if (bodies[i].empty()) {  // unreadable: counted, tried again later
      metrics_.Failed(ops::WebhookMetrics::kUnreadable);
      out.back() = Outcome{job, RetryAt(job, now), true};
      continue;
    }
    push::HttpRequest req;
    req.url = options_.url;
    req.headers = {{"Content-Type", "application/json"},
                   {"User-Agent", "natterd-webhooks"},
                   {"Natter-Event-Id", job.event_id},
                   {"Natter-Event-Type", job.type},
                   {"Natter-Delivery-Attempt", std::to_string(job.attempts + 1)},
                   {std::string(kSignatureHeader), SignWebhook(options_.secret, clock_.NowSeconds(), bodies[i])}};
    req.body = bodies[i];
    requests.push_back(std::move(req));
    sent.push_back(i);
  }
  if (requests.empty()) return out;
  auto answers = send_(requests);
  now = clock_.NowMs();
  for (size_t k = 0; k < answers.size(); ++k) {
    const auto& answer = answers[k];
    Outcome& o = out[sent[k]];
    if (answer.status >= 200 && answer.status < 300) {
      metrics_.Delivered();
      metrics_.Latency(answer.latency_us);
      o.retry_at = 0;
      continue;
    }
    if (answer.status == 0 && answer.error == "cancelled") continue;  // stopping: untried, due at once
    metrics_.Failed(ops::WebhookMetrics::FailureOf(answer.status));
    o.attempted = true;
    o.job.attempts += 1;
    if (GiveUp(o.job, now, Describe(answer))) {
      o.retry_at = 0;
      continue;
    }
    o.retry_at = RetryAt(jobs[sent[k]], now);
    spdlog::debug("webhooks: event {} not delivered ({}), next try in {} ms", o.job.event_id, Describe(answer),
                  o.retry_at - now);
  }
  return out;
}

int64_t WebhookWorker::RetryAt(const WebhookJob& job, int64_t now) {
  int64_t backoff = std::min<int64_t>(int64_t{1000} << std::min(job.attempts, 12), options_.max_backoff_ms);
  // Jittered by up to a fifth either way: a receiver back up is not met by every event at once.
  std::uniform_int_distribution<int64_t> jitter(-backoff / 5, backoff / 5);
  return now + std::max<int64_t>(backoff + jitter(random_), 1);
}

void WebhookWorker::Record(int partition, const std::vector<Outcome>& outcomes) {
  auto st = WriteSync<Ok>(store_, partition, [outcomes](ConversationTxn& txn) -> Status {
    for (const auto& o : outcomes) {
      NATTER_RETURN_IF_ERROR(o.retry_at == 0 ? txn.FinishWebhook(o.job)
                                             : txn.RetryWebhook(o.job, o.retry_at, o.attempted));
    }
    return OkStatus();
  });
  // Unrecorded, the events stay claimed until their lease ends, then go again.
  if (!st.ok()) spdlog::warn("webhooks: recording deliveries on partition {}: {}", partition, st.error().message);
}

void WebhookWorker::RecordQueueState() {
  int64_t now = clock_.NowMs();
  if (now - last_queue_check_ms_ < 1000) return;
  last_queue_check_ms_ = now;
  int64_t depth = 0, oldest = 0;
  for (int p = 0; p < store_.Partitions(); ++p) {
    auto stats =
        ReadSync<WebhookQueueStats>(store_, p, [](ConversationTxn& txn) { return txn.GetWebhookQueueStats(); });
    if (!stats.ok()) continue;
    depth += stats->depth;
    if (stats->oldest_created_at != 0 && (oldest == 0 || stats->oldest_created_at < oldest)) {
      oldest = stats->oldest_created_at;
    }
  }
  metrics_.QueueState(depth, oldest == 0 ? 0 : std::max<int64_t>(now - oldest, 0));
}

}  // namespace natter::hooks
