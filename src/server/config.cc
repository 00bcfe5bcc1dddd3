#include "server/config.h"

#include <spdlog/spdlog.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/url/parse.hpp>
#include <iostream>
#include <string_view>
#include <vector>

#include "accounts/account_service.h"
#include "common/id_generator.h"
#include "common/network_key.h"
#include "common/version.h"
#include "hooks/webhook_signature.h"
#include "ops/log_format.h"

namespace natter::server {
namespace {

template <class T>
std::string AsText(const T& value) {
  if constexpr (std::is_same_v<T, std::string>) {
    return value;
  } else if constexpr (std::is_same_v<T, bool>) {
    return value ? "true" : "false";
  } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    std::string out;
    for (const auto& item : value) out += item + '\n';
    return out;
  } else {
    return std::to_string(value);
  }
}

// Where settings are declared, and how to read each one's final value.
struct Declaring {
  CLI::App& app;
  const toml::table* file;
  std::vector<std::pair<std::string, std::function<std::string()>>> values;
};

// Every setting is declared once here: its flag, its environment variable
// (NATTER_ + upper-case name), its TOML key (the same name) and its help.
// `secret`: --help does not show its value.
template <class T>
void Setting(Declaring& d, const std::string& name, T& value, const std::string& help, bool secret = false) {
  CLI::App& app = d.app;
  const toml::table* file = d.file;
  d.values.emplace_back(name, [&value] { return AsText(value); });
  if (file) {
    if (const toml::node* node = file->get(name)) {
      if constexpr (std::is_same_v<T, std::vector<std::string>>) {
        // A lone string would be easy to misread as a one-item list (or
        // ignored, leaving the default: every webhook event): refused.
        auto* arr = node->as_array();
        if (!arr) throw std::runtime_error("config key '" + name + "' must be an array of strings");
        value.clear();
        for (auto& item : *arr) {
          auto s = item.value<std::string>();
          if (!s) throw std::runtime_error("config key '" + name + "' must be an array of strings");
          value.push_back(*s);
        }
      } else if (auto v = node->value<T>()) {
        value = *v;
      } else {
        throw std::runtime_error("config key '" + name + "' has the wrong type");
      }
    }
  }
  std::string env = "NATTER_";
  for (char c : name) env += static_cast<char>(c == '-' ? '_' : std::toupper(static_cast<unsigned char>(c)));
  if constexpr (std::is_same_v<T, bool>) {
    app.add_flag("--" + name, value, help)->envname(env);  // a bare flag; --name=false also works
    return;
  }
  auto* opt = app.add_option("--" + name, value, help)->envname(env);
  if constexpr (!std::is_same_v<T, std::vector<std::string>>) {
    if (!secret) opt->capture_default_str();
  }
  if constexpr (std::is_same_v<T, std::vector<std::string>>) opt->delimiter(',');
}

// How far apart two names are (Levenshtein): for "did you mean".
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// " (did you mean 'port'?)" when one of `known` is close to `name`, else "".
std::string DidYouMean(std::string_view name, const std::vector<std::string>& known) {
  const std::string* best = nullptr;
  size_t best_distance = std::max<size_t>(2, name.size() / 3) + 1;
  for (const auto& k : known) {
    size_t d = EditDistance(name, k);
    if (d < best_distance) {
      best_distance = d;
      best = &k;
    }
  }
  return best ? " (did you mean '" + *best + "'?)" : std::string();
}

// Environment variables under NATTER_ that are not natterd's settings but
// belong to natter's other tools: the natter CLI's, the NATS servers' password
// (deploy/nats), and those natter's own scripts and test suites pass to each
// other. Anything else under the prefix is a mistake (a misspelled setting
// that would silently not apply).
bool BelongsToOtherTools(std::string_view name) {
  static constexpr std::string_view kNames[] = {"NATTER_PROFILE",    "NATTER_SERVER",       "NATTER_CA_FILE",
                                                "NATTER_CLI",        "NATTER_BENCH",        "NATTER_SANITIZER",
                                                "NATTER_FRAME_SEED", "NATTER_NATS_PASSWORD"};
  static constexpr std::string_view kPrefixes[] = {"NATTER_CLUSTER_", "NATTER_TEST_"};
  for (auto n : kNames) {
    if (name == n) return true;
  }
  for (auto p : kPrefixes) {
    if (name.starts_with(p)) return true;
  }
  return false;
}

// Refuses keys of the TOML file and NATTER_ variables that name no setting.
void CheckNamesKnown(const CLI::App& app, const toml::table* file) {
  std::vector<std::string> keys, variables{"NATTER_CONFIG"};
  for (const CLI::Option* opt : app.get_options()) {
    for (const auto& name : opt->get_lnames()) {
      if (name != "help" && name != "version" && name != "config") keys.push_back(name);
    }
    if (!opt->get_envname().empty()) variables.push_back(opt->get_envname());
  }
  if (file) {
    for (const auto& [key, value] : *file) {
      std::string_view k = key.str();
      if (std::find(keys.begin(), keys.end(), k) == keys.end()) {
        throw std::runtime_error("config key '" + std::string(k) + "' is not a setting" + DidYouMean(k, keys) +
                                 "; natterd --help lists them");
      }
    }
  }
  for (char** e = environ; *e; ++e) {
    std::string_view entry(*e);
    std::string_view name = entry.substr(0, entry.find('='));
    if (!name.starts_with("NATTER_") || BelongsToOtherTools(name)) continue;
    if (std::find(variables.begin(), variables.end(), name) == variables.end()) {
      throw std::runtime_error("environment variable " + std::string(name) + " is not a setting" +
                               DidYouMean(name, variables) + "; natterd --help lists them");
    }
  }
}

// What is wrong with a hook's URL and secret (`name`: webhook or presend), or empty.
std::string CheckHookUrl(const std::string& name, const std::string& url, const std::string& secret) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed || (parsed->scheme() != "http" && parsed->scheme() != "https") || parsed->host().empty()) {
    return "--" + name + "-url must be an http:// or https:// URL with a host";
  }
  if (secret.size() < hooks::kMinSecretBytes) {
    return "--" + name + "-url needs a --" + name + "-secret of at least " + std::to_string(hooks::kMinSecretBytes) +
           " bytes: the receiving end checks every call's signature with it";
  }
  return {};
}

// Checks the webhook settings and turns the events named into the selection
// the chat domain queues; what is wrong, or empty.
std::string CheckWebhooks(Config& c) {
  const auto& w = c.webhooks;
  if (w.url.empty()) return {};
  if (auto problem = CheckHookUrl("webhook", w.url, w.secret); !problem.empty()) return problem;
  if (w.timeout_ms < 100 || w.timeout_ms > 60000 || w.give_up_ms < 1000) {
    return "--webhook-timeout-ms must be 100 to 60000 and --webhook-give-up-ms at least 1000";
  }
  std::string unknown;
  auto selection = ParseWebhookSelection(c.webhook_events, &unknown);
  if (!selection) return "--webhook-events: unknown event " + unknown;
  c.limits.webhooks = *selection;
  return {};
}

// Checks the pre-send hook's settings; what is wrong, or empty.
std::string CheckPresend(Config& c) {
  auto& p = c.presend;
  if (c.presend_on_failure != "accept" && c.presend_on_failure != "reject") {
    return "--presend-on-failure must be accept or reject";
  }
  p.accept_on_failure = c.presend_on_failure == "accept";
  if (p.url.empty()) return {};
  if (auto problem = CheckHookUrl("presend", p.url, p.secret); !problem.empty()) return problem;
  if (p.timeout_ms < 10 || p.timeout_ms > 10000) {
    return "--presend-timeout-ms must be 10 to 10000: every send waits for it";
  }
  return {};
}

void Declare(Declaring& d, Config& c) {
  auto& g = c.gateway;
  auto& l = c.limits;
  Setting(d, "data-dir", c.data_dir, "Directory for the database and the signing keys");
  Setting(d, "listen", g.listen_address, "Address to listen on");
  Setting(d, "port", g.port, "TCP port for HTTP and WebSocket (0 picks a free one)");
  Setting(d, "workers", g.workers, "I/O threads (0: one per core)");
  Setting(d, "tls-cert", g.tls_cert, "PEM certificate chain; with --tls-key serves https and wss");
  Setting(d, "tls-key", g.tls_key, "PEM private key for --tls-cert");
  Setting(d, "allowed-origins", g.allowed_origins,
          "Browser Origins allowed to open a WebSocket, comma separated ('*' for any)");
  Setting(d, "trusted-proxies", g.trusted_proxies,
          "Proxy addresses, comma separated, whose X-Forwarded-For names the client (login limits per address)");
  Setting(d, "log-level", c.log_level, "trace, debug, info, warn or error");
  Setting(d, "log-format", c.log_format,
          "Log lines as json (one object a line, for a collector), text, or auto: text on a terminal, else json");
  Setting(d, "log-json", c.log_json, "Same as --log-format json (kept for older configurations)");
  Setting(d, "node-id", c.node_id, "This node's number (0-15), part of every id it makes");
  Setting(d, "jwt-keys", c.jwt_keys, "Signing key file (default <data-dir>/jwt-keys.json); shared by a cluster");
  Setting(d, "postgres", c.postgres,
          "PostgreSQL instances, comma separated (libpq URLs, order fixed); replaces SQLite");
  Setting(d, "postgres-writers", c.postgres_writers, "Writer connections per PostgreSQL instance");
  Setting(d, "postgres-readers", c.postgres_readers, "Reader connections per PostgreSQL instance");
  Setting(d, "wal-limit-mb", c.wal_limit_mb,
          "Bound of the embedded database's write-ahead log (MiB): past it the log starts over between commits");
  Setting(d, "nats", c.nats, "NATS servers, comma separated (nats://host:port); links the nodes of a cluster");
  Setting(d, "access-token-ttl", c.access_token_ttl_seconds, "Access token lifetime in seconds");
  Setting(d, "password-profile", c.password_profile, "Argon2id cost: interactive, or minimal (for tests only)");
  Setting(d, "allow-minimal-passwords", c.allow_minimal_passwords,
          "Allow --password-profile minimal on an address other hosts can reach (tests only)");
  Setting(d, "hash-threads", c.hash_threads, "Threads for password hashing");
  Setting(d, "create-database", c.create_database,
          "Start with a new, empty database although the data directory holds signing keys (its database was lost)");
  Setting(d, "max-login-failures", c.max_login_failures,
          "Failed logins per account and per address in 15 minutes before logins are refused");
  Setting(d, "max-frame-bytes", g.max_frame_bytes, "Largest WebSocket message accepted, after inflation");
  Setting(d, "max-text-bytes", l.max_text_bytes, "Largest message text");
  Setting(d, "max-group-members", l.max_group_members, "Most members a group or channel may have");
  Setting(d, "max-conversations-per-hour", l.max_conversations_per_hour, "Conversations one user may create per hour");
  Setting(d, "max-member-adds-per-hour", l.max_member_adds_per_hour,
          "People one user may put into conversations per hour (new groups' members and members.add)");
  Setting(d, "registration", c.registration,
          "Who may make an account: open (anyone), invite (with an invite code), closed (operators only)");
  Setting(d, "external-issuer", c.external.issuer,
          "The iss of tokens from your own backend that auth.external accepts (docs/admin.md)");
  Setting(d, "external-key", c.external.public_key_file, "PEM public key (Ed25519 or RSA) of --external-issuer");
  Setting(d, "external-audience", c.external.audience, "The aud those tokens must hold (empty: not checked)");
  Setting(d, "external-handle-claim", c.external.handle_claim, "The claim that names a new account's handle");
  Setting(d, "admins", c.admins, "Handles of server admins, comma separated (docs/admin.md)");
  Setting(d, "moderators", c.moderators, "Handles of server moderators, comma separated");
  Setting(d, "group-adds", c.group_adds,
          "Who may put a user into a group without an invitation, until they choose: everyone, contacts or nobody");
  Setting(d, "max-reports-per-hour", l.max_reports_per_hour, "Reports one user may file per hour");
  Setting(d, "max-key-bundles-per-hour", l.max_key_bundles_per_hour,
          "keys.bundle calls a user may make per hour (each hands out one-time prekeys)");
  Setting(d, "max-history-page", l.max_history_page, "Most messages one history page returns");
  Setting(d, "max-http-body-bytes", g.max_http_body_bytes, "Largest HTTP request body");
  Setting(d, "http-timeout-ms", g.http_timeout_ms, "Time allowed for one HTTP request or handshake");
  Setting(d, "requests-per-second", g.requests_per_second, "Requests a second per WebSocket connection");
  Setting(d, "request-burst", g.request_burst, "Requests a WebSocket connection may send at once");
  Setting(d, "send-queue-bytes", g.send_queue_bytes,
          "Bytes queued per connection before its events give way to a resync notice");
  Setting(d, "deflate", g.deflate, "Offer permessage-deflate to WebSocket clients");
  Setting(d, "deflate-window-bits", g.deflate_window_bits, "permessage-deflate window (9-15)");
  Setting(d, "auth-timeout-ms", g.auth_timeout_ms, "Time a WebSocket has to authenticate");
  Setting(d, "idle-ping-ms", g.idle_ping_ms, "Ping a WebSocket quiet for this long");
  Setting(d, "idle-timeout-ms", g.idle_timeout_ms, "Close a WebSocket quiet for this long");
  Setting(d, "drain-ms", c.drain_ms,
          "On SIGTERM, close WebSocket connections (1012) a share at a time over this long, so their reconnects "
          "spread over the other nodes; then stop");
  Setting(d, "slow-consumer-timeout-ms", g.slow_consumer_timeout_ms,
          "Close a connection still behind this long after its resync notice");
  Setting(d, "typing-per-second", g.typing_per_second, "Typing notices a second per connection");
  Setting(d, "presence-grace-ms", c.presence_grace_ms,
          "How long a user with no connection still shows online (flaky networks do not flap)");
  Setting(d, "large-conversation-members", l.large_conversation_members,
          "Groups with more members are large: no presence, typing or others' receipts through them");
  Setting(d, "logged-group-members", l.logged_group_members,
          "Groups with more members are followed by their own sequence instead of per-member update-log rows");
  Setting(d, "update-log-retention", l.update_log_retention,
          "Update-log entries kept per user; older sync tokens must resync");
  Setting(d, "sync-page", l.sync_page, "Newest events per conversation in one catch-up");
  Setting(d, "edit-window-ms", l.edit_window_ms, "How long after sending a message may be edited");
  auto& push = c.push;
  Setting(d, "push-delay-ms", c.push_delay_ms,
          "How long a message waits before its push (a device that connects meanwhile gets it live)");
  Setting(d, "push-timeout-ms", push.timeout_ms,
          "Time allowed for one push provider request, connection included (then it is retried)");
  Setting(d, "push-lease-ms", c.push_lease_ms,
          "How long a claimed push job is this node's before another may take it (renewed while sending)");
  Setting(d, "apns-key-file", push.apns.key_file, "APNs auth key (.p8); with the key and team ids enables APNs");
  Setting(d, "apns-key-id", push.apns.key_id, "The APNs key's id (10 characters, from the developer account)");
  Setting(d, "apns-team-id", push.apns.team_id, "The Apple developer team id");
  Setting(d, "apns-topic", push.apns.topic, "The app's bundle id, for devices that register without a topic");
  Setting(d, "apns-url", push.apns.url, "APNs production endpoint");
  Setting(d, "apns-sandbox-url", push.apns.sandbox_url, "APNs endpoint for devices registered as sandbox");
  Setting(d, "fcm-service-account", push.fcm.service_account_file, "Firebase service account key (JSON); enables FCM");
  Setting(d, "fcm-url", push.fcm.url, "FCM HTTP v1 endpoint");
  Setting(d, "fcm-token-url", push.fcm.token_url, "OAuth 2.0 token endpoint (default: the key's token_uri)");
  Setting(d, "push-ca-file", push.ca_file,
          "CA certificates (PEM) trusted for the push providers instead of the system's");
  auto& m = c.media;
  Setting(d, "media-threads", c.media_threads, "Threads that check and process uploads (libvips, hashing)");
  Setting(d, "media-queue", c.media_queue,
          "Media tasks that may wait per pool; past it, uploads are answered unavailable (503) to retry");
  Setting(d, "media-max-image-bytes", m.max_image_bytes, "Largest image upload");
  Setting(d, "media-max-audio-bytes", m.max_audio_bytes, "Largest audio upload (voice notes)");
  Setting(d, "media-max-video-bytes", m.max_video_bytes, "Largest video upload");
  Setting(d, "media-max-file-bytes", m.max_file_bytes, "Largest upload of any other file");
  Setting(d, "media-uploads-per-hour", m.uploads_per_hour, "Uploads a user may start in an hour");
  Setting(d, "media-quota-bytes", m.quota_bytes, "Bytes of uploads a user may hold (attached or pending)");
  Setting(d, "media-upload-expiry-ms", m.upload_expiry_ms,
          "How long an upload may wait, unfinished or unattached, before it is deleted");
  Setting(d, "media-url-ttl-seconds", m.url_ttl_s, "How long a download URL stays valid");
  Setting(d, "media-delete-grace-ms", m.delete_grace_ms,
          "How long a deleted message's attachments stay before their objects are deleted");
  Setting(d, "media-sweep-ms", c.media_sweep_ms, "How often expired uploads are looked for and deleted");
  Setting(d, "media-backend", c.media_backend, "Where media lives: local (the data directory) or s3");
  auto& s3 = c.s3;
  Setting(d, "s3-endpoint", s3.endpoint,
          "The object store's URL (default: https://s3.<region>.amazonaws.com), scheme://host[:port]");
  Setting(d, "s3-region", s3.region, "The bucket's region (default: AWS_REGION, else us-east-1)");
  Setting(d, "s3-bucket", s3.bucket, "The bucket media goes to (natterd's alone)");
  Setting(d, "s3-path-style", s3.path_style,
          "Address the bucket in the path (host/bucket/key) instead of the host name (bucket.host/key)");
  Setting(d, "s3-access-key-id", s3.credentials.access_key_id, "Access key id (default: AWS_ACCESS_KEY_ID)");
  Setting(d, "s3-secret-access-key", s3.credentials.secret_access_key,
          "Secret access key (default: AWS_SECRET_ACCESS_KEY)", true);
  Setting(d, "s3-session-token", s3.credentials.session_token,
          "Session token of temporary credentials (default: AWS_SESSION_TOKEN)", true);
  Setting(d, "s3-ca-file", s3.ca_file, "CA certificates (PEM) trusted for the object store instead of the system's");
  Setting(d, "s3-timeout-ms", s3.timeout_ms,
          "How long a call to the object store may wait for its answer (a transfer: half of it without progress)");
  Setting(d, "media-max-pixels", m.image.max_pixels,
          "Largest image (width x height, read from its header before decoding)");
  auto& w = c.webhooks;
  Setting(d, "webhook-url", w.url, "Where events are POSTed (http or https); enables webhooks");
  Setting(d, "webhook-secret", w.secret, "The key webhook deliveries are signed with (at least 16 bytes)", true);
  Setting(d, "webhook-events", c.webhook_events,
          "Events sent, comma separated (message.created, message.edited, message.deleted, member.joined, "
          "member.left, report.filed, user.registered); none: all");
  Setting(d, "webhook-timeout-ms", w.timeout_ms,
          "Time allowed for one delivery, connection included (then it is tried again later)");
  Setting(d, "webhook-give-up-ms", w.give_up_ms, "An event still undelivered this long after it happened is dropped");
  Setting(d, "webhook-ca-file", w.ca_file,
          "CA certificates (PEM) trusted for an https webhook URL instead of the system's");
  auto& ps = c.presend;
  Setting(d, "presend-url", ps.url,
          "Where each message and edit is sent for a verdict before it is committed (http or https)");
  Setting(d, "presend-secret", ps.secret, "The key pre-send calls are signed with (at least 16 bytes)", true);
  Setting(d, "presend-timeout-ms", ps.timeout_ms, "Time the pre-send hook has to answer (then the default applies)");
  Setting(d, "presend-on-failure", c.presend_on_failure,
          "What happens when the pre-send hook gives no usable answer: accept (the text as sent) or reject");
  Setting(d, "presend-ca-file", ps.ca_file,
          "CA certificates (PEM) trusted for an https pre-send URL instead of the system's");
  Setting(d, "crash-reports-keep", c.crash_reports_keep,
          "Crash reports kept in <data-dir>/crash: the newest; older ones are deleted at start");
}

}  // namespace

std::optional<Config> LoadConfig(int argc, char** argv, int& exit_code, const ExtraOptions& extra) {
  // First pass: only find --config, so the file's values can become defaults
  // that the environment and flags then override.
  std::string config_path;
  {
    CLI::App pre;
    pre.allow_extras();
    pre.set_help_flag();
    pre.add_option("--config", config_path)->envname("NATTER_CONFIG");
    try {
      pre.parse(argc, argv);
    } catch (const CLI::ParseError&) {
    }
  }
  toml::table file;
  if (!config_path.empty()) {
    try {
      file = toml::parse_file(config_path);
    } catch (const toml::parse_error& e) {
      std::cerr << "natterd: cannot read " << config_path << ": " << e.description() << "\n";
      exit_code = 2;
      return std::nullopt;
    }
  }
  Config config;
  CLI::App app{
      "natterd: the natter chat server.\n"
      "Every setting can also come from a TOML file (--config, same key names)\n"
      "or an environment variable (NATTER_ plus the name in capitals, '-' as '_').\n"
      "Flags win over the environment, which wins over the file."};
  app.add_option("--config", config_path, "TOML configuration file")->envname("NATTER_CONFIG");
  app.set_version_flag("--version", std::string("natterd ") + Version());
  Declaring declaring{app, config_path.empty() ? nullptr : &file, {}};
  try {
    Declare(declaring, config);
    if (extra) extra(app);
    CheckNamesKnown(app, config_path.empty() ? nullptr : &file);
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    exit_code = app.exit(e);
    return std::nullopt;
  } catch (const std::exception& e) {
    std::cerr << "natterd: " << e.what() << "\n";
    exit_code = 2;
    return std::nullopt;
  }
  for (const auto& [name, read] : declaring.values) config.settings[name] = read();
  if (config.log_json) config.log_format = "json";
  if (config.drain_ms < 0 || config.drain_ms > 600000) {
    std::cerr << "natterd: --drain-ms must be 0 to 600000\n";
    exit_code = 2;
    return std::nullopt;
  }
  if (config.limits.logged_group_members < 0) {
    std::cerr << "natterd: --logged-group-members must be 0 or more\n";
    exit_code = 2;
    return std::nullopt;
  }
  if (config.wal_limit_mb < 1 || config.wal_limit_mb > 65536) {
    std::cerr << "natterd: --wal-limit-mb must be 1 to 65536\n";
    exit_code = 2;
    return std::nullopt;
  }
  if (!ops::ParseLogFormat(config.log_format, false)) {
    std::cerr << "natterd: --log-format must be auto, json or text\n";
    exit_code = 2;
    return std::nullopt;
  }
  if (spdlog::level::from_str(config.log_level) == spdlog::level::off && config.log_level != "off") {
    std::cerr << "natterd: --log-level must be trace, debug, info, warn, error, critical or off\n";
    exit_code = 2;
    return std::nullopt;
  }
  if (config.password_profile != "interactive" && config.password_profile != "minimal") {
    std::cerr << "natterd: --password-profile must be interactive or minimal\n";
    exit_code = 2;
    return std::nullopt;
  }
  if (config.password_profile == "minimal" && !IsLoopbackAddress(config.gateway.listen_address) &&
      !config.allow_minimal_passwords) {
    // Minimal Argon2id makes a stolen hash cheap to crack: fine for tests on
    // loopback, not for a server others reach by mistake.
    std::cerr << "natterd: --password-profile minimal hashes passwords for tests only; on --listen "
              << config.gateway.listen_address << " it also needs --allow-minimal-passwords\n";
    exit_code = 2;
    return std::nullopt;
  }
  if (!accounts::ParseRegistration(config.registration)) {
    std::cerr << "natterd: --registration must be open, invite or closed\n";
    exit_code = 2;
    return std::nullopt;
  }
  if (auto who = ParseGroupAdds(config.group_adds)) {
    config.limits.default_group_adds = *who;
  } else {
    std::cerr << "natterd: --group-adds must be everyone, contacts or nobody\n";
    exit_code = 2;
    return std::nullopt;
  }
  if (!IdGenerator::ValidNodeId(config.node_id)) {
    // Ids carry 4 bits of node id and online_nodes one bit per node: node 16
    // would make node 0's ids, and a shift by 64 or more is undefined.
    std::cerr << "natterd: --node-id must be 0 to " << IdGenerator::kMaxNodeId << "\n";
    exit_code = 2;
    return std::nullopt;
  }
  std::string problem = CheckWebhooks(config);
  if (problem.empty()) problem = CheckPresend(config);
  if (!problem.empty()) {
    std::cerr << "natterd: " << problem << "\n";
    exit_code = 2;
    return std::nullopt;
  }
  if (config.crash_reports_keep < 0) {
    std::cerr << "natterd: --crash-reports-keep must be 0 or more\n";
    exit_code = 2;
    return std::nullopt;
  }
  if (config.gateway.tls_cert.empty() != config.gateway.tls_key.empty()) {
    std::cerr << "natterd: --tls-cert and --tls-key go together\n";
    exit_code = 2;
    return std::nullopt;
  }
  return config;
}

}  // namespace natter::server
