#include "natterd_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <regex>
#include <stdexcept>

#include "fakes/temp_db.h"

namespace natter::testing {

NatterdProcess::NatterdProcess(std::vector<std::string> extra_args) : data_dir_(MakeTempDir("natter-cc-it")) {
  std::vector<std::string> args = {NATTERD_PATH,         "--data-dir", data_dir_,   "--port", "0",
                                   "--password-profile", "minimal",    "--workers", "2"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  int out[2];
  if (pipe(out) != 0) throw std::runtime_error("pipe failed");
  pid_ = fork();
  if (pid_ == 0) {
    dup2(out[1], STDOUT_FILENO);
    dup2(out[1], STDERR_FILENO);
    close(out[0]);
    close(out[1]);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  stdout_fd_ = out[0];
  // Read until the line that says where it listens (bounded in time).
  std::string seen;
  std::regex listening(R"(listening on https?://[0-9.]+:(\d+))");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{stdout_fd_, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    char buf[4096];
    ssize_t n = read(stdout_fd_, buf, sizeof(buf));
    if (n <= 0) break;
    seen.append(buf, static_cast<size_t>(n));
    std::smatch m;
    if (std::regex_search(seen, m, listening)) {
      port_ = static_cast<unsigned short>(std::stoi(m[1]));
      // Keep draining its output so it never blocks on a full pipe.
      fcntl(stdout_fd_, F_SETFL, O_NONBLOCK);
      return;
    }
  }
  Stop();
  throw std::runtime_error("natterd did not start: " + seen);
}

NatterdProcess::~NatterdProcess() {
  Stop();
  std::filesystem::remove_all(data_dir_);
}

int NatterdProcess::Stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    char buf[4096];
    while (read(stdout_fd_, buf, sizeof(buf)) > 0) {
    }
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    usleep(20000);
  }
  pid_ = -1;
  close(stdout_fd_);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace natter::testing
