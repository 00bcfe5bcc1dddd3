#include "gateway/worker.h"

#include "common/guarded.h"

#include <pthread.h>

#include <chrono>

#include "gateway/ws_connection.h"

#include <algorithm>
#include <string>

namespace natter::gateway {

Worker::Worker(int index) : index_(index), read_buffer_(new char[kReadBufferSize]) {}

Worker::~Worker() {
  Stop();
  Join();
}

void Worker::Start() {
  guard_ =
      std::make_unique<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>(ioc_.get_executor());
  Tick();
  thread_ = std::thread([this] {
    // A handler that throws is logged; the loop goes on with the others.
    while (!RunCatching("io worker", [this] { ioc_.run(); })) {
    }
  });
  std::string name = "io-" + std::to_string(index_);
  pthread_setname_np(thread_.native_handle(), name.c_str());
}

void Worker::Stop() {
  guard_.reset();
  ioc_.stop();
}

void Worker::Join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::AddConnection(UserId user, WsConnection* conn) { registry_[user].push_back(conn); }

void Worker::RemoveConnection(UserId user, WsConnection* conn) {
  auto it = registry_.find(user);
  if (it == registry_.end()) return;
  auto& v = it->second;
  v.erase(std::remove(v.begin(), v.end(), conn), v.end());
  if (v.empty()) registry_.erase(it);
}

const std::vector<WsConnection*>* Worker::ConnectionsOf(UserId user) const {
  auto it = registry_.find(user);
  return it == registry_.end() ? nullptr : &it->second;
}

void Worker::CloseAll(uint16_t code, const char* reason) {
  // Close() may detach a connection; iterate over a copy.
  std::vector<WsConnection*> all(live_.begin(), live_.end());
  for (auto* conn : all) conn->Close(code, reason);
}

void Worker::TellAllToResync(const char* reason) {
  for (auto& [user, conns] : registry_) {
    for (auto* conn : conns) conn->TellToResync(reason);
  }
}

void Worker::Tick() {
  std::vector<WsConnection*> all(live_.begin(), live_.end());
  for (auto* conn : all) {
    if (live_.count(conn)) conn->OnTick();
  }
  tick_timer_.expires_after(std::chrono::seconds(1));
  tick_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) Tick();
  });
}

}  // namespace natter::gateway
