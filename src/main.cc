// natterd: parses the configuration, starts the server, reloads what it can
// on SIGHUP, and on SIGINT or SIGTERM drains and stops cleanly.
// `natterd check-config [settings]` only checks the configuration;
// `natterd backup [settings] DEST` copies a data directory instead.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <string_view>

#include "common/private_files.h"
#include "common/version.h"
#include "ops/crash_report.h"
#include "ops/heap_trimmer.h"
#include "ops/log_format.h"
#include "server/backup_command.h"
#include "server/config_check.h"
#include "server/data_files.h"
#include "server/server.h"

namespace {

using natter::server::Config;

int CheckConfig(int argc, char** argv) {
  int exit_code = 0;
  auto config = natter::server::LoadConfig(argc, argv, exit_code);
  if (!config) return exit_code;
  auto problems = natter::server::CheckConfigFiles(*config);
  for (const auto& problem : problems) std::cerr << "natterd: " << problem << "\n";
  if (!problems.empty()) return 2;
  std::cout << "natterd: the configuration is valid\n";
  return 0;
}

natter::ops::LogFormat FormatOf(const Config& config) {
  return *natter::ops::ParseLogFormat(config.log_format, isatty(STDOUT_FILENO) != 0);
}

// SIGHUP: the configuration is read again (file, environment, the same
// flags); the log level, the TLS certificate and the limits take effect at
// once (server/config_reload.h). A configuration that no longer loads
// changes nothing.
void Reload(int argc, char** argv, natter::server::Server& server) {
  int exit_code = 0;
  auto fresh = natter::server::LoadConfig(argc, argv, exit_code);
  if (!fresh) return spdlog::error("reload: the configuration did not load (see above); nothing changed");
  auto st = server.Reload(*fresh);
  if (!st.ok()) return spdlog::error("reload: {}; nothing changed", st.error().message);
  spdlog::set_level(spdlog::level::from_str(fresh->log_level));
  spdlog::info("reload: log level {}, limits{}", fresh->log_level,
               fresh->gateway.tls_cert.empty() ? "" : ", TLS certificate reloaded");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string_view(argv[1]) == "check-config") return CheckConfig(argc - 1, argv + 1);
  if (argc > 1 && std::string_view(argv[1]) == "backup") return natter::server::RunBackupCommand(argc - 1, argv + 1);
  // Block the signals in every thread, first thing: a SIGHUP (systemctl
  // reload) that comes while natterd starts must wait, not end it. Main
  // waits for them below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  natter::ops::KeepBatchMemoryInHeaps();

  int exit_code = 0;
  auto config = natter::server::LoadConfig(argc, argv, exit_code);
  if (!config) return exit_code;
  natter::ops::SetupLogging(FormatOf(*config), spdlog::level::from_str(config->log_level));
  // On every way out of main: the log's writer thread stops before the
  // statics (spdlog's registry among them) are destroyed.
  struct LoggingStop {
    ~LoggingStop() { natter::ops::StopLogging(); }
  } logging_stop;
  try {
    // The data directory first, so the crash directory's parent is made 0700 too.
    (void)natter::MakePrivateDirectory(config->data_dir);
    natter::ops::InstallCrashReporter(config->data_dir + "/" + natter::server::kCrashDir, natter::Version());
  } catch (const std::exception& e) {
    spdlog::critical("cannot start: {}", e.what());
    return 1;
  }

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
  for (;;) {
    sigwait(&signals, &received);
    if (received != SIGHUP) break;
    Reload(argc, argv, server);
  }
  spdlog::info("signal {} received, stopping", received);
  // A second SIGINT or SIGTERM cuts the drain short.
  server.Drain(std::chrono::milliseconds(config->drain_ms), [&signals](std::chrono::milliseconds step) {
    timespec wait{static_cast<time_t>(step.count() / 1000), static_cast<long>(step.count() % 1000) * 1000000};
    int again = sigtimedwait(&signals, nullptr, &wait);
    return again == SIGINT || again == SIGTERM;
  });
  server.Stop();
  spdlog::info("stopped");
  return 0;
}
