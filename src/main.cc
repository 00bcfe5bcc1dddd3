// natterd: parses the configuration, starts the server, and stops it cleanly
// on SIGINT or SIGTERM.
#include <spdlog/spdlog.h>
#include <csignal>
#include <cstdio>
#include <filesystem>

#include "server/server.h"

int main(int argc, char** argv) {
  int exit_code = 0;
  auto config = natter::server::LoadConfig(argc, argv, exit_code);
  if (!config) return exit_code;

  spdlog::set_level(spdlog::level::from_str(config->log_level));
  if (config->log_json) {
    spdlog::set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","thread":%t,"msg":"%v"})");
  }

  // Block the stop signals in every thread; main waits for them below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  natter::server::Server server(*config);
  uint16_t port = 0;
  try {
    port = server.Start();
  } catch (const std::exception& e) {
    spdlog::critical("cannot start: {}", e.what());
    return 1;
  }
  std::string scheme = config->gateway.tls_cert.empty() ? "http" : "https";
  spdlog::info("data in {}", std::filesystem::weakly_canonical(std::filesystem::absolute(config->data_dir)).string());
  spdlog::info("natterd listening on {}://{}:{} (WebSocket at /v1/ws)", scheme, config->gateway.listen_address, port);
  std::fflush(stdout);

  int received = 0;
  sigwait(&signals, &received);
  spdlog::info("signal {} received, stopping", received);
  server.Stop();
  spdlog::info("stopped");
  return 0;
}
