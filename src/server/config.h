// natterd's configuration: zero config works; a TOML file, NATTER_* environment
// variables and command-line flags override, in that order (flags win).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "accounts/account_service.h"
#include "auth/external_token.h"
#include "chat/limits.h"
#include "gateway/gateway_options.h"
#include "hooks/presend_hook.h"
#include "hooks/webhook_worker.h"
#include "media/media_limits.h"
#include "media/s3_client.h"
#include "push/push_providers.h"

namespace CLI {
class App;
}

namespace natter::server {

struct Config {
  std::string data_dir = "./natter-data";
  bool create_database = false;  // start empty although the data directory shows one was there
  std::string log_level = "info";
  std::string log_format = "auto";               // json, text, or auto: text on a terminal, else json
  bool log_json = false;                         // the older spelling of log_format = "json"
  std::string password_profile = "interactive";  // or "minimal" (tests only: fast, weak)
  // Who may add users who never chose to groups without an invitation:
  // everyone, contacts or nobody (becomes limits.default_group_adds).
  std::string group_adds = "contacts";
  // Handles given a server role by the configuration (docs/admin.md); roles
  // given through the admin API are kept in the store.
  std::string registration = "open";  // open, invite or closed (docs/admin.md)
  auth::ExternalIssuer external;      // the operator's own token issuer; none without its iss
  std::vector<std::string> admins;
  std::vector<std::string> moderators;
  bool allow_minimal_passwords = false;  // minimal on a non-loopback address
  int64_t access_token_ttl_seconds = 900;
  int hash_threads = 1;
  int node_id = 0;
  // Signing keys; empty: <data_dir>/jwt-keys.json. Every node of a cluster uses the same ring.
  std::string jwt_keys;
  // Cluster mode: PostgreSQL instances (libpq connection strings, order fixed)
  // instead of SQLite, and NATS servers between nodes.
  std::vector<std::string> postgres;
  int postgres_writers = 2;  // connections per instance, each committing batches
  int postgres_readers = 2;
  // The embedded store's write-ahead log bound (SqliteOptions::wal_limit_bytes).
  int64_t wal_limit_mb = 64;
  std::vector<std::string> nats;
  gateway::GatewayOptions gateway;
  chat::ChatLimits limits;
  int max_login_failures = 10;
  // How long a stop spreads its WebSocket closes over (docs/operations.md).
  int64_t drain_ms = 5000;
  int64_t presence_grace_ms = 5000;
  // Push notifications: on when a provider's key is configured (docs/push.md).
  push::ProvidersConfig push;
  int64_t push_delay_ms = 3000;
  int64_t push_lease_ms = 60000;
  // Media: uploads and attachments (docs/media.md). `local` keeps them under
  // <data_dir>/media; `s3` in an S3-compatible bucket, which a cluster needs
  // (credentials fall back to the AWS_* environment variables).
  media::MediaLimits media;
  int media_threads = 2;
  int media_queue = 256;
  int64_t media_sweep_ms = 60000;
  std::string media_backend = "local";
  media::S3Config s3;
  // Webhooks (docs/webhooks.md): on when a URL is configured; the events
  // (none named: all) become limits.webhooks.
  hooks::WebhookOptions webhooks;
  std::vector<std::string> webhook_events;
  // The pre-send hook (docs/webhooks.md): on when a URL is configured.
  hooks::PresendOptions presend;
  std::string presend_on_failure = "accept";  // or "reject"
  // Crash reports (ops/crash_report.h) kept in <data_dir>/crash, the newest.
  int crash_reports_keep = 10;
  // Every setting's value as loaded, by name (a reload compares them).
  std::map<std::string, std::string> settings;
};

// What a subcommand adds to the settings before they are parsed (natterd
// backup: its destination and pace; it may also replace the description).
using ExtraOptions = std::function<void(CLI::App&)>;

// Parses flags, environment and the TOML file named by --config. Returns
// nullopt after printing --help or a usage error (exit code in `exit_code`).
std::optional<Config> LoadConfig(int argc, char** argv, int& exit_code, const ExtraOptions& extra = nullptr);

}  // namespace natter::server
