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

namespace natter::client {

struct ClientOptions {
  std::string server = "http://127.0.0.1:8080";  // http(s)://host:port
  std::string database_directory;                // the local store lives here (one per profile)
  std::string device = "libnatter";
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
