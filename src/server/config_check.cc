#include "server/config_check.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "auth/external_token.h"
#include "gateway/tls_transport.h"

namespace natter::server {
namespace {

void CheckReadable(std::vector<std::string>& problems, const std::string& setting, const std::string& path) {
  if (path.empty()) return;
  std::ifstream in(path);
  if (!in) problems.push_back("--" + setting + ": cannot read " + path);
}

}  // namespace

std::vector<std::string> CheckConfigFiles(const Config& c) {
  std::vector<std::string> problems;
  if (!c.gateway.tls_cert.empty()) {
    try {
      gateway::MakeServerTlsContext(c.gateway.tls_cert, c.gateway.tls_key);
    } catch (const std::exception& e) {
      problems.push_back(std::string("--tls-cert/--tls-key: ") + e.what());
    }
  }
  if (!c.external.issuer.empty()) {
    auto verifier = auth::ExternalTokenVerifier::Load(c.external);
    if (!verifier.ok()) problems.push_back("--external-key: " + verifier.error().message);
  }
  std::error_code exists_ec;
  CheckReadable(problems, "jwt-keys",
                c.jwt_keys.empty() || !std::filesystem::exists(c.jwt_keys, exists_ec) ? "" : c.jwt_keys);
  CheckReadable(problems, "apns-key-file", c.push.apns.key_file);
  CheckReadable(problems, "fcm-service-account", c.push.fcm.service_account_file);
  CheckReadable(problems, "push-ca-file", c.push.ca_file);
  CheckReadable(problems, "s3-ca-file", c.s3.ca_file);
  CheckReadable(problems, "webhook-ca-file", c.webhooks.ca_file);
  CheckReadable(problems, "presend-ca-file", c.presend.ca_file);
  if (c.postgres.empty()) {
    // The directory is made at start when missing: then its parent must take it.
    std::filesystem::path dir = std::filesystem::absolute(c.data_dir);
    std::error_code ec;
    while (!std::filesystem::exists(dir, ec) && dir.has_parent_path() && dir != dir.parent_path()) {
      dir = dir.parent_path();
    }
    if (!std::filesystem::is_directory(dir, ec)) {
      problems.push_back("--data-dir: " + dir.string() + " is not a directory");
    } else if (access(dir.c_str(), W_OK | X_OK) != 0) {
      problems.push_back("--data-dir: " + dir.string() + " is not writable by this user");
    }
  }
  return problems;
}

}  // namespace natter::server
