// The composition root: builds every part from the Config and wires them
// together (store, accounts, broker, dispatcher, gateway). Nothing else in the
// project names concrete implementations.
// Thread-safety: Start/Stop from one thread (main).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "server/config.h"

namespace natter::server {

class Server {
 public:
  explicit Server(Config config);
  ~Server();

  // Opens storage, binds and starts serving. Throws on start-up failure.
  // Returns the bound port.
  uint16_t Start();
  // The first half of a graceful stop: not ready, nothing new accepted, and
  // open WebSocket connections closed with 1012 (service restart) a share at
  // a time over `window`, while the rest keep working. `wait(step)` sleeps
  // between shares and returns true to cut the window short (a second signal).
  void Drain(std::chrono::milliseconds window, const std::function<bool(std::chrono::milliseconds)>& wait);
  // Graceful stop: no new connections, in-flight commits finish, every client
  // gets a close frame.
  void Stop();
  // Applies what a running server can take from a new configuration (SIGHUP,
  // server/config_reload.h): the TLS certificate and key, then the limits.
  // A certificate that fails to load leaves everything as it was. Settings
  // only a restart applies are named in a warning.
  Status Reload(const Config& fresh);

 private:
  // Opens the push providers and starts the push worker when one is configured.
  void StartPush();
  void StartMedia();
  // Logs each handle --admins or --moderators names that has no account:
  // whoever registers it first gets the role (docs/admin.md).
  void WarnOfUnclaimedOperators();
  struct Parts;
  Config config_;
  std::unique_ptr<Parts> parts_;
};

}  // namespace natter::server
