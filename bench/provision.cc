#include "bench/provision.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include <boost/json.hpp>

#include "bench/http_client.h"

namespace natter::bench {

namespace json = boost::json;

namespace {

// Runs job(i, client) for i in [0, n) on `parallel` threads, each with a
// keep-alive connection per server; `server_of(i)` picks the server.
bool ParallelFor(const std::vector<Endpoint>& servers, int parallel, size_t n,
                 const std::function<size_t(size_t)>& server_of,
                 const std::function<bool(size_t, HttpClient&, std::string&)>& job, std::string& error) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(parallel));
  for (int t = 0; t < parallel; ++t) {
    threads.emplace_back([&] {
      std::vector<std::unique_ptr<HttpClient>> clients;
      clients.reserve(servers.size());
      for (const auto& s : servers) clients.push_back(std::make_unique<HttpClient>(s.host, s.port));
      for (;;) {
        const size_t i = next.fetch_add(1);
        if (i >= n || failed.load()) return;
        std::string e;
        if (!job(i, *clients[server_of(i) % clients.size()], e)) {
          std::lock_guard lock(mu);
          if (!failed.exchange(true)) error = e;
          return;
        }
      }
    });
  }
  // Long provisioning (150,000 users take about a minute) says how far it got.
  int64_t next_print = NowNs() + 1'000'000'000;
  while (next.load() < n && !failed.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (NowNs() >= next_print) {
      std::fprintf(stderr, "[provisioning] %zu of %zu\n", std::min(next.load(), n), n);
      next_print += 1'000'000'000;
    }
  }
  for (auto& t : threads) t.join();
  return !failed.load();
}

bool Login(BenchUser& u, HttpClient& http, std::string& error) {
  json::object body{{"handle", u.handle}, {"password", u.password}, {"device", "bench"}};
  HttpAnswer a = http.Request("POST", "/v1/auth/login", json::serialize(body));
  if (!a.ok()) {
    error = "login " + u.handle + ": " + (a.status ? std::to_string(a.status) + " " + a.body : a.error);
    return false;
  }
  auto v = json::parse(a.body).as_object();
  u.id = v.at("user_id").to_number<int64_t>();
  u.token = std::string(v.at("access_token").as_string());
  return true;
}

// A device token of APNs's shape (64 hex digits), distinct per user.
bool RegisterPushToken(const BenchUser& u, size_t index, HttpClient& http, std::string& error) {
  char token[65];
  std::snprintf(token, sizeof token, "%032zx%032zx", index, index * 2654435761u + 1);
  json::object body{{"platform", "apns"}, {"token", token}};
  HttpAnswer a = http.Request("PUT", "/v1/me/push-device", json::serialize(body), u.token);
  if (a.ok()) return true;
  error = "push token of " + u.handle + ": " + (a.status ? std::to_string(a.status) + " " + a.body : a.error);
  return false;
}

// Lets the bench's groups add this user at once: consent (invitations) is
// not what a throughput run measures.
bool AllowGroupAdds(const BenchUser& u, HttpClient& http, std::string& error) {
  HttpAnswer a = http.Request("PUT", "/v1/me/privacy", R"({"group_adds":"everyone"})", u.token);
  if (a.ok()) return true;
  error = "privacy of " + u.handle + ": " + (a.status ? std::to_string(a.status) + " " + a.body : a.error);
  return false;
}

}  // namespace

bool Provisioner::EnsureUsers(std::vector<BenchUser>& users, size_t n, std::string& error) {
  const size_t have = users.size();
  if (have >= n) return true;
  const int64_t start = NowNs();
  users.resize(n);
  for (size_t i = have; i < n; ++i) {
    users[i].handle = "b" + run_tag_ + "u" + std::to_string(i);
    users[i].password = "bench-password-" + std::to_string(i);
  }
  bool ok = ParallelFor(
      servers_, parallel_, n - have, [have](size_t k) { return have + k; },
      [&](size_t k, HttpClient& http, std::string& e) {
        BenchUser& u = users[have + k];
        json::object body{{"handle", u.handle}, {"password", u.password}};
        HttpAnswer a = http.Request("POST", "/v1/auth/register", json::serialize(body));
        if (!a.ok() && a.status != 409) {
          e = "register " + u.handle + ": " + (a.status ? std::to_string(a.status) + " " + a.body : a.error);
          return false;
        }
        if (!Login(u, http, e) || !AllowGroupAdds(u, http, e)) return false;
        return !push_tokens_ || RegisterPushToken(u, have + k, http, e);
      },
      error);
  if (!ok) users.resize(have);
  seconds_ += (NowNs() - start) / 1e9;
  return ok;
}

bool Provisioner::Relogin(std::vector<BenchUser>& users, size_t n, std::string& error) {
  const int64_t start = NowNs();
  bool ok = ParallelFor(
      servers_, parallel_, std::min(n, users.size()), [](size_t i) { return i; },
      [&](size_t i, HttpClient& http, std::string& e) { return Login(users[i], http, e); }, error);
  seconds_ += (NowNs() - start) / 1e9;
  return ok;
}

bool Provisioner::CreateDirect(const std::vector<BenchUser>& users, const std::vector<std::pair<int, int>>& pairs,
                               std::vector<int64_t>& ids, std::string& error) {
  const int64_t start = NowNs();
  ids.assign(pairs.size(), 0);
  bool ok = ParallelFor(
      servers_, parallel_, pairs.size(), [&](size_t i) { return static_cast<size_t>(pairs[i].first); },
      [&](size_t i, HttpClient& http, std::string& e) {
        const BenchUser& a = users[pairs[i].first];
        const BenchUser& b = users[pairs[i].second];
        json::object body{{"kind", "direct"}, {"peer_id", b.id}};
        HttpAnswer r = http.Request("POST", "/v1/conversations", json::serialize(body), a.token);
        if (!r.ok()) {
          e = "create direct: " + (r.status ? std::to_string(r.status) + " " + r.body : r.error);
          return false;
        }
        ids[i] = json::parse(r.body).as_object().at("id").to_number<int64_t>();
        return true;
      },
      error);
  seconds_ += (NowNs() - start) / 1e9;
  return ok;
}

bool Provisioner::PublishKeys(std::vector<BenchUser>& users, size_t n, std::string& error) {
  // One identity for every bench device, made and signed by libsignal (the
  // tests' first vector): natterd checks the signature, not that identities differ.
  static const json::object kKeys{
      {"registration_id", 4242},
      {"identity_key", "BXpLHhlLCTLpLtEBVIG3srirWgJZkcs75hTtGsNWb3Jh"},
      {"signed_prekey",
       json::object{{"id", 1},
                    {"key", "BYc293w2oIA20EnoGsS8uBiOnKjDBV_YbijeCtLqBoxp"},
                    {"signature",
                     "5g5wWt-BY7TWmjQ8bLnKC7pOoF9hhK0N1LGFf1BhcFinVjemNv-kq3DL7gfapwxhMz6WbmmCG70RUE1eI6"
                     "NsBA"}}}};
  const int64_t start = NowNs();
  bool ok = ParallelFor(
      servers_, parallel_, n, [](size_t k) { return k; },
      [&](size_t k, HttpClient& http, std::string& e) {
        BenchUser& u = users[k];
        HttpAnswer a = http.Request("PUT", "/v1/me/keys", json::serialize(kKeys), u.token);
        if (!a.ok()) {
          e = "publish keys of " + u.handle + ": " + (a.status ? std::to_string(a.status) + " " + a.body : a.error);
          return false;
        }
        u.device_id = json::parse(a.body).as_object().at("device_id").to_number<int64_t>();
        return true;
      },
      error);
  seconds_ += (NowNs() - start) / 1e9;
  return ok;
}

bool Provisioner::CreateGroups(const std::vector<BenchUser>& users, const std::vector<std::vector<int>>& groups,
                               std::vector<int64_t>& ids, std::string& error, bool encrypted) {
  const int64_t start = NowNs();
  ids.assign(groups.size(), 0);
  bool ok = ParallelFor(
      servers_, parallel_, groups.size(), [&](size_t i) { return static_cast<size_t>(groups[i][0]); },
      [&](size_t i, HttpClient& http, std::string& e) {
        const auto& g = groups[i];
        json::array members;
        for (size_t k = 1; k < g.size(); ++k) members.push_back(users[g[k]].id);
        json::object body{{"kind", "group"}, {"title", "bench " + std::to_string(i)}, {"members", std::move(members)}};
        if (encrypted) body["encrypted"] = true;
        HttpAnswer r = http.Request("POST", "/v1/conversations", json::serialize(body), users[g[0]].token);
        if (!r.ok()) {
          e = "create group of " + std::to_string(g.size()) + ": " +
              (r.status ? std::to_string(r.status) + " " + r.body.substr(0, 300) : r.error);
          return false;
        }
        ids[i] = json::parse(r.body).as_object().at("id").to_number<int64_t>();
        return true;
      },
      error);
  seconds_ += (NowNs() - start) / 1e9;
  return ok;
}

}  // namespace natter::bench
