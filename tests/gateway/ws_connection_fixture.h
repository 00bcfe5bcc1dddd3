// A real WsConnection over a transport that records what it writes, with a
// store, accounts and dispatcher behind it: for tests of what a connection
// does on its own (timeouts, the order events go out in).
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>
#include <vector>

#include "accounts/account_service.h"
#include "api/dispatcher.h"
#include "auth/access_token.h"
#include "auth/key_ring.h"
#include "common/thread_pool.h"
#include "fakes/temp_db.h"
#include "gateway/worker.h"
#include "gateway/ws/frame.h"
#include "gateway/ws_connection.h"

namespace natter::gateway::testing_support {

// Records what the connection writes; never reads anything.
class RecordingTransport final : public Transport {
 public:
  explicit RecordingTransport(std::string* written) : written_(written) {}
  void ReadSome(ReadHandler handler) override { read_ = std::move(handler); }
  void Write(const std::vector<boost::asio::const_buffer>& buffers, WriteHandler handler) override {
    for (const auto& b : buffers) written_->append(static_cast<const char*>(b.data()), b.size());
    handler({});
  }
  void MakeRoomForLastFrames() override {}
  void ShutdownSend() override {}
  void Close() override { read_ = nullptr; }
  // The peer goes away: the pending read fails, the connection tears down
  // and lets go of itself (the read handler holds it).
  void Hangup() {
    if (auto read = std::move(read_)) read(boost::asio::error::connection_reset, {});
  }

 private:
  std::string* written_;
  ReadHandler read_;
};

class NullSink final : public EventSink {
 public:
  void Deliver(const Event&) override {}
};

class WsConnectionTest : public ::testing::Test {
 protected:
  WsConnectionTest() {
    store = OpenSqliteStore(SqliteOptions{dir + "/natter.db"});
    broker = MakeLocalBroker(sink);
    accounts = std::make_unique<accounts::AccountService>(*store, pool, tokens, ids, clock, accounts::AccountOptions{});
    dispatcher = std::make_unique<api::Dispatcher>(
        api::DispatcherDeps{*store, *broker, *accounts, ids, clock, limits, metrics, keys, nullptr});
    deps = std::make_unique<ConnectionDeps>(
        ConnectionDeps{*dispatcher, *accounts, metrics, options, clock, limiter, nullptr});
  }
  ~WsConnectionTest() override {
    if (transport) transport->Hangup();
    store->Shutdown();
    std::filesystem::remove_all(dir);
  }

  // An unauthenticated connection, started.
  std::shared_ptr<WsConnection> Open() {
    auto owned = std::make_unique<RecordingTransport>(&written);
    transport = owned.get();
    auto conn = std::make_shared<WsConnection>(*deps, worker, std::move(owned), false, std::string(), std::nullopt,
                                               "127.0.0.1");
    conn->Start();
    return conn;
  }

  std::string dir = testing::MakeTempDir("natter-ws-clock");
  ManualClock clock{1'800'000'000'000};
  IdGenerator ids{clock, 1};
  auth::KeyRing keys{{{"k1", std::string(auth::kSigningKeyBytes, 'a')}}};
  auth::AccessTokenCodec tokens{keys, auth::TokenPolicy{}};
  ThreadPool pool{"test-hash", 1, 16};
  chat::ChatLimits limits;
  ops::Metrics metrics;
  GatewayOptions options;
  RequestLimiter limiter{options};
  NullSink sink;
  std::unique_ptr<Store> store;
  std::unique_ptr<Broker> broker;
  std::unique_ptr<accounts::AccountService> accounts;
  std::unique_ptr<api::Dispatcher> dispatcher;
  std::unique_ptr<ConnectionDeps> deps;
  Worker worker{0};
  std::string written;
  RecordingTransport* transport = nullptr;  // owned by the connection
};

}  // namespace natter::gateway::testing_support
