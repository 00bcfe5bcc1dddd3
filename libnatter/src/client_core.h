// The client core behind Client and the C API: one thread owns all state
// (connection, local store, outbox, sync); requests arrive by post, events
// leave through a queue or the app's callback.
//
// Thread-safety: Send/Receive from any thread; everything else runs on the
// client's thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/json/object.hpp>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "local_store.h"
#include "natter/client.h"

namespace natter::client {

class ClientCore final : public Client {
 public:
  explicit ClientCore(ClientOptions options);
  ~ClientCore() override;

  void Send(std::string request_json) override;
  std::optional<std::string> Receive(std::chrono::milliseconds timeout) override;

 private:
  using Json = boost::json::object;
  using ServerReply = std::function<void(const Json& frame)>;  // a "result" or "error" frame

  // Requests from the app.
  void Handle(const Json& request);
  void Register(const Json& req);
  void Login(const Json& req);
  void Logout(const Json& req);
  void SendMessage(const Json& req);
  void GetHistory(const Json& req);
  void MarkRead(const Json& req);
  void Forward(const Json& req, const std::string& method);  // online-only calls
  void Answer(const Json& req, Json data);
  void Fail(const Json& req, const std::string& code, const std::string& message);

  // Connection.
  void Connect();
  void OnConnected();
  void ScheduleReconnect();
  void Disconnected(const std::string& why);
  void ReadNext();
  void OnFrame(const Json& frame);
  void Call(Json request, ServerReply reply);  // a request on the socket, answered by id
  void WriteNext();
  // Refreshes the access token when it is close to expiry (or `force`); false
  // when there is no usable token now.
  bool EnsureFreshToken(bool force = false);
  void RefreshSoon();

  // Sync and outbox.
  void StartSync();
  void ApplyEntry(const Json& entry, bool live);
  void ApplyReceipt(int64_t conversation_id, int64_t user_id, int64_t delivered, int64_t read, bool live);
  void FlushOutbox();
  void SendFromOutbox(const OutboxEntry& e);
  void UpdateOutgoingStates(int64_t conversation_id);
  // Tells the server what reached this device (delivered watermarks).
  void AckDelivered();

  void Emit(const Json& event);
  void SetConnectionState(const std::string& state);

  ClientOptions options_;
  std::string host_, port_;
  boost::asio::io_context ioc_;
  std::unique_ptr<LocalStore> store_;
  std::unique_ptr<boost::beast::websocket::stream<boost::beast::tcp_stream>> ws_;
  boost::asio::steady_timer reconnect_timer_{ioc_};
  boost::asio::steady_timer refresh_timer_{ioc_};
  std::deque<std::string> writes_;
  bool writing_ = false;
  bool connecting_ = false;
  bool ready_ = false;  // authenticated and caught up
  bool stopping_ = false;
  int attempt_ = 0;
  uint64_t next_id_ = 1;
  std::map<std::string, ServerReply> pending_;
  std::map<int64_t, std::string> reported_state_;  // last state told per outgoing seq
  std::map<int64_t, int64_t> to_ack_;              // conversation -> highest seq received, not yet acked
  std::set<std::string> sending_;                  // outbox entries on the wire, awaiting their answer
  std::string connection_state_;
  int64_t user_id_ = 0;
  std::mt19937_64 rng_{std::random_device{}()};

  std::mutex events_mu_;
  std::condition_variable events_cv_;
  std::deque<std::string> events_;
  std::thread thread_;
};

}  // namespace natter::client
