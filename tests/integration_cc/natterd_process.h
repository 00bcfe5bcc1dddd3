// Starts a real natterd on 127.0.0.1, port 0, with a fresh data directory,
// and stops it (SIGTERM) at the end. For integration tests in C++.
#pragma once

#include <string>
#include <vector>

namespace natter::testing {

class NatterdProcess {
 public:
  // Extra flags are appended to the defaults (--port 0 --password-profile minimal ...).
  explicit NatterdProcess(std::vector<std::string> extra_args = {});
  ~NatterdProcess();
  NatterdProcess(const NatterdProcess&) = delete;
  NatterdProcess& operator=(const NatterdProcess&) = delete;

  unsigned short port() const { return port_; }
  const std::string& data_dir() const { return data_dir_; }
  // SIGTERM and wait; returns the exit status (or -1).
  int Stop();

 private:
  int pid_ = -1;
  int stdout_fd_ = -1;
  unsigned short port_ = 0;
  std::string data_dir_;
};

}  // namespace natter::testing
