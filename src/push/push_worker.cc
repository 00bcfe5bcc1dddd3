#include "push/push_worker.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <set>

namespace natter::push {
namespace {

template <class Fn>
Status WriteAccountsStatus(Store& store, Fn fn) {
  return Await<Ok>([&](auto done) {
    store.WriteAccounts(InlineExecutor(), std::move(fn), [done](Status st) { done(std::move(st)); });
  });
}

// Exponential, from 1 s to 5 min.
int64_t BackoffMs(int attempts) { return std::min<int64_t>(int64_t{1000} << std::min(attempts, 9), 300000); }

// The job's messages still worth a push: live messages, newest 50.
constexpr int kMessagesPerJob = 50;

constexpr int64_t kPrunePresenceEveryMs = 3600 * 1000;
constexpr int64_t kPresenceKeptMs = 24 * 3600 * 1000;

}  // namespace

PushWorker::PushWorker(Store& store, PushProviders& providers, const Clock& clock, ops::Metrics& metrics,
                       PushWorkerOptions options)
    : store_(store), providers_(providers), clock_(clock), metrics_(metrics), options_(options) {}

PushWorker::~PushWorker() { Stop(); }

void PushWorker::Start(std::function<void()> each_heartbeat) {
  Heartbeat(clock_.NowMs());  // live connections of this node count from now
  keeper_ = std::thread([this, hook = std::move(each_heartbeat)] { Keep(hook); });
  thread_ = std::thread([this] { Run(); });
}

void PushWorker::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  providers_.Cancel();
  if (thread_.joinable()) thread_.join();
  if (keeper_.joinable()) keeper_.join();
  // The live connections this node held end with it.
  auto st =
      WriteAccountsStatus(store_, [node = options_.node_id](AccountsTxn& txn) { return txn.ForgetPushNode(node); });
  if (!st.ok()) spdlog::warn("push: forgetting node {}: {}", options_.node_id, st.error().message);
}

bool PushWorker::Stopping() {
  std::lock_guard lock(mu_);
  return stopping_;
}

bool PushWorker::ClaimLost() {
  std::lock_guard lock(mu_);
  return claim_lost_;
}

void PushWorker::Run() {
  while (!Stopping()) {
    bool worked = RunOnce();
    RecordQueueState();
    if (worked) continue;
    std::unique_lock lock(mu_);
    wake_.wait_for(lock, std::chrono::milliseconds(options_.poll_ms), [this] { return stopping_; });
  }
}

void PushWorker::Keep(std::function<void()> each_heartbeat) {
  int64_t last_prune = 0;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      if (wake_.wait_for(lock, std::chrono::milliseconds(options_.heartbeat_ms), [this] { return stopping_; })) return;
    }
    int64_t now = clock_.NowMs();
    Heartbeat(now);
    std::optional<std::pair<int, PushJob>> current;
    {
      std::lock_guard lock(mu_);
      current = current_;
    }
    if (current) {
      auto renewed = WriteSync<bool>(store_, current->first,
                                     [job = current->second, lease = now + options_.lease_ms](ConversationTxn& txn) {
                                       return txn.RenewPushClaim(job, lease);
                                     });
      if (renewed.ok() && !*renewed) {
        std::lock_guard lock(mu_);
        if (current_ && current_->second.id == current->second.id) claim_lost_ = true;
      }
    }
    if (each_heartbeat) each_heartbeat();
    // Live state of sessions gone for a day tells nothing any more.
    if (now - last_prune > kPrunePresenceEveryMs) {
      last_prune = now;
      auto st = WriteAccountsStatus(
          store_, [before = now - kPresenceKeptMs](AccountsTxn& txn) { return txn.PrunePushPresence(before); });
      if (!st.ok()) spdlog::warn("push: pruning old live state: {}", st.error().message);
    }
  }
}

void PushWorker::Heartbeat(int64_t now) {
  auto st = WriteAccountsStatus(
      store_, [node = options_.node_id, now](AccountsTxn& txn) { return txn.SeePushNode(node, now); });
  if (!st.ok()) spdlog::warn("push: heartbeat of node {}: {}", options_.node_id, st.error().message);
}

int64_t PushWorker::AliveNodes() {
  int64_t own = int64_t{1} << options_.node_id;
  auto mask = ReadAccountsSync<int64_t>(store_, [since = clock_.NowMs() - options_.node_gone_ms](AccountsTxn& txn) {
    return txn.PushNodesSeenSince(since);
  });
  return (mask.ok() ? *mask : 0) | own;
}

bool PushWorker::RunOnce() {
  bool worked = false;
  for (int p = 0; p < store_.Partitions() && !Stopping(); ++p) {
    // One job at a time: a claim's lease covers what this worker is doing, not a backlog.
    int64_t now = clock_.NowMs();
    int64_t claim = static_cast<int64_t>(claims_() >> 1) | 1;
    auto jobs =
        WriteSync<std::vector<PushJob>>(store_, p, [now, lease = now + options_.lease_ms, claim](ConversationTxn& txn) {
          return txn.ClaimPushJobs(now, lease, 1, claim);
        });
    if (!jobs.ok()) {
      spdlog::warn("push: claiming jobs on partition {}: {}", p, jobs.error().message);
      continue;
    }
    for (const PushJob& job : *jobs) {
      if (Stopping()) return worked;
      Process(p, job);
      worked = true;
    }
  }
  return worked;
}

void PushWorker::Process(int partition, const PushJob& job) {
  {
    std::lock_guard lock(mu_);
    current_.emplace(partition, job);
    claim_lost_ = false;
  }
  std::optional<int64_t> retry_at = job.user_id == 0 ? SendMessages(partition, job) : SendClear(job);
  {
    std::lock_guard lock(mu_);
    current_.reset();
  }
  if (Stopping() || !retry_at || ClaimLost()) return;  // the lease ends (or ended) and the job runs again
  Status st = OkStatus();
  if (*retry_at != 0 && job.attempts + 1 < options_.max_attempts) {
    st = WriteSync<Ok>(store_, partition,
                       [job, at = *retry_at](ConversationTxn& txn) { return txn.RetryPushJob(job, at); });
  } else {
    if (*retry_at != 0) {
      spdlog::warn("push: giving up on conversation {} after {} attempts", job.conversation_id, job.attempts + 1);
    }
    // Messages that came while this one was sent wait like any other.
    int64_t next_due = clock_.NowMs() + options_.delay_ms;
    st = WriteSync<Ok>(store_, partition,
                       [job, next_due](ConversationTxn& txn) { return txn.FinishPushJob(job, next_due); });
  }
  if (!st.ok()) spdlog::warn("push: recording job {}: {}", job.id, st.error().message);
}

Result<std::unordered_map<UserId, int64_t>> PushWorker::Unread(std::vector<UserId> users) {
  std::unordered_map<UserId, int64_t> total;
  for (int p = 0; p < store_.Partitions(); ++p) {
    // `users` by value: a read that outlives its wait must not point here.
    auto counts =
        ReadSync<std::vector<int64_t>>(store_, p, [users](ConversationTxn& txn) -> Result<std::vector<int64_t>> {
          std::vector<int64_t> out;
          out.reserve(users.size());
          for (UserId u : users) {
            NATTER_TRY(int64_t n, txn.CountUnread(u));
            out.push_back(n);
          }
          return out;
        });
    if (!counts.ok()) return counts.take_error();
    for (size_t i = 0; i < users.size(); ++i) total[users[i]] += (*counts)[i];
  }
  return total;
}

std::optional<int64_t> PushWorker::SendMessages(int partition, const PushJob& job) {
  struct Snapshot {
    std::optional<Conversation> conversation;
    std::vector<Message> messages;
    std::vector<PushRecipient> recipients;
  };
  auto snapshot = ReadSync<Snapshot>(store_, partition, [job](ConversationTxn& txn) -> Result<Snapshot> {
    Snapshot s;
    NATTER_TRY(s.conversation, txn.FindConversation(job.conversation_id));
    if (!s.conversation) return s;
    HistoryQuery q;
    q.conversation_id = job.conversation_id;
    q.before = job.last_seq + 1;
    q.limit = kMessagesPerJob;
    NATTER_TRY(s.messages, txn.History(q));
    std::erase_if(s.messages, [&job](const Message& m) { return m.seq < job.first_seq; });
    NATTER_TRY(s.recipients, txn.ListPushRecipients(job.conversation_id, job.last_seq));
    return s;
  });
  if (!snapshot.ok()) {
    spdlog::warn("push: reading conversation {}: {}", job.conversation_id, snapshot.error().message);
    return clock_.NowMs() + BackoffMs(job.attempts);
  }
  if (!snapshot->conversation) return 0;  // gone
  // Who blocked whom among them: a blocked sender alerts nobody who blocked
  // them (read now, so a block made after the message counts).
  std::set<UserId> senders;
  for (const Message& m : snapshot->messages) senders.insert(m.sender_id);
  std::vector<UserId> recipients;
  for (const PushRecipient& r : snapshot->recipients) recipients.push_back(r.user_id);
  auto blocked = ReadAccountsSync<std::set<std::pair<UserId, UserId>>>(
      store_, [&senders, &recipients](AccountsTxn& txn) -> Result<std::set<std::pair<UserId, UserId>>> {
        std::set<std::pair<UserId, UserId>> out;
        for (UserId sender : senders) {
          NATTER_TRY(auto blockers, txn.BlockersAmong(sender, recipients));
          for (UserId b : blockers) out.emplace(b, sender);
        }
        return out;
      });
  if (!blocked.ok()) return clock_.NowMs() + BackoffMs(job.attempts);
  std::vector<Due> due = DuePushes(snapshot->recipients, snapshot->messages, clock_.NowMs(), *blocked);
  if (due.empty()) return 0;
  // Senders' names, read once when a notification needs them; one not found
  // is named generically.
  std::optional<std::unordered_map<UserId, std::string>> names;
  auto sender_names = [&]() -> const std::unordered_map<UserId, std::string>& {
    if (names) return *names;
    std::vector<UserId> senders;
    for (const Message& m : snapshot->messages) senders.push_back(m.sender_id);
    auto found = ReadAccountsSync<std::unordered_map<UserId, std::string>>(
        store_, [senders](AccountsTxn& txn) -> Result<std::unordered_map<UserId, std::string>> {
          std::unordered_map<UserId, std::string> out;
          for (UserId id : senders) {
            if (out.contains(id)) continue;
            NATTER_TRY(auto user, txn.FindUser(id));
            if (user) out.emplace(id, user->handle);
          }
          return out;
        });
    names.emplace(found.ok() ? std::move(*found) : std::unordered_map<UserId, std::string>{});
    return *names;
  };

  int64_t retry_at = 0;
  size_t round = static_cast<size_t>(std::max(options_.members_per_round, 1));
  for (size_t start = 0; start < due.size(); start += round) {
    if (Stopping()) return std::nullopt;
    if (ClaimLost()) {
      spdlog::warn("push: lost the claim on conversation {}'s job; another worker sends the rest", job.conversation_id);
      return std::nullopt;
    }
    std::vector<Due> part(due.begin() + static_cast<std::ptrdiff_t>(start),
                          due.begin() + static_cast<std::ptrdiff_t>(std::min(due.size(), start + round)));
    std::vector<UserId> users;
    for (const Due& d : part) users.push_back(d.recipient.user_id);
    auto devices = ReadAccountsSync<std::vector<PushDevice>>(
        store_, [users](AccountsTxn& txn) { return txn.ListPushDevices(users); });
    if (!devices.ok()) return clock_.NowMs() + BackoffMs(job.attempts);
    // Devices that saw the message live need nothing: they are dropped before
    // anything is counted for them (most devices, while their users chat).
    std::unordered_map<UserId, int64_t> due_at_ms;
    for (const Due& d : part) due_at_ms[d.recipient.user_id] = d.message->created_at;
    std::erase_if(*devices, [this](const PushDevice& d) { return !providers_.Serves(d.platform); });
    if (devices->empty()) continue;
    int64_t alive = AliveNodes();
    std::erase_if(*devices, [&](const PushDevice& d) { return SawLive(d, due_at_ms[d.user_id], alive); });
    if (devices->empty()) continue;
    std::vector<UserId> with_devices;
    for (const PushDevice& d : *devices) {
      if (with_devices.empty() || with_devices.back() != d.user_id) with_devices.push_back(d.user_id);
    }
    auto unread = Unread(with_devices);
    if (!unread.ok()) return clock_.NowMs() + BackoffMs(job.attempts);
    PushContext ctx{&*snapshot->conversation, &*unread, &sender_names(), alive, clock_.NowMs()};
    std::vector<Outgoing> items = PlanPushes(part, *devices, ctx);
    if (items.empty()) continue;
    std::unordered_map<UserId, bool> alerted;
    int64_t again = Deliver(items, job.attempts, &alerted);
    if (again != 0) retry_at = std::max(retry_at, again);
    // Recorded per round, so a job run again after a crash or a retry skips them.
    std::vector<std::pair<UserId, Seq>> shown;
    for (const Due& d : part) {
      if (alerted.contains(d.recipient.user_id)) shown.emplace_back(d.recipient.user_id, d.message->seq);
    }
    if (shown.empty()) continue;
    auto st = WriteSync<Ok>(store_, partition, [c = job.conversation_id, shown](ConversationTxn& txn) -> Status {
      for (const auto& [user, seq] : shown) NATTER_RETURN_IF_ERROR(txn.MarkPushShown(c, user, seq));
      return OkStatus();
    });
    if (!st.ok())
      spdlog::warn("push: recording alerts of conversation {}: {}", job.conversation_id, st.error().message);
  }
  return retry_at;
}

int64_t PushWorker::SendClear(const PushJob& job) {
  auto devices = ReadAccountsSync<std::vector<PushDevice>>(
      store_, [user = job.user_id](AccountsTxn& txn) { return txn.ListPushDevices({user}); });
  if (!devices.ok()) return clock_.NowMs() + BackoffMs(job.attempts);
  std::erase_if(*devices, [this](const PushDevice& d) { return !providers_.Serves(d.platform); });
  if (devices->empty()) return 0;
  auto unread = Unread({job.user_id});
  if (!unread.ok()) return clock_.NowMs() + BackoffMs(job.attempts);
  std::vector<Outgoing> items;
  for (const PushDevice& d : *devices) {
    items.push_back(
        Outgoing{d, ClearNotification(job.conversation_id, job.last_seq, (*unread)[job.user_id], clock_.NowMs())});
  }
  return Deliver(items, job.attempts, nullptr);
}

int64_t PushWorker::Deliver(const std::vector<Outgoing>& items, int attempts,
                            std::unordered_map<UserId, bool>* alerted) {
  std::vector<Verdict> verdicts = providers_.Send(items, metrics_.push);
  int64_t retry_at = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    const PushDevice& d = items[i].device;
    auto provider = ops::PushMetrics::ProviderOf(d.platform);
    const Verdict& v = verdicts[i];
    bool alert = items[i].notification.kind == Notification::Kind::kAlert;
    switch (v.next) {
      case Verdict::Next::kSent:
        metrics_.push.Sent(provider);
        if (alerted && alert) (*alerted)[d.user_id] = true;
        break;
      case Verdict::Next::kDropDevice: {
        metrics_.push.Failed(provider, v.reason);
        auto st = WriteAccountsStatus(store_, [platform = d.platform, token = d.token](AccountsTxn& txn) -> Status {
          NATTER_TRY(bool gone, txn.DeletePushToken(platform, token));
          (void)gone;
          return OkStatus();
        });
        if (st.ok()) metrics_.push.Pruned(provider);
        spdlog::info("push: {} refused the token of session {} ({}); deleted", d.platform, d.session_id, v.reason);
        break;
      }
      case Verdict::Next::kRetry:
      case Verdict::Next::kRenewAuth: {
        metrics_.push.Retried(provider);
        int64_t wait = std::max<int64_t>(BackoffMs(attempts), v.retry_after.count() * 1000);
        retry_at = std::max(retry_at, clock_.NowMs() + wait);
        spdlog::info("push: {} for session {}: {}; again in {} ms", d.platform, d.session_id, v.reason, wait);
        break;
      }
      case Verdict::Next::kFail:
        metrics_.push.Failed(provider, v.reason);
        spdlog::warn("push: {} refused a notification for session {}: {}", d.platform, d.session_id, v.reason);
        break;
    }
  }
  return retry_at;
}

void PushWorker::RecordQueueState() {
  int64_t now = clock_.NowMs();
  if (now - last_queue_check_ms_ < 1000) return;
  last_queue_check_ms_ = now;
  int64_t depth = 0, oldest = 0;
  for (int p = 0; p < store_.Partitions(); ++p) {
    auto stats = ReadSync<PushQueueStats>(store_, p, [](ConversationTxn& txn) { return txn.GetPushQueueStats(); });
    if (!stats.ok()) continue;
    depth += stats->depth;
    if (stats->oldest_due_at != 0 && (oldest == 0 || stats->oldest_due_at < oldest)) oldest = stats->oldest_due_at;
  }
  metrics_.push.QueueState(depth, oldest == 0 ? 0 : std::max<int64_t>(now - oldest, 0));
}

}  // namespace natter::push
