// The C API over ClientCore. Each handle keeps the last event's text alive
// until the next receive, as natter.h promises.
#include <boost/json/parse.hpp>
#include <mutex>
#include <string>

#include "natter/client.h"
#include "natter/natter.h"

struct natter_client {
  std::unique_ptr<natter::client::Client> client;
  std::mutex last_mu;
  std::string last;
};

extern "C" {

natter_client* natter_client_create(const char* options_json) {
  if (!options_json) return nullptr;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(options_json, ec);
  if (ec || !v.is_object()) return nullptr;
  const auto& o = v.as_object();
  natter::client::ClientOptions options;
  auto str = [&o](const char* key) -> const boost::json::string* {
    auto* f = o.if_contains(key);
    return f && f->is_string() ? &f->as_string() : nullptr;
  };
  if (!str("server") || !str("database_directory")) return nullptr;
  options.server = std::string(*str("server"));
  options.database_directory = std::string(*str("database_directory"));
  if (str("device")) options.device = std::string(*str("device"));
  try {
    auto* handle = new natter_client;
    handle->client = natter::client::Client::Create(std::move(options));
    return handle;
  } catch (const std::exception&) {
    return nullptr;
  }
}

void natter_client_send(natter_client* client, const char* request_json) {
  if (!client) return;
  client->client->Send(request_json ? request_json : "");
}

const char* natter_client_receive(natter_client* client, double timeout_seconds) {
  if (!client) return nullptr;
  auto ms = std::chrono::milliseconds(static_cast<int64_t>(std::max(0.0, timeout_seconds) * 1000));
  auto event = client->client->Receive(ms);
  if (!event) return nullptr;
  std::lock_guard lock(client->last_mu);
  client->last = std::move(*event);
  return client->last.c_str();
}

void natter_client_destroy(natter_client* client) { delete client; }

}  // extern "C"
