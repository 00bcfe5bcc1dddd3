// `natterd check-config`: what LoadConfig cannot see from the settings alone,
// checked without starting anything: the files they name can be read and
// loaded (TLS certificate and key, the external issuer's key, push provider
// keys, CA files) and the data directory can be written.
#pragma once

#include <string>
#include <vector>

#include "server/config.h"

namespace natter::server {

// One line per problem; empty when the configuration would start.
std::vector<std::string> CheckConfigFiles(const Config& config);

}  // namespace natter::server
