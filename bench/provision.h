// Creates what a run needs on the server over HTTP, before anything is
// measured: users (register + login, one session each) and conversations
// (direct pairs and groups). Runs in the coordinator before workers fork, on
// a few blocking connections in parallel threads that are joined afterwards.
//
// Thread-safety: call from one thread; it starts and joins its own threads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bench/sim_client.h"

namespace natter::bench {

struct Endpoint {
  std::string host;
  unsigned short port = 0;
};

class Provisioner {
 public:
  // With several servers (separate natterd processes without a shared
  // store), user i lives on servers[i % size]; conversations are created on
  // the server of their first member.
  // `push_tokens`: each new user registers an APNs device token after logging in.
  Provisioner(std::vector<Endpoint> servers, int parallel, std::string run_tag, bool push_tokens = false)
      : servers_(std::move(servers)), parallel_(parallel), run_tag_(std::move(run_tag)), push_tokens_(push_tokens) {}

  // Makes sure users[0..n) exist and are logged in (new ones are appended).
  // False with `error` set when the server refuses or does not answer.
  bool EnsureUsers(std::vector<BenchUser>& users, size_t n, std::string& error);
  // A direct conversation per pair (a, b); returns ids in order.
  bool CreateDirect(const std::vector<BenchUser>& users, const std::vector<std::pair<int, int>>& pairs,
                    std::vector<int64_t>& ids, std::string& error);
  // Groups: owner + members (indices into users); end-to-end encrypted ones
  // when asked (their members need PublishKeys first).
  bool CreateGroups(const std::vector<BenchUser>& users, const std::vector<std::vector<int>>& groups,
                    std::vector<int64_t>& ids, std::string& error, bool encrypted = false);
  // Each of users[0..n) publishes end-to-end encryption keys as the device
  // of its current session (BenchUser::device_id).
  bool PublishKeys(std::vector<BenchUser>& users, size_t n, std::string& error);
  // Fresh access tokens for users[0..n) (a run can outlast a token's 15 minutes).
  bool Relogin(std::vector<BenchUser>& users, size_t n, std::string& error);

  double seconds_spent() const { return seconds_; }

 private:
  std::vector<Endpoint> servers_;
  int parallel_;
  std::string run_tag_;
  bool push_tokens_ = false;
  double seconds_ = 0;
};

}  // namespace natter::bench
