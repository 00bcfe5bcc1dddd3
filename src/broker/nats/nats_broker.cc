#include "broker/nats/nats_broker.h"
#include "common/guarded.h"
#include "common/mutex.h"

#include <nats/nats.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <new>
#include <optional>
#include <random>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "broker/nats/event_codec.h"
#include "broker/nats/interest_table.h"
#include "broker/nats/log_throttle.h"
#include "broker/nats/recent_ids.h"
#include "broker/nats/subjects.h"

namespace natter {
namespace {

using namespace std::chrono_literals;
using nats::InterestChange;

// Copies of one event arrive within moments of each other.
constexpr size_t kRecentIds = 4096;
// The NATS header that carries the id of the request that caused an event.
constexpr const char* kRequestIdHeader = "Natter-Request-Id";
// What libnats may hold while the link is down. Publish() drops events itself
// when not connected, so this only takes what raced with the break; libnats
// would otherwise default to 8 MB.
constexpr int kReconnectBufferBytes = 256 * 1024;
// Per subscription, what may wait for delivery to the sink before libnats
// drops messages and reports a slow consumer.
constexpr int kPendingMessages = 10'000;
constexpr int kPendingBytes = 16 * 1024 * 1024;
constexpr int64_t kDrainTimeoutMs = 2000;
constexpr int64_t kInterestFlushTimeoutMs = 1000;  // bounded: NATS may be slow or gone
// Longer than the drain, which closes the connection when it times out.
constexpr auto kCloseTimeout = 5s;
constexpr auto kLogInterval = 10s;

std::string ConnectedUrl(natsConnection* nc) {
  char url[256] = {0};
  if (natsConnection_GetConnectedUrl(nc, url, sizeof(url)) != NATS_OK) return "?";
  return url;
}

uint64_t RandomIdBase() {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

// Everything libnats's callbacks touch. Owned through a shared_ptr so that a
// lister answering after the broker is gone finds nothing, not freed memory.
class Core : public std::enable_shared_from_this<Core> {
 public:
  Core(NatsBrokerOptions options, EventSink& sink, ConversationLister lister)
      : options_(std::move(options)), sink_(sink), lister_(std::move(lister)), id_base_(RandomIdBase()) {}
  ~Core() {
    if (control_.joinable()) {  // Shutdown() never ran (a failed start)
      {
        MutexLock lock(control_mu_);
        control_stop_ = true;
      }
      control_cv_.notify_all();
      control_.join();
    }
    if (conn_ != nullptr) natsConnection_Destroy(conn_);
    if (nats_options_ != nullptr) natsOptions_Destroy(nats_options_);
  }

  // Sets up the connection; throws on unusable options.
  void Connect();
  // Drains and closes. True once no libnats callback can run any more; false
  // if that was not seen in time (the Core must then never be freed).
  bool Shutdown();

  void Publish(const Event& event);
  void UserOnline(UserId user, std::function<void()> ready);
  void UserOffline(UserId user);
  std::string State() const;

 private:
  // libnats's callbacks; `closure` is the Core.
  static void OnMessage(natsConnection*, natsSubscription*, natsMsg* msg, void* closure);
  static void OnSubscriptionDone(void* closure);
  static void OnConnected(natsConnection* nc, void* closure);
  static void OnDisconnected(natsConnection* nc, void* closure);
  static void OnReconnected(natsConnection* nc, void* closure);
  static void OnClosed(natsConnection* nc, void* closure);
  static void OnError(natsConnection* nc, natsSubscription* sub, natsStatus err, void* closure);

  // `request`: the id in the message's header, if any.
  void Received(std::string_view bytes, RequestId request);
  // Publishes an encoded event, with the request id (if any) as a header.
  natsStatus PublishWire(const std::string& subject, const std::string& wire, const RequestId& request);
  // On the control thread: follows the listed conversations; `ready` runs
  // once the server has the subscriptions.
  void ListerAnswered(UserId user, uint64_t generation, Result<std::vector<ConversationId>> answer,
                      std::function<void()> ready);
  // Interest work runs on one control thread, off the I/O threads: a user's
  // subscriptions, and the round trip that makes sure the server has them
  // (one round trip for everything queued together).
  void Post(std::function<void()> task);
  // Runs `task` on the control thread after its next round trip to the
  // server; at once (on the caller's thread) once the control thread stops.
  void AfterFlush(std::function<void()> task);
  void ControlLoop();
  // For the events of a membership change: local users among the recipients
  // start listening on the conversation it belongs to or announces. Those
  // who hold a conversation the node began to listen on here go to `late`.
  void JoinRecipients(const Event& event, std::optional<ConversationId> announced, InterestChange& change,
                      std::vector<UserId>& late) REQUIRES(mu_);
  // Once the server has the subscriptions made for `late`, tells the sink:
  // events other nodes published before then did not arrive here. Users
  // added before the control thread takes them share one flush and one call.
  void TellFollowedLate(const std::vector<UserId>& late);
  // Makes the subscriptions match the change.
  void Apply(const InterestChange& change) REQUIRES(mu_);
  void LinkUp(natsConnection* nc, const char* how);

  const NatsBrokerOptions options_;
  EventSink& sink_;
  const ConversationLister lister_;
  natsOptions* nats_options_ = nullptr;
  natsConnection* conn_ = nullptr;
  // Event ids: random per node, so ids from different nodes do not collide.
  const uint64_t id_base_;
  std::atomic<uint64_t> next_id_{0};
  // Set if Shutdown() gave up waiting: late callbacks then leave the sink alone.
  std::atomic<bool> abandoned_{false};

  mutable Mutex mu_;
  std::condition_variable cv_;
  bool closing_ GUARDED_BY(mu_) = false;
  bool closed_ GUARDED_BY(mu_) = false;
  int open_subscriptions_ GUARDED_BY(mu_) = 0;  // with a completion callback still to come
  nats::InterestTable interest_ GUARDED_BY(mu_);
  std::unordered_map<std::string, natsSubscription*> subscriptions_ GUARDED_BY(mu_);
  nats::RecentIds recent_ GUARDED_BY(mu_){kRecentIds};
  // Users to tell FollowedLate, and whether a control task will take them.
  std::unordered_set<UserId> late_ GUARDED_BY(mu_);
  bool late_queued_ GUARDED_BY(mu_) = false;

  std::thread control_;
  Mutex control_mu_;
  std::condition_variable control_cv_;
  std::deque<std::function<void()>> control_queue_ GUARDED_BY(control_mu_);
  bool control_stop_ GUARDED_BY(control_mu_) = false;
  // What runs after the next round trip to the server. Once the control
  // thread is stopping, AfterFlush runs its task at once instead.
  std::vector<std::function<void()>> after_flush_ GUARDED_BY(control_mu_);

  nats::LogThrottle bad_input_log_{kLogInterval};
  nats::LogThrottle publish_log_{kLogInterval};
  nats::LogThrottle error_log_{kLogInterval};
};

void Core::Connect() {
  if (options_.servers.empty()) throw std::invalid_argument("nats broker: no servers configured");
  if (options_.reconnect_wait_ms <= 0) throw std::invalid_argument("nats broker: reconnect wait must be positive");
  auto check = [](natsStatus s, const char* what) {
    if (s != NATS_OK) throw std::runtime_error(std::string("nats broker: ") + what + ": " + natsStatus_GetText(s));
  };
  check(natsOptions_Create(&nats_options_), "options");
  std::vector<const char*> urls;
  urls.reserve(options_.servers.size());
  for (const auto& s : options_.servers) urls.push_back(s.c_str());
  check(natsOptions_SetServers(nats_options_, urls.data(), static_cast<int>(urls.size())), "servers");
  if (!options_.name.empty()) check(natsOptions_SetName(nats_options_, options_.name.c_str()), "name");
  check(natsOptions_SetNoEcho(nats_options_, true), "no echo");
  check(natsOptions_SetAllowReconnect(nats_options_, true), "reconnect");
  check(natsOptions_SetMaxReconnect(nats_options_, -1), "max reconnect");  // negative: for ever
  check(natsOptions_SetReconnectWait(nats_options_, options_.reconnect_wait_ms), "reconnect wait");
  check(natsOptions_SetReconnectBufSize(nats_options_, kReconnectBufferBytes), "reconnect buffer");
  // With a callback, a first connect that fails returns at once and goes on
  // trying in the background: the node starts without NATS.
  check(natsOptions_SetRetryOnFailedConnect(nats_options_, true, &Core::OnConnected, this), "retry connect");
  check(natsOptions_SetDisconnectedCB(nats_options_, &Core::OnDisconnected, this), "disconnected callback");
  check(natsOptions_SetReconnectedCB(nats_options_, &Core::OnReconnected, this), "reconnected callback");
  check(natsOptions_SetClosedCB(nats_options_, &Core::OnClosed, this), "closed callback");
  check(natsOptions_SetErrorHandler(nats_options_, &Core::OnError, this), "error handler");
  // One subscription per online user and conversation: a thread each would
  // not scale, so libnats's shared delivery pool runs the handlers.
  check(natsOptions_UseGlobalMessageDelivery(nats_options_, true), "global delivery");

  natsStatus s = natsConnection_Connect(&conn_, nats_options_);
  if (s == NATS_OK) {
    spdlog::info("nats broker: connected to {}", ConnectedUrl(conn_));
  } else if (s == NATS_NOT_YET_CONNECTED) {
    spdlog::warn("nats broker: NATS unreachable; events stay on this node until it connects (retrying every {} ms)",
                 options_.reconnect_wait_ms);
  } else {
    conn_ = nullptr;
    check(s, "connect");
  }
  // Logouts reach every node, whoever is online where.
  MutexLock lock(mu_);
  InterestChange always;
  always.subscribe.push_back(nats::SessionsSubject());
  always.subscribe.push_back(nats::LostSubject());
  Apply(always);
  control_ = std::thread([this] { ControlLoop(); });
}

void Core::Post(std::function<void()> task) {
  {
    MutexLock lock(control_mu_);
    if (!control_stop_) {
      control_queue_.push_back(std::move(task));
      control_cv_.notify_one();
      return;
    }
  }
  task();  // shutting down: the task sees closing_ and only answers
}

void Core::AfterFlush(std::function<void()> task) {
  {
    MutexLock lock(control_mu_);
    if (!control_stop_) {
      after_flush_.push_back(std::move(task));
      return;
    }
  }
  // Stopping: tasks Post runs inline come here from other threads (a store
  // reader answering the lister), and the control thread may be draining the
  // list; nothing would run what is added now.
  task();
}

void Core::ControlLoop() {
  for (;;) {
    std::deque<std::function<void()>> tasks;
    {
      MutexLock lock(control_mu_);
      lock.Wait(control_cv_, [&]() REQUIRES(control_mu_) { return control_stop_ || !control_queue_.empty(); });
      if (control_queue_.empty() && after_flush_.empty()) return;  // stopping and drained
      tasks.swap(control_queue_);
    }
    for (auto& task : tasks) RunCatching("nats broker control", task);
    std::vector<std::function<void()>> continuations;
    {
      MutexLock lock(control_mu_);
      continuations.swap(after_flush_);
    }
    if (continuations.empty()) continue;
    if (natsConnection_Status(conn_) == NATS_CONN_STATUS_CONNECTED) {
      auto started = std::chrono::steady_clock::now();
      natsStatus flushed = natsConnection_FlushTimeout(conn_, kInterestFlushTimeoutMs);
      if (flushed == NATS_OK && options_.on_round_trip) {
        options_.on_round_trip(
            std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count());
      }
    }
    for (auto& next : continuations) RunCatching("nats broker control", next);
  }
}

bool Core::Shutdown() {
  {
    MutexLock lock(mu_);
    closing_ = true;  // no subscription changes from here on
  }
  {
    MutexLock lock(control_mu_);
    control_stop_ = true;
  }
  control_cv_.notify_all();
  if (control_.joinable()) control_.join();
  // Draining lets messages already received reach the sink and flushes what
  // was published; without a live link there is nothing to drain.
  if (natsConnection_DrainTimeout(conn_, kDrainTimeoutMs) != NATS_OK) natsConnection_Close(conn_);
  MutexLock lock(mu_);
  bool clean = lock.WaitFor(cv_, kCloseTimeout, [&]() REQUIRES(mu_) { return closed_ && open_subscriptions_ == 0; });
  for (auto& [subject, sub] : subscriptions_) natsSubscription_Destroy(sub);
  subscriptions_.clear();
  if (!clean) abandoned_ = true;
  return clean;
}

void Core::Publish(const Event& event) {
  // Local recipients first, whatever the state of the link.
  sink_.Deliver(event);
  std::optional<ConversationId> announced;
  if (event.payload) announced = nats::ConversationFrameId(*event.payload);
  // Its own members are not told to sync: the subscriptions go out before
  // the event on this connection, so the server has them before any other
  // node can hear of the conversation.
  std::vector<UserId> late;
  {
    MutexLock lock(mu_);
    if (closing_) return;
    InterestChange change;
    JoinRecipients(event, announced, change, late);
    Apply(change);
  }
  std::vector<std::string> subjects = nats::SubjectsFor(event, announced);
  if (subjects.empty()) return;
  uint64_t suppressed = 0;
  // Presence and other per-user events go to each recipient alone: with the
  // whole recipient list in every copy, a user with many contacts would cost
  // the square of their number in bytes. Each copy has its own id, so a node
  // holding several of them delivers each.
  bool per_user = event.conversation_id == 0 && !announced && event.revoke_session == 0 && event.recipients.size() > 1;
  if (natsConnection_Status(conn_) != NATS_CONN_STATUS_CONNECTED) {
    // Dropped, not queued: other nodes catch up by sync once the link is back.
    if (publish_log_.Allow(suppressed)) {
      spdlog::debug("nats broker: not connected, event not sent to other nodes (+{} more)", suppressed);
    }
    return;
  }
  if (per_user) {
    Event copy = event;
    for (const auto& r : event.recipients) {
      copy.recipients.assign(1, r);
      Result<std::string> wire = nats::EncodeEvent(id_base_ + next_id_.fetch_add(1), copy);
      if (!wire.ok()) continue;
      std::string subject = nats::UserSubject(r.user);
      natsStatus s = PublishWire(subject, *wire, event.request_id);
      if (s != NATS_OK && publish_log_.Allow(suppressed)) {
        spdlog::warn("nats broker: publish to {} failed: {} (+{} more)", subject, natsStatus_GetText(s), suppressed);
      }
    }
    return;
  }
  Result<std::string> wire = nats::EncodeEvent(id_base_ + next_id_.fetch_add(1), event);
  if (!wire.ok()) {
    if (publish_log_.Allow(suppressed)) {
      spdlog::warn("nats broker: event not sent: {} (+{} more)", wire.error().message, suppressed);
    }
    return;
  }
  for (const auto& subject : subjects) {
    natsStatus s = PublishWire(subject, *wire, event.request_id);
    if (s != NATS_OK && publish_log_.Allow(suppressed)) {
      spdlog::warn("nats broker: publish to {} failed: {} (+{} more)", subject, natsStatus_GetText(s), suppressed);
    }
  }
}

void Core::UserOnline(UserId user, std::function<void()> ready) {
  Post([this, user, ready = std::move(ready)]() mutable {
    uint64_t generation = 0;
    bool first = false;
    {
      MutexLock lock(mu_);
      if (!closing_) {
        InterestChange change;
        generation = interest_.UserOnline(user, change);
        Apply(change);
        first = !change.subscribe.empty();
      }
    }
    if (!first) {  // already followed here, or shutting down
      if (ready) ready();
      return;
    }
    // List the conversations only once the server has the user's own
    // subject: a conversation created after the list is read announces
    // itself there, so none falls between the two.
    AfterFlush([this, user, generation, ready = std::move(ready)]() mutable {
      std::weak_ptr<Core> weak = weak_from_this();
      lister_(user,
              [weak, user, generation, ready = std::move(ready)](Result<std::vector<ConversationId>> answer) mutable {
                auto core = weak.lock();
                if (!core) {
                  if (ready) ready();
                  return;
                }
                core->Post([core, user, generation, answer = std::move(answer), ready = std::move(ready)]() mutable {
                  core->ListerAnswered(user, generation, std::move(answer), std::move(ready));
                });
              });
    });
  });
}

void Core::ListerAnswered(UserId user, uint64_t generation, Result<std::vector<ConversationId>> answer,
                          std::function<void()> ready) {
  if (!answer.ok()) {
    // The user still gets what is sent to them directly and what other local
    // members' subscriptions bring; the rest reaches them by sync.
    spdlog::warn("nats broker: cannot list the conversations of user {}: {}", user, answer.error().message);
  } else {
    MutexLock lock(mu_);
    if (!closing_) {
      InterestChange change;
      for (ConversationId c : *answer) interest_.Join(user, c, change, generation);
      Apply(change);
    }
  }
  if (ready) AfterFlush(std::move(ready));
}

void Core::UserOffline(UserId user) {
  Post([this, user] {
    MutexLock lock(mu_);
    if (closing_) return;
    InterestChange change;
    interest_.UserOffline(user, change);
    Apply(change);
  });
}

std::string Core::State() const {
  switch (natsConnection_Status(conn_)) {
    case NATS_CONN_STATUS_CONNECTED:
    case NATS_CONN_STATUS_DRAINING_SUBS:
    case NATS_CONN_STATUS_DRAINING_PUBS:
      return "connected";
    case NATS_CONN_STATUS_CONNECTING:
    case NATS_CONN_STATUS_RECONNECTING:
      return "reconnecting";
    default:
      return "disconnected";
  }
}

void Core::JoinRecipients(const Event& event, std::optional<ConversationId> announced, InterestChange& change,
                          std::vector<UserId>& late) {
  // A new member is not listening on the conversation yet; the events of the
  // change that added them (the conversation frame, and the membership events
  // sent to each recipient) are the first this node hears of it. The listing
  // at connect covers every other conversation, so other events skip this: a
  // message to 1,000 members would cost 1,000 lookups under the lock. Join()
  // does nothing for users not online here or already listening.
  if (!announced && !event.to_each_recipient) return;
  std::vector<std::pair<UserId, ConversationId>> held;  // joined where the node listened already
  std::vector<ConversationId> subscribed;
  const ConversationId conversations[] = {announced.value_or(0), event.conversation_id};
  for (const auto& r : event.recipients) {
    for (ConversationId c : conversations) {
      nats::Joined joined = interest_.Join(r.user, c, change);  // nothing for 0
      if (joined == nats::Joined::kSubscribed) {
        subscribed.push_back(c);
        late.push_back(r.user);
      } else if (joined == nats::Joined::kHeld) {
        held.emplace_back(r.user, c);
      }
    }
  }
  // Other local members who joined a conversation subscribed just now missed
  // what the first did.
  for (const auto& [user, c] : held) {
    if (std::find(subscribed.begin(), subscribed.end(), c) != subscribed.end()) late.push_back(user);
  }
}

void Core::TellFollowedLate(const std::vector<UserId>& late) {
  // Another node may have committed events in the conversation, and published
  // them, before this node listened: a message sent right after the
  // conversation was made, or after these users were added. The store has
  // them all; a sync after the subscription is in place misses none.
  if (late.empty()) return;
  {
    MutexLock lock(mu_);
    late_.insert(late.begin(), late.end());
    if (late_queued_) return;  // the queued task takes these too
    late_queued_ = true;
  }
  // A control task: the control thread flushes after its tasks, then runs
  // what they left for after the flush. Whoever it takes was subscribed
  // before it ran.
  Post([this] {
    std::vector<UserId> users;
    {
      MutexLock lock(mu_);
      users.assign(late_.begin(), late_.end());
      late_.clear();
      late_queued_ = false;
    }
    AfterFlush([this, users = std::move(users)] {
      if (!abandoned_) sink_.FollowedLate(users);
    });
  });
}

void Core::Apply(const InterestChange& change) {
  for (const auto& subject : change.subscribe) {
    natsSubscription* sub = nullptr;
    natsStatus s = natsConnection_Subscribe(&sub, conn_, subject.c_str(), &Core::OnMessage, this);
    if (s != NATS_OK) {
      spdlog::warn("nats broker: cannot subscribe to {}: {}", subject, natsStatus_GetText(s));
      continue;
    }
    natsSubscription_SetPendingLimits(sub, kPendingMessages, kPendingBytes);
    // Shutdown waits for this callback: after it, the handler never runs again.
    if (natsSubscription_SetOnCompleteCB(sub, &Core::OnSubscriptionDone, this) == NATS_OK) ++open_subscriptions_;
    subscriptions_[subject] = sub;
  }
  for (const auto& subject : change.unsubscribe) {
    auto it = subscriptions_.find(subject);
    if (it == subscriptions_.end()) continue;
    natsSubscription_Unsubscribe(it->second);
    natsSubscription_Destroy(it->second);
    subscriptions_.erase(it);
  }
}

natsStatus Core::PublishWire(const std::string& subject, const std::string& wire, const RequestId& request) {
  if (request.empty())
    return natsConnection_Publish(conn_, subject.c_str(), wire.data(), static_cast<int>(wire.size()));
  // The request id rides in a header, outside the event's own bytes: a node of
  // an older version ignores headers, so a rolling upgrade keeps events flowing.
  natsMsg* msg = nullptr;
  natsStatus s = natsMsg_Create(&msg, subject.c_str(), nullptr, wire.data(), static_cast<int>(wire.size()));
  if (s == NATS_OK) s = natsMsgHeader_Set(msg, kRequestIdHeader, request.Hex().c_str());
  if (s == NATS_OK) s = natsConnection_PublishMsg(conn_, msg);
  natsMsg_Destroy(msg);
  return s;
}

void Core::Received(std::string_view bytes, RequestId request) {
  Result<nats::WireEvent> decoded = nats::DecodeEvent(bytes);
  if (!decoded.ok()) {
    uint64_t suppressed = 0;
    if (bad_input_log_.Allow(suppressed)) {
      spdlog::warn("nats broker: dropped a bad message ({}; +{} more)", decoded.error().message, suppressed);
    }
    return;
  }
  Event& event = decoded->event;
  event.request_id = request;
  std::optional<ConversationId> announced;
  if (event.payload) announced = nats::ConversationFrameId(*event.payload);
  std::vector<UserId> late;
  {
    MutexLock lock(mu_);
    if (!recent_.Insert(decoded->id)) return;  // a copy from another subject
    if (!closing_) {
      InterestChange change;
      JoinRecipients(event, announced, change, late);
      Apply(change);
    }
  }
  if (!abandoned_) sink_.Deliver(event);
  TellFollowedLate(late);
}

void Core::LinkUp(natsConnection* nc, const char* how) {
  spdlog::info("nats broker: {} {}; clients resync what they missed", how, ConnectedUrl(nc));
  if (abandoned_) return;
  sink_.EventsMayBeLost();
  // What this node published while its link was down reached no other node:
  // their clients must sync too.
  std::string lost = nats::LostSubject();
  natsConnection_Publish(nc, lost.c_str(), "", 0);
}

void Core::OnMessage(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  auto* core = static_cast<Core*>(closure);
  // A libnats delivery thread: nothing may escape into C.
  RunCatching("nats broker delivery", [&] {
    if (nats::LostSubject() == natsMsg_GetSubject(msg)) {
      if (!core->abandoned_) core->sink_.EventsMayBeLost();
    } else {
      RequestId request;
      const char* header = nullptr;
      if (natsMsgHeader_Get(msg, kRequestIdHeader, &header) == NATS_OK && header != nullptr) {
        request = ParseRequestIdHex(header).value_or(RequestId{});
      }
      core->Received(std::string_view(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg))), request);
    }
  });
  natsMsg_Destroy(msg);
}

void Core::OnSubscriptionDone(void* closure) {
  auto* core = static_cast<Core*>(closure);
  MutexLock lock(core->mu_);
  --core->open_subscriptions_;
  core->cv_.notify_all();
}

// Only for a first connect that had to be retried: events from other nodes
// were missed meanwhile.
void Core::OnConnected(natsConnection* nc, void* closure) { static_cast<Core*>(closure)->LinkUp(nc, "connected to"); }

void Core::OnReconnected(natsConnection* nc, void* closure) {
  static_cast<Core*>(closure)->LinkUp(nc, "reconnected to");
}

void Core::OnDisconnected(natsConnection*, void* closure) {
  auto* core = static_cast<Core*>(closure);
  {
    MutexLock lock(core->mu_);
    if (core->closing_) return;  // our own close, not a failure
  }
  spdlog::warn("nats broker: lost the NATS link; reconnecting every {} ms, events stay on this node meanwhile",
               core->options_.reconnect_wait_ms);
}

void Core::OnClosed(natsConnection*, void* closure) {
  auto* core = static_cast<Core*>(closure);
  MutexLock lock(core->mu_);
  core->closed_ = true;
  core->cv_.notify_all();
}

void Core::OnError(natsConnection*, natsSubscription* sub, natsStatus err, void* closure) {
  auto* core = static_cast<Core*>(closure);
  uint64_t suppressed = 0;
  if (core->error_log_.Allow(suppressed)) {
    spdlog::warn("nats broker: {} (+{} more)", natsStatus_GetText(err), suppressed);
  }
  // Messages were dropped before reaching the sink: clients must resync.
  if (err == NATS_SLOW_CONSUMER && !core->abandoned_) core->sink_.EventsMayBeLost();
}

class NatsBroker final : public Broker {
 public:
  explicit NatsBroker(std::shared_ptr<Core> core) : core_(std::move(core)) {}
  ~NatsBroker() override {
    if (!core_->Shutdown()) {
      spdlog::error(
          "nats broker: connection did not close in time; leaking its state rather than risk a late callback");
      new (std::nothrow) std::shared_ptr<Core>(core_);  // deliberately never freed
    }
  }

  void Publish(Event event) override {
    core_->Publish(event);
  }  // NOLINT(performance-unnecessary-value-param): the Broker interface
  void UserOnline(UserId user, std::function<void()> ready) override { core_->UserOnline(user, std::move(ready)); }
  void UserOffline(UserId user) override { core_->UserOffline(user); }
  std::string State() const override { return core_->State(); }

 private:
  std::shared_ptr<Core> core_;
};

}  // namespace

std::unique_ptr<Broker> MakeNatsBroker(const NatsBrokerOptions& options, EventSink& sink, ConversationLister lister) {
  if (!lister) throw std::invalid_argument("nats broker: a conversation lister is required");
  auto core = std::make_shared<Core>(options, sink, std::move(lister));
  core->Connect();
  return std::make_unique<NatsBroker>(std::move(core));
}

}  // namespace natter
