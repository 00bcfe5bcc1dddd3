// libnatter's C++ API: the client core a mobile app embeds. It keeps the
// connection (connect, authenticate, refresh, reconnect with backoff, ping),
// a local SQLite store the UI reads from while offline, an outbox that sends
// every message exactly once across crashes, and the sync engine that resumes
// from the last token. Requests and events are JSON objects, the same as the C
// API (natter.h); docs/client.md lists them.
//
// Thread-safety: Send() and the event queue may be used from any thread; the
// client works on its own thread and never blocks the caller.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace natter::client {

struct ClientOptions {
  // http://host:port, or https://host:port for TLS (ws:// and wss:// mean the same).
  std::string server = "http://127.0.0.1:8080";
  // TLS trusts the system's CA store, or only the PEM certificates in ca_file
  // when it is set (a private deployment's own CA). Pins, when given, also
  // require one of these public keys ("sha256/<base64 of the SHA-256 of the
  // DER SubjectPublicKeyInfo>") in the server's verified chain.
  std::string ca_file;
  std::vector<std::string> pins;
  // A connection attempt (resolve, connect, TLS and upgrade together) or an
  // HTTP call gives up after this long.
  std::chrono::milliseconds timeout{10000};
  // Retention of the local store: the newest keep_messages entries of each
  // conversation (0: all), and none older than keep_days days (0: no age
  // limit; the newest message of a conversation stays for its preview).
  // History beyond that is fetched from the server when the app asks for it.
  int64_t keep_messages = 1000;
  int64_t keep_days = 0;
  // Bytes of a file sent in one upload request (tus PATCH): smaller ones
  // lose less to a cut connection, larger ones cost fewer round trips.
  int64_t upload_chunk_bytes = 1 << 20;
  std::string database_directory;  // the local store lives here (one per profile)
  std::string device = "libnatter";
  // End-to-end encryption (docs/e2ee.md): the 32-byte key that seals this
  // device's private keys and sessions on disk, which the app keeps in the
  // platform keystore (Android Keystore, iOS Keychain). Empty: this device
  // takes no part in encrypted conversations.
  std::string device_key;
  // When set, events go to this callback on the client's thread instead of
  // the queue read by Receive().
  std::function<void(const std::string& event_json)> on_event;
};

class Client {
 public:
  virtual ~Client() = default;
  // Throws std::runtime_error when the local store cannot be opened.
  static std::unique_ptr<Client> Create(ClientOptions options);

  // Queues a JSON request ({"@type": ..., "@extra": ...}).
  virtual void Send(std::string request_json) = 0;
  // The next event, waiting up to `timeout`; nullopt when none came.
  virtual std::optional<std::string> Receive(std::chrono::milliseconds timeout) = 0;
};

}  // namespace natter::client
