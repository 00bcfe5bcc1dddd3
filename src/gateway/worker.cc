#include "gateway/worker.h"

#include <pthread.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <string>

#include "common/asio_executor.h"
#include "common/guarded.h"
#include "gateway/ws_connection.h"
#include "ops/crash_report.h"

namespace natter::gateway {

struct Worker::Loop {
  boost::asio::io_context ioc{1};
  AsioExecutor executor{ioc};
  boost::asio::steady_timer tick_timer{ioc};
  boost::asio::steady_timer flush_timer{ioc};  // armed while flush_soon_ is not empty
  std::unique_ptr<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guard;
};

Worker::Worker(int index) : index_(index), loop_(std::make_unique<Loop>()), read_buffer_(new char[kReadBufferSize]) {}

boost::asio::io_context& Worker::context() { return loop_->ioc; }

Executor& Worker::executor() { return loop_->executor; }

Worker::~Worker() {
  Stop();
  Join();
}

void Worker::Start() {
  loop_->guard = std::make_unique<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>(
      loop_->ioc.get_executor());
  Tick();
  thread_ = std::thread([this] {
    ops::UseCrashStackOnThisThread();
    // A handler that throws is logged; the loop goes on with the others.
    while (!RunCatching("io worker", [this] { loop_->ioc.run(); })) {
    }
  });
  std::string name = "io-" + std::to_string(index_);
  pthread_setname_np(thread_.native_handle(), name.c_str());
}

void Worker::Stop() {
  loop_->guard.reset();
  loop_->ioc.stop();
}

void Worker::Join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::AddConnection(UserId user, EventTarget* conn) { registry_[user].push_back(conn); }

void Worker::RemoveConnection(UserId user, EventTarget* conn) {
  auto it = registry_.find(user);
  if (it == registry_.end()) return;
  auto& v = it->second;
  v.erase(std::remove(v.begin(), v.end(), conn), v.end());
  if (v.empty()) registry_.erase(it);
}

const std::vector<EventTarget*>* Worker::ConnectionsOf(UserId user) const {
  auto it = registry_.find(user);
  return it == registry_.end() ? nullptr : &it->second;
}

void Worker::CloseAll(uint16_t code, const char* reason) {
  // Close() may detach a connection; iterate over a copy.
  std::vector<WsConnection*> all(live_.begin(), live_.end());
  for (auto* conn : all) conn->Close(code, reason);
}

size_t Worker::CloseShare(size_t parts, uint16_t code, const char* reason) {
  // Connections waiting for an answer are left for a later share (or the
  // stop, which writes every answer before its close): a close frame now
  // would go out before the answer, and a committed send would look lost.
  std::vector<WsConnection*> open, idle;
  for (auto* conn : live_) {
    if (conn->closing()) continue;
    open.push_back(conn);
    if (!conn->busy()) idle.push_back(conn);
  }
  // Fractions carry over: 6 connections over 30 parts close one every fifth
  // call, not one a call for the first six.
  drain_carry_ += parts == 0 ? static_cast<double>(open.size()) : static_cast<double>(open.size()) / parts;
  auto share = std::min(idle.size(), static_cast<size_t>(drain_carry_));
  drain_carry_ -= static_cast<double>(share);
  for (size_t i = 0; i < share; ++i) idle[i]->Close(code, reason);
  return open.size() - share;
}

void Worker::TellAllToResync(const char* reason) {
  for (auto& [user, conns] : registry_) {
    for (auto* conn : conns) conn->TellToResync(reason);
  }
}

void Worker::FlushSoon(WsConnection* conn) {
  flush_soon_.push_back(conn);
  if (flush_soon_.size() > 1) return;  // the timer is armed
  loop_->flush_timer.expires_after(std::chrono::milliseconds(presence_wait_ms_));
  loop_->flush_timer.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) FlushWaiting();
  });
}

void Worker::FlushWaiting() {
  std::vector<WsConnection*> due;
  due.swap(flush_soon_);
  // A connection may have gone since: only live ones are asked (as Tick does).
  for (auto* conn : due) {
    if (live_.count(conn)) conn->FlushWaitingPresence();
  }
}

void Worker::Tick() {
  std::vector<WsConnection*> all(live_.begin(), live_.end());
  for (auto* conn : all) {
    if (live_.count(conn)) conn->OnTick();
  }
  loop_->tick_timer.expires_after(std::chrono::seconds(1));
  loop_->tick_timer.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) Tick();
  });
}

}  // namespace natter::gateway
