#include "server/config_reload.h"

#include <algorithm>
#include <array>
#include <string_view>

namespace natter::server {
namespace {

constexpr std::array<std::string_view, 26> kReloadable = {
    "log-level",
    "tls-cert",
    "tls-key",
    // Messages and conversations (chat::ChatLimits).
    "max-text-bytes",
    "max-group-members",
    "max-conversations-per-hour",
    "max-member-adds-per-hour",
    "max-reports-per-hour",
    "max-key-bundles-per-hour",
    "max-history-page",
    "edit-window-ms",
    "group-adds",
    // Request budgets: per connection, per user, per address.
    "requests-per-second",
    "request-burst",
    "typing-per-second",
    "max-login-failures",
    // Media (media::MediaLimits).
    "media-max-image-bytes",
    "media-max-audio-bytes",
    "media-max-video-bytes",
    "media-max-file-bytes",
    "media-uploads-per-hour",
    "media-quota-bytes",
    "media-upload-expiry-ms",
    "media-url-ttl-seconds",
    "media-delete-grace-ms",
    "media-max-pixels",
};

}  // namespace

bool TakesEffectOnReload(const std::string& setting) {
  return std::find(kReloadable.begin(), kReloadable.end(), setting) != kReloadable.end();
}

std::vector<std::string> NeedRestart(const Config& running, const Config& fresh) {
  std::vector<std::string> changed;
  for (const auto& [name, value] : fresh.settings) {
    auto was = running.settings.find(name);
    if (was != running.settings.end() && was->second == value) continue;
    if (!TakesEffectOnReload(name)) changed.push_back(name);
  }
  return changed;
}

chat::ChatLimits ReloadedLimits(const chat::ChatLimits& running, const chat::ChatLimits& fresh) {
  chat::ChatLimits out = fresh;
  out.large_conversation_members = running.large_conversation_members;
  out.logged_group_members = running.logged_group_members;
  out.update_log_retention = running.update_log_retention;
  out.sync_page = running.sync_page;
  out.webhooks = running.webhooks;
  return out;
}

std::string CheckMediaLimits(const std::string& backend, const media::MediaLimits& limits) {
  if (backend == "s3" && limits.url_ttl_s > 7 * 24 * 3600) {
    return "with s3, media-url-ttl-seconds is at most 604800 (a presigned URL's limit)";
  }
  return {};
}

}  // namespace natter::server
