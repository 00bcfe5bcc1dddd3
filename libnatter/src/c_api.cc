// The C API over ClientCore. The last event's text stays alive per calling
// thread until that thread's next receive, as natter.h promises.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <memory>
#include <optional>
#include <string>

#include "natter/client.h"
#include "natter/natter.h"
#include "push_payload.h"

struct natter_client {
  std::unique_ptr<natter::client::Client> client;
};

namespace {
// What natter_last_error() reports, per calling thread.
thread_local std::string last_error;

natter_client* Refuse(std::string why) {
  last_error = std::move(why);
  return nullptr;
}

std::optional<std::string> HexBytes(std::string_view hex) {
  if (hex.size() % 2) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}
}  // namespace

extern "C" {

const char* natter_last_error(void) { return last_error.c_str(); }

natter_client* natter_client_create(const char* options_json) {
  if (!options_json) return Refuse("options are NULL");
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(options_json, ec);
  if (ec || !v.is_object()) return Refuse("options are not a JSON object");
  const auto& o = v.as_object();
  natter::client::ClientOptions options;
  auto str = [&o](const char* key) -> const boost::json::string* {
    auto* f = o.if_contains(key);
    return f && f->is_string() ? &f->as_string() : nullptr;
  };
  if (!str("server") || !str("database_directory")) {
    return Refuse("options need \"server\" and \"database_directory\" strings");
  }
  options.server = std::string(*str("server"));
  options.database_directory = std::string(*str("database_directory"));
  if (str("device")) options.device = std::string(*str("device"));
  if (str("ca_file")) options.ca_file = std::string(*str("ca_file"));
  if (o.contains("device_key")) {
    auto key = str("device_key") ? HexBytes(*str("device_key")) : std::nullopt;
    if (!key || key->size() != 32) return Refuse("\"device_key\" must be 64 hex digits (32 bytes)");
    options.device_key = std::move(*key);
  }
  if (auto* pins = o.if_contains("pins")) {
    if (!pins->is_array()) return Refuse("\"pins\" must be an array of \"sha256/<base64>\" strings");
    for (const auto& pin : pins->as_array()) {
      if (!pin.is_string()) return Refuse("\"pins\" must be an array of \"sha256/<base64>\" strings");
      options.pins.emplace_back(pin.as_string());
    }
  }
  if (auto* v = o.if_contains("upload_chunk_bytes")) {
    if (!v->is_int64() || v->get_int64() < 1024 || v->get_int64() > (64 << 20)) {
      return Refuse("\"upload_chunk_bytes\" must be a whole number from 1024 to 67108864");
    }
    options.upload_chunk_bytes = v->get_int64();
  }
  for (auto [key, field] : {std::pair{"keep_messages", &options.keep_messages}, {"keep_days", &options.keep_days}}) {
    if (auto* v = o.if_contains(key)) {
      if (!v->is_int64() || v->get_int64() < 0 || v->get_int64() > 1'000'000'000) {
        return Refuse(std::string("\"") + key + "\" must be a whole number from 0 to 1000000000");
      }
      *field = v->get_int64();
    }
  }
  if (auto* t = o.if_contains("timeout_seconds")) {
    double seconds = t->is_number() ? t->to_number<double>() : 0;
    if (!(seconds >= 0.01 && seconds <= 3600)) return Refuse("\"timeout_seconds\" must be from 0.01 to 3600");
    options.timeout = std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  }
  std::string server = options.server;
  try {
    auto handle = std::make_unique<natter_client>();
    handle->client = natter::client::Client::Create(std::move(options));
    last_error.clear();
    return handle.release();
  } catch (const std::exception& e) {
    return Refuse(std::string(e.what()) + " (server \"" + server + "\")");
  }
}

void natter_client_send(natter_client* client, const char* request_json) {
  if (!client) return;
  client->client->Send(request_json ? request_json : "");
}

const char* natter_client_receive(natter_client* client, double timeout_seconds) {
  if (!client) return nullptr;
  // At most a day, and NaN as 0: the conversion below must stay defined.
  double seconds = timeout_seconds > 0 ? std::min(timeout_seconds, 86'400.0) : 0.0;
  auto event = client->client->Receive(std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000)));
  if (!event) return nullptr;
  // Kept per calling thread: two threads receiving at once each keep their own.
  thread_local std::string last_event;
  last_event = std::move(*event);
  return last_event.c_str();
}

void natter_client_destroy(natter_client* client) { delete client; }

const char* natter_read_push(const char* payload_json) {
  std::string why;
  auto target = natter::client::ReadPushPayload(payload_json ? payload_json : "", why);
  if (!target) {
    last_error = std::move(why);
    return nullptr;
  }
  thread_local std::string answer;
  answer = boost::json::serialize(natter::client::ToJson(*target));
  return answer.c_str();
}

}  // extern "C"
