// The one table of API methods, shared by the HTTP routes and WebSocket
// frames: a method name and JSON params in, a JSON result or a typed Error out.
// It runs the use cases on the store and hashing threads and publishes the
// events they cause; it never touches a socket.
//
// Thread-safety: Dispatch() may be called from any thread; `reply` is called
// exactly once, on a store or pool thread (or inline for early errors), so
// callers post it back to their own thread.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <functional>
#include <string>
#include <string_view>

#include "accounts/account_service.h"
#include "auth/key_ring.h"
#include "broker/broker.h"
#include "chat/conversations.h"
#include "chat/limits.h"
#include "common/id_generator.h"
#include "natter/clock.h"
#include "ops/metrics.h"
#include "store/store.h"

namespace natter::presence {
class PresenceService;
}

namespace natter::api {

struct Caller {
  UserId user = 0;          // 0 before authentication
  SessionId session = 0;
  uint64_t connection = 0;  // the WebSocket connection, 0 for HTTP
  std::string address;      // the client's address, for login throttling
};

using Reply = std::function<void(Result<boost::json::value>)>;

struct DispatcherDeps {
  Store& store;
  Broker& broker;
  accounts::AccountService& accounts;
  IdGenerator& ids;
  const Clock& clock;
  const chat::ChatLimits& limits;
  ops::Metrics& metrics;
  const auth::KeyRing& keys;                      // signs sync tokens
  presence::PresenceService* presence = nullptr;  // online state, for presence.get
};

class Dispatcher {
 public:
  explicit Dispatcher(DispatcherDeps deps) : d_(deps) {}

  // True for methods that need no authenticated caller (register, login, refresh).
  static bool IsPublic(std::string_view method);
  void Dispatch(const Caller& caller, std::string_view method, const boost::json::object& params,
                Reply reply);

 private:
  void Register(const boost::json::object& p, Reply reply);
  void Login(const Caller& c, const boost::json::object& p, Reply reply);
  void Refresh(const boost::json::object& p, Reply reply);
  void Logout(const Caller& c, Reply reply);
  void GetUser(const boost::json::object& p, Reply reply);
  void ListConversations(const Caller& c, const boost::json::object& p, Reply reply);
  void CreateConversation(const Caller& c, const boost::json::object& p, Reply reply);
  void GetConversation(const Caller& c, const boost::json::object& p, Reply reply);
  void ChangeConversation(const Caller& c, std::string_view method, const boost::json::object& p,
                          Reply reply);
  void SendMessage(const Caller& c, const boost::json::object& p, Reply reply);
  void History(const Caller& c, const boost::json::object& p, Reply reply);
  void MarkReceipt(const Caller& c, std::string_view method, const boost::json::object& p, Reply reply);
  void CountReceipts(const Caller& c, const boost::json::object& p, Reply reply);
  void ChangeMessage(const Caller& c, std::string_view method, const boost::json::object& p, Reply reply);
  void Sync(const Caller& c, const boost::json::object& p, Reply reply);
  void Typing(const Caller& c, const boost::json::object& p, Reply reply);
  void GetPresence(const Caller& c, const boost::json::object& p, Reply reply);
  void SetPresence(const Caller& c, const boost::json::object& p, Reply reply);

  // Tells everyone concerned what a conversation looks like now, and fans out
  // the system events the change appended.
  void PublishConversation(const chat::ConversationView& view, uint64_t origin);
  // Fans out one timeline event ({"type":"message"}) with each recipient's pts.
  // The presence.get answer for the users the caller may see.
  void AnswerPresence(Result<std::vector<User>> visible, const Reply& reply);
  void PublishTimeline(const chat::Appended& appended, uint64_t origin, bool to_each_recipient = false);

  DispatcherDeps d_;
};

}  // namespace natter::api
