// What SIGHUP changes in a running natterd (docs/operations.md, "Reloading"):
// the log level, the TLS certificate and the limits. Every other setting is
// read once at start; a reload that changes one says so in the log.
#pragma once

#include <string>
#include <vector>

#include "server/config.h"

namespace natter::server {

// True for the settings a reload applies.
bool TakesEffectOnReload(const std::string& setting);

// The settings whose value differs between `running` and `fresh` and that
// only a restart applies, by name.
std::vector<std::string> NeedRestart(const Config& running, const Config& fresh);

// The chat limits a reload sets: `fresh`'s, except those the stored data
// depends on (large conversations, the update log's length, the sync page)
// and the webhook selection, which stay as `running` has them.
chat::ChatLimits ReloadedLimits(const chat::ChatLimits& running, const chat::ChatLimits& fresh);

// What is wrong with media limits on `backend`, or empty: checked at start
// and before a reload applies them.
std::string CheckMediaLimits(const std::string& backend, const media::MediaLimits& limits);

}  // namespace natter::server
