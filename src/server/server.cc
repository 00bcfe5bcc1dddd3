#include "server/server.h"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>

#include "api/dispatcher.h"
#include "api/method_table.h"
#include "api/webhook_body.h"
#include "auth/key_ring.h"
#include "broker/broker.h"
#include "broker/nats/nats_broker.h"
#include "common/data_dir_lock.h"
#include "common/private_files.h"
#include "common/request_id.h"
#include "common/version.h"
#include "gateway/hub.h"
#include "gateway/listener.h"
#include "gateway/tls_transport.h"
#include "gateway/ws/frame.h"
#include "hooks/presend_hook.h"
#include "hooks/webhook_worker.h"
#include "media/media_service.h"
#include "ops/crash_report_review.h"
#include "ops/heap_trimmer.h"
#include "ops/log_event.h"
#include "presence/presence_service.h"
#include "push/device_liveness.h"
#include "push/push_worker.h"
#include "server/config_reload.h"
#include "server/data_files.h"
#include "store/store.h"
#include "store/store_waits.h"

namespace natter::server {
namespace {

// The longest shutdown waits for the workers at each step, whatever clients do.
constexpr auto kShutdownStepTimeout = std::chrono::seconds(2);

// Where the broker hands events: the gateway's hub. A logout on any node also
// ends the session's access tokens on this one.
class NodeSink final : public EventSink {
 public:
  NodeSink(gateway::Hub& hub, accounts::AccountService& accounts) : hub_(hub), accounts_(accounts) {}
  void Deliver(const Event& event) override {
    // Whoever reads this node's log finds the request that caused the event
    // by its id, also when it was made on another node.
    ScopedRequestId scope(event.request_id);
    if (ops::LogEnabled(spdlog::level::debug)) {
      ops::LogEvent(spdlog::level::debug, "event_delivered",
                    ops::LogFields()
                        .Int("conversation", event.conversation_id)
                        .Int("seq", event.seq)
                        .Int("recipients", static_cast<int64_t>(event.recipients.size())));
    }
    if (event.revoke_session != 0) accounts_.ForgetSession(event.revoke_session);
    hub_.Deliver(event);
  }
  void EventsMayBeLost() override { hub_.EventsMayBeLost(); }
  void FollowedLate(const std::vector<UserId>& users) override { hub_.FollowedLate(users); }

 private:
  gateway::Hub& hub_;
  accounts::AccountService& accounts_;
};

// The conversations a user belongs to, from every partition (a partition that
// is down leaves its conversations out; their events come with the next sync).
ConversationLister ListConversationsOf(Store& store) {
  return [&store](UserId user, std::function<void(Result<std::vector<ConversationId>>)> done) {
    // The broker's callback only posts the answer to its own thread.
    store.ReadEach<std::vector<ConversationId>>(
        InlineExecutor(), [user](ConversationTxn& txn, int) { return txn.ListConversationIds(user); },
        [done = std::move(done)](std::vector<Result<std::vector<ConversationId>>> parts) {
          done(JoinAnswered(std::move(parts)));
        });
  };
}

// Runs `check` on each worker's own thread (it may read the worker's state)
// until every worker answers true, or `deadline` passes; true if all did.
// Each round also waits for everything posted to the workers before it.
bool UntilEveryWorker(const std::vector<std::unique_ptr<gateway::Worker>>& workers,
                      const std::function<bool(gateway::Worker&)>& check,
                      std::chrono::steady_clock::time_point deadline) {
  struct Round {
    std::mutex mu;
    std::condition_variable cv;
    size_t answered = 0;
    bool all = true;
  };
  for (;;) {
    auto round = std::make_shared<Round>();
    for (auto& w : workers) {
      gateway::Worker* worker = w.get();
      boost::asio::post(worker->context(), [round, worker, check] {
        bool yes = check(*worker);
        std::lock_guard lock(round->mu);
        round->all = round->all && yes;
        ++round->answered;
        round->cv.notify_all();
      });
    }
    std::unique_lock lock(round->mu);
    if (!round->cv.wait_until(lock, deadline, [&] { return round->answered == workers.size(); })) return false;
    if (round->all) return true;
    lock.unlock();
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// What a store writer reports of each batch, into the metrics.
std::function<void(size_t, int64_t)> CommitObserver(ops::Metrics& metrics) {
  return [&metrics](size_t ops, int64_t us) {
    metrics.store_commit_latency.Observe(us);
    metrics.store_commit_batch.Observe(static_cast<int64_t>(ops));
  };
}

}  // namespace

struct Server::Parts {
  // First, so it is released last: after the store has closed its files.
  std::unique_ptr<DataDirLock> data_lock;
  SystemClock clock;
  std::unique_ptr<IdGenerator> ids;
  std::unique_ptr<Store> store;
  std::unique_ptr<auth::KeyRing> keys;
  std::unique_ptr<auth::AccessTokenCodec> tokens;
  std::unique_ptr<ThreadPool> hash_pool;
  std::unique_ptr<accounts::AccountService> accounts;
  std::shared_ptr<const auth::ExternalTokenVerifier> external;  // null: auth.external is off
  ops::Metrics metrics;
  std::unique_ptr<ops::HeapTrimmer> heap_trimmer;  // ticked by `process`, so declared before it
  std::unique_ptr<ops::ProcessSampler> process;
  std::unique_ptr<gateway::RequestLimiter> limiter;
  std::vector<std::unique_ptr<gateway::Worker>> workers;
  std::unique_ptr<gateway::Hub> hub;
  std::unique_ptr<NodeSink> sink;
  std::unique_ptr<Broker> broker;
  std::unique_ptr<presence::PresenceService> presence;
  std::unique_ptr<push::PushProviders> push_providers;  // null: push off
  std::unique_ptr<push::DeviceLiveness> liveness;
  std::unique_ptr<push::PushWorker> push_worker;
  std::unique_ptr<hooks::WebhookWorker> webhooks;  // null: no webhook URL
  std::unique_ptr<hooks::PresendHook> presend;     // null: no pre-send URL
  std::unique_ptr<media::MediaService> media;      // null in a cluster
  std::unique_ptr<api::Dispatcher> dispatcher;
  std::unique_ptr<gateway::HttpDeps> http_deps;
  std::unique_ptr<gateway::Listener> listener;
  std::atomic<bool> ready{false};
};

Server::Server(Config config) : config_(std::move(config)), parts_(std::make_unique<Parts>()) {}

Server::~Server() { Stop(); }

uint16_t Server::Start() {
  auto& p = *parts_;
  if (!MakePrivateDirectory(config_.data_dir)) {
    spdlog::warn("data directory {} may be read by other users; natterd keeps its own files in it 0600",
                 config_.data_dir);
  }
  p.data_lock = std::make_unique<DataDirLock>(config_.data_dir);
  auto crashes = ops::ReviewCrashReports(config_.data_dir + "/" + kCrashDir, config_.crash_reports_keep);
  p.metrics.crash_reports_found = crashes.found;
  p.metrics.crash_reports_kept = crashes.kept;
  p.ids = std::make_unique<IdGenerator>(p.clock, config_.node_id);
  config_.gateway.node_id = config_.node_id;
  if (config_.postgres.empty()) {
    std::filesystem::path db = std::filesystem::path(config_.data_dir) / kDatabaseFile;
    // Signing keys without a database: the database was there and is gone
    // (deleted, a volume not mounted). Starting empty would look healthy and
    // lose every account and message: only the operator may choose that.
    if (config_.jwt_keys.empty() && auth::KeyRing::ExistsIn(config_.data_dir) && !std::filesystem::exists(db) &&
        !config_.create_database) {
      throw std::runtime_error(
          "the data directory " + config_.data_dir +
          " holds signing keys but no natter.db: its database is missing (deleted, moved, or a "
          "volume not mounted?). Restore it, or pass --create-database to start with an empty one");
    }
    SqliteOptions options{db.string()};
    options.wal_limit_bytes = config_.wal_limit_mb << 20;
    options.on_commit = CommitObserver(p.metrics);
    options.on_sync = [&metrics = p.metrics](int64_t us) { metrics.store_sync_latency.Observe(us); };
    p.store = OpenSqliteStore(options);
  } else {
    PostgresOptions options;
    options.instances = config_.postgres;
    options.writer_threads = std::max(1, config_.postgres_writers);
    options.reader_threads = std::max(1, config_.postgres_readers);
    options.on_commit = CommitObserver(p.metrics);
    p.store = OpenPostgresStore(options);
    spdlog::info("store: {} PostgreSQL partition(s)", p.store->Partitions());
  }
  WarnOfUnclaimedOperators();
  if (config_.external.issuer.empty() != config_.external.public_key_file.empty() ||
      (!config_.external.issuer.empty() && config_.external.audience.empty())) {
    throw std::runtime_error(
        "--external-issuer, --external-key and --external-audience go together: a token made for another service "
        "of the same issuer must not open a session here");
  }
  if (!config_.external.issuer.empty()) {
    auto verifier = auth::ExternalTokenVerifier::Load(config_.external);
    if (!verifier.ok()) throw std::runtime_error("--external-key: " + verifier.error().message);
    p.external = std::move(*verifier);
    spdlog::info("auth.external: accepting tokens of {}", config_.external.issuer);
  }
  p.keys =
      std::make_unique<auth::KeyRing>(config_.jwt_keys.empty() ? auth::KeyRing::LoadOrCreate(config_.data_dir)
                                                               : auth::KeyRing::LoadOrCreateFile(config_.jwt_keys));
  auth::TokenPolicy policy;
  policy.ttl_seconds = config_.access_token_ttl_seconds;
  p.tokens = std::make_unique<auth::AccessTokenCodec>(*p.keys, policy);
  p.hash_pool = std::make_unique<ThreadPool>("hash", std::max(1, config_.hash_threads), 1024);
  p.metrics.version = Version();
  p.heap_trimmer = std::make_unique<ops::HeapTrimmer>(p.metrics.connections_total);
  p.process = std::make_unique<ops::ProcessSampler>(std::chrono::seconds(2),
                                                    [trimmer = p.heap_trimmer.get()] { trimmer->Tick(); });
  p.metrics.process = p.process.get();
  std::vector<std::string_view> method_names;
  for (const auto& method : api::Methods()) method_names.push_back(method.name);
  p.metrics.requests.SetMethodNames(std::move(method_names));
  p.metrics.queue_depths.emplace_back("store",
                                      [&store = *p.store] { return static_cast<int64_t>(store.QueuedWrites()); });
  // Logins wait in the accounts' fair queue (one per client address) before the hash pool.
  p.metrics.queue_depths.emplace_back(
      "hash", [&p] { return p.accounts ? static_cast<int64_t>(p.accounts->hashing().Queued()) : int64_t{0}; });
  using Seconds = std::chrono::duration<double>;
  p.metrics.queue_ages.emplace_back("store",
                                    [&store = *p.store] { return Seconds(store.OldestQueuedWrite()).count(); });
  p.metrics.queue_ages.emplace_back(
      "hash", [&p] { return p.accounts ? Seconds(p.accounts->hashing().OldestWait()).count() : 0.0; });
  // The media pools exist once media is set up (below); they are gone only after the workers.
  for (bool io : {true, false}) {
    p.metrics.queue_ages.emplace_back(io ? "media_io" : "media_work",
                                      [&p, io] { return p.media ? Seconds(p.media->OldestQueued(io)).count() : 0.0; });
  }
  accounts::AccountOptions account_options;
  account_options.password_params =
      config_.password_profile == "minimal" ? auth::PasswordParams::Minimal() : auth::PasswordParams::Interactive();
  account_options.max_login_failures = config_.max_login_failures;
  account_options.webhook_registrations = config_.limits.webhooks.Has(WebhookEvent::kUserRegistered);
  auto registration = accounts::ParseRegistration(config_.registration);
  if (!registration) throw std::runtime_error("--registration must be open, invite or closed");
  account_options.registration = *registration;
  auto lower = [](std::string handle) {
    std::transform(handle.begin(), handle.end(), handle.begin(), [](unsigned char c) { return std::tolower(c); });
    return handle;
  };
  for (const auto& handle : config_.admins) account_options.admin_handles.push_back(lower(handle));
  account_options.operator_handles = account_options.admin_handles;
  for (const auto& handle : config_.moderators) account_options.operator_handles.push_back(lower(handle));
  if (config_.password_profile == "minimal") {
    spdlog::warn("password-profile minimal: passwords are hashed at the lowest Argon2id cost, not for production");
  }
  p.accounts =
      std::make_unique<accounts::AccountService>(*p.store, *p.hash_pool, *p.tokens, *p.ids, p.clock, account_options);

  int workers = config_.gateway.workers > 0 ? config_.gateway.workers
                                            : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 0; i < workers; ++i) p.workers.push_back(std::make_unique<gateway::Worker>(i));
  p.hub = std::make_unique<gateway::Hub>(p.workers);
  p.sink = std::make_unique<NodeSink>(*p.hub, *p.accounts);
  if (config_.nats.empty()) {
    p.broker = MakeLocalBroker(*p.sink);
  } else {
    NatsBrokerOptions options{config_.nats, "natterd-" + std::to_string(config_.node_id)};
    options.on_round_trip = [&metrics = p.metrics](int64_t us) { metrics.broker_round_trip.Observe(us); };
    p.broker = MakeNatsBroker(options, *p.sink, ListConversationsOf(*p.store));
    p.metrics.broker_connected = [&broker = *p.broker] { return broker.State() == "connected"; };
  }
  p.presence = std::make_unique<presence::PresenceService>(
      *p.store, *p.broker, p.clock, p.workers.front()->context(), config_.presence_grace_ms, config_.node_id,
      /*shared_store=*/!config_.nats.empty() || !config_.postgres.empty());
  p.presence->ForgetStoredConnections();
  StartPush();
  if (!config_.webhooks.url.empty()) {
    p.webhooks = std::make_unique<hooks::WebhookWorker>(*p.store, p.clock, p.metrics.webhooks, config_.webhooks,
                                                        api::WebhookBody);
    p.webhooks->Start();
    spdlog::info("webhooks: on (the URL is not logged: it may carry a credential)");
  }
  if (!config_.presend.url.empty()) {
    p.presend = std::make_unique<hooks::PresendHook>(config_.presend, p.clock, p.metrics.presend);
    spdlog::info("presend: on, {} ms to answer, else {}", config_.presend.timeout_ms, config_.presend_on_failure);
  }
  push::PushTiming timing{p.push_worker != nullptr, config_.push_delay_ms};
  StartMedia();
  p.dispatcher = std::make_unique<api::Dispatcher>(
      api::DispatcherDeps{*p.store, *p.broker, *p.accounts, *p.ids, p.clock, config_.limits, p.metrics, *p.keys,
                          p.presence.get(), timing, p.liveness.get(), p.media.get(),
                          api::OperatorRoles(config_.admins, config_.moderators), p.external, p.presend.get()});
  // A session ended by the server (a reused refresh token, an operator)
  // ends on every node, its sockets close, and its device leaves the lists.
  p.accounts->OnSessionEnded([&broker = *p.broker, &dispatcher = *p.dispatcher](UserId user, SessionId session) {
    Event revoke;
    revoke.recipients.push_back(EventRecipient{user, 0});
    revoke.revoke_session = session;
    broker.Publish(std::move(revoke));
    dispatcher.DevicesMayHaveChanged(user);
  });
  p.limiter = std::make_unique<gateway::RequestLimiter>(config_.gateway);
  p.http_deps = std::make_unique<gateway::HttpDeps>(
      gateway::HttpDeps{gateway::ConnectionDeps{*p.dispatcher, *p.accounts, p.metrics, config_.gateway, p.clock,
                                                *p.limiter, p.presence.get(), p.liveness.get()},
                        // Not ready while stopping or starting, or while the store cannot write.
                        [&p] { return p.ready.load() && p.store->WriteTrouble().empty(); }, nullptr});
  p.http_deps->media = p.media.get();
  if (!config_.nats.empty() || !config_.postgres.empty()) {
    // A cluster node stays ready while NATS is down (it stores and delivers
    // locally); these lines tell an operator what it is running on.
    p.http_deps->ready_details = [&p, node = config_.node_id] {
      return "node: " + std::to_string(node) + "\nstore: " + std::to_string(p.store->Partitions()) +
             " partition(s)\nbroker: " + p.broker->State() + "\n";
    };
  } else {
    p.http_deps->ready_details = [&p] {
      std::string trouble = p.store->WriteTrouble();
      return trouble.empty() ? std::string() : "store: " + trouble + " (see the log)\n";
    };
  }
  if (!config_.gateway.tls_cert.empty()) {
    p.http_deps->tls = std::make_shared<gateway::TlsContextSlot>(
        gateway::MakeServerTlsContext(config_.gateway.tls_cert, config_.gateway.tls_key));
  }
  p.listener = std::make_unique<gateway::Listener>(*p.http_deps, p.workers);
  uint16_t port = p.listener->Listen(config_.gateway.listen_address, config_.gateway.port);
  for (auto& w : p.workers) w->Start();
  p.listener->Start();
  p.ready = true;
  return port;
}

void Server::Drain(std::chrono::milliseconds window, const std::function<bool(std::chrono::milliseconds)>& wait) {
  auto& p = *parts_;
  if (!p.listener) return;
  // Not ready: the proxy sends no one new; nothing new is accepted.
  p.ready = false;
  p.listener->Stop();
  using Clock = std::chrono::steady_clock;
  constexpr auto kStep = std::chrono::milliseconds(100);
  const auto deadline = Clock::now() + window;
  bool logged = false;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left <= std::chrono::milliseconds(0)) return;
    // Each step closes an equal share of what is left, so reconnects reach
    // the other nodes at an even rate over the window.
    auto parts = static_cast<size_t>((left + kStep - std::chrono::milliseconds(1)) / kStep);
    auto open = std::make_shared<std::atomic<size_t>>(0);
    UntilEveryWorker(
        p.workers,
        [open, parts](gateway::Worker& worker) {
          *open += worker.CloseShare(parts, ws::close_code::kServiceRestart, "service restart");
          return true;
        },
        Clock::now() + kShutdownStepTimeout);
    if (!logged) {
      spdlog::info("drain: closing the WebSocket connections over {} ms (1012 service restart)", left.count());
      logged = true;
    }
    if (open->load() == 0) return;
    if (wait(kStep)) {
      spdlog::info("drain: cut short; closing the rest at once");
      return;
    }
  }
}

Status Server::Reload(const Config& fresh) {
  auto& p = *parts_;
  // What a start would refuse, a reload refuses before it changes anything.
  if (auto problem = CheckMediaLimits(config_.media_backend, fresh.media); !problem.empty()) {
    return BadRequest(problem);
  }
  if (p.http_deps && p.http_deps->tls && !fresh.gateway.tls_cert.empty()) {
    try {
      // The old context may go: each open session's SSL holds a reference to
      // its SSL_CTX, and natterd sets no callbacks the context would own.
      p.http_deps->tls->Replace(gateway::MakeServerTlsContext(fresh.gateway.tls_cert, fresh.gateway.tls_key));
    } catch (const std::exception& e) {
      return Unavailable(std::string("the TLS certificate was not reloaded: ") + e.what());
    }
  }
  // The limits: each part takes them for what starts after this (a request,
  // a login, an upload); budgets keep what has been spent.
  p.dispatcher->SetLimits(ReloadedLimits(config_.limits, fresh.limits));
  p.limiter->SetRates(fresh.gateway);
  p.accounts->SetMaxLoginFailures(fresh.max_login_failures);
  if (p.media) p.media->SetLimits(fresh.media);
  if (auto later = NeedRestart(config_, fresh); !later.empty()) {
    std::string names;
    for (const auto& name : later) names += (names.empty() ? "" : ", ") + name;
    spdlog::warn("reload: {} changed; a restart applies {}", names, later.size() == 1 ? "it" : "them");
  }
  return OkStatus();
}

void Server::Stop() {
  auto& p = *parts_;
  if (!p.listener) return;
  p.ready = false;
  p.listener->Stop();
  // Checks under way are refused (unavailable): a stopping server waves nothing through unchecked.
  if (p.presend) p.presend->Stop();
  // The push worker waits on the store: it stops first (a job under way is
  // sent again once its lease ends).
  if (p.push_worker) p.push_worker->Stop();
  if (p.webhooks) p.webhooks->Stop();  // a batch under way is put back, due at once
  // Uploads being processed finish and are recorded while the store and the
  // workers still run; queued ones are dropped (processed again when their
  // client asks where they stand).
  if (p.media) p.media->Stop();
  // Commit what is queued; the acknowledgements are posted to the workers,
  // which are still running. Closing every connection on its worker comes
  // after them in each worker's queue, and a close frame goes out after the
  // answers already queued (WsConnection::Close), so every acknowledgement is
  // written before the close.
  p.store->Shutdown();
  using Clock = std::chrono::steady_clock;
  UntilEveryWorker(
      p.workers,
      [](gateway::Worker& worker) {
        worker.CloseAll(ws::close_code::kServiceRestart, "server shutting down");
        return true;
      },
      Clock::now() + kShutdownStepTimeout);
  // Then wait for the clients to finish their close handshakes, but not for
  // a client that never answers (nor reads) longer than the bound.
  if (!UntilEveryWorker(
          p.workers, [](gateway::Worker& worker) { return worker.connection_count() == 0; },
          Clock::now() + kShutdownStepTimeout)) {
    spdlog::warn("shutdown: some clients did not finish their close handshake; closing their sockets");
  }
  for (auto& w : p.workers) w->Stop();
  for (auto& w : p.workers) w->Join();
  p.hash_pool->Stop();
  p.listener.reset();
  // Presence holds timers on worker 0: they go before the workers do.
  p.presence.reset();
  // Commit turns still queued on the workers run their steps when the workers
  // are destroyed below: those must not reach the broker, gone by then.
  p.dispatcher->StopPublishing();
  // The broker's threads hand events to the workers: they end first.
  p.metrics.broker_connected = nullptr;
  p.broker.reset();
  // Destroying a worker destroys the handlers still queued on it, and with them
  // the last references to connections; everything they use is still alive here.
  p.workers.clear();
  p.liveness.reset();  // its store answers ran on the workers
  p.media.reset();     // its pools post to the workers, stopped above; its answers ran there
  p.push_worker.reset();
  p.push_providers.reset();
  p.webhooks.reset();
  p.presend.reset();
}

namespace {

// The configured value, else the first environment variable set, else `fallback`.
std::string OrEnv(const std::string& value, std::initializer_list<const char*> names, std::string fallback = "") {
  if (!value.empty()) return value;
  for (const char* name : names) {
    const char* v = std::getenv(name);
    if (v && *v) return v;
  }
  return fallback;
}

// The S3 settings with the AWS_* environment variables filling the gaps, as
// the AWS tools do.
Result<std::unique_ptr<media::S3Client>> OpenS3(media::S3Config s3, const Clock& clock) {
  s3.region = OrEnv(s3.region, {"AWS_REGION", "AWS_DEFAULT_REGION"}, "us-east-1");
  if (s3.endpoint.empty()) s3.endpoint = "https://s3." + s3.region + ".amazonaws.com";
  auto& creds = s3.credentials;
  bool from_env = creds.access_key_id.empty();
  creds.access_key_id = OrEnv(creds.access_key_id, {"AWS_ACCESS_KEY_ID"});
  creds.secret_access_key = OrEnv(creds.secret_access_key, {"AWS_SECRET_ACCESS_KEY"});
  if (from_env) creds.session_token = OrEnv(creds.session_token, {"AWS_SESSION_TOKEN"});
  return media::S3Client::Create(std::move(s3), clock);
}

}  // namespace

void Server::WarnOfUnclaimedOperators() {
  auto check = [&](const std::vector<std::string>& handles, const char* flag) {
    for (const auto& handle : handles) {
      auto found = ReadAccountsSync<std::optional<User>>(
          *parts_->store, [handle](AccountsTxn& txn) { return txn.FindUserByHandle(handle); });
      if (found.ok() && !*found) {
        spdlog::warn(
            "{} names '{}', which has no account: whoever registers it first gets the role; register it "
            "now or take it out",
            flag, handle);
      }
    }
  };
  check(config_.admins, "--admins");
  check(config_.moderators, "--moderators");
}

void Server::StartMedia() {
  auto& p = *parts_;
  std::unique_ptr<media::S3Client> s3;
  if (config_.media_backend == "s3") {
    if (auto problem = CheckMediaLimits(config_.media_backend, config_.media); !problem.empty()) {
      throw std::runtime_error("media: " + problem);
    }
    auto opened = OpenS3(config_.s3, p.clock);
    if (!opened.ok()) throw std::runtime_error("media: " + opened.error().message);
    s3 = std::move(*opened);
  } else if (config_.media_backend != "local") {
    throw std::runtime_error("media-backend must be local or s3");
  } else if (!config_.postgres.empty()) {
    // Nodes do not share a disk: a cluster keeps media in an object store.
    spdlog::info("media: off (a cluster needs media-backend = s3)");
    return;
  }
  std::string root = config_.data_dir + "/" + kMediaDir;
  auto key = media::LoadOrCreateUrlKey(config_.data_dir + "/" + kMediaUrlKeyFile);
  if (!key.ok()) throw std::runtime_error("media: " + key.error().message);
  media::MediaOptions options;
  options.root = root;
  options.limits = config_.media;
  options.threads = std::max(1, config_.media_threads);
  options.max_queued = static_cast<size_t>(std::max(1, config_.media_queue));
  options.sweep_interval_ms = std::max<int64_t>(config_.media_sweep_ms, 10);
  options.metrics = &p.metrics.media;
  if (s3) {
    spdlog::info("media: s3, bucket {} at {} ({} style)", s3->config().bucket, s3->config().endpoint,
                 s3->config().path_style ? "path" : "virtual-host");
  } else {
    spdlog::info("media: local, under {}", root);
  }
  p.media = std::make_unique<media::MediaService>(*p.store, *p.ids, p.clock, options, std::move(*key), std::move(s3));
}

void Server::StartPush() {
  auto& p = *parts_;
  const auto& push = config_.push;
  if (push.apns.key_file.empty() && push.fcm.service_account_file.empty()) return;
  auto providers = push::PushProviders::Open(push, p.clock);
  if (!providers.ok()) throw std::runtime_error("push: " + providers.error().message);
  p.push_providers = std::move(*providers);
  p.liveness = std::make_unique<push::DeviceLiveness>(*p.store, p.clock, p.workers.front()->context(), config_.node_id);
  push::PushWorkerOptions worker_options;
  worker_options.node_id = config_.node_id;
  worker_options.delay_ms = config_.push_delay_ms;
  worker_options.lease_ms = std::max<int64_t>(config_.push_lease_ms, 1000);
  p.push_worker = std::make_unique<push::PushWorker>(*p.store, *p.push_providers, p.clock, p.metrics, worker_options);
  p.push_worker->Start([liveness = p.liveness.get()] { liveness->RetryFailed(); });
  spdlog::info("push: on ({}{}), delay {} ms", push.apns.key_file.empty() ? "" : "APNs ",
               push.fcm.service_account_file.empty() ? "" : "FCM", config_.push_delay_ms);
}

}  // namespace natter::server
