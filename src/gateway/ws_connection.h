// One live WebSocket connection on our own RFC 6455 codec:
// the upgrade is done by the HTTP session; from then on this object reads
// frames, authenticates, rate-limits, passes requests to the dispatcher and
// writes answers and events.
//
// Memory: nothing is buffered while idle. Reads wait for readability and then
// read into the worker's shared buffer; only a partial frame is kept. Writes
// queue shared, immutable frames (one serialisation per fan-out) and flush
// them with one gathered write per loop turn.
//
// Thread-safety: lives on one worker; every method runs on that worker's thread.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "api/dispatcher.h"
#include "auth/access_token.h"
#include "common/token_bucket.h"
#include "gateway/event_target.h"
#include "gateway/gateway_options.h"
#include "gateway/request_limiter.h"
#include "gateway/transport.h"
#include "gateway/worker.h"
#include "gateway/ws/message_reader.h"
#include "natter/clock.h"
#include "ops/metrics.h"

namespace natter::push {
class DeviceLiveness;
}
namespace natter::presence {
class PresenceService;
}
namespace natter::api {
struct Method;
}

namespace natter::gateway {

struct ConnectionDeps {
  api::Dispatcher& dispatcher;
  accounts::AccountService& accounts;
  ops::Metrics& metrics;
  const GatewayOptions& options;
  const Clock& clock;                             // steady time for timeouts; wall time for token expiry
  RequestLimiter& limiter;                        // budgets across connections: per user, per address
  presence::PresenceService* presence = nullptr;  // told when a user's connections come and go
  push::DeviceLiveness* liveness = nullptr;       // told when a session's connections come and go (push on)
};

class WsConnection final : public EventTarget, public std::enable_shared_from_this<WsConnection> {
 public:
  // `handshake`: the upgrade's 101 answer, written first once Start() has
  // registered the connection (empty: already written).
  WsConnection(const ConnectionDeps& deps, Worker& worker, std::unique_ptr<Transport> transport, bool deflate,
               std::string leftover, std::optional<auth::AccessClaims> claims, std::string address,
               std::string handshake = std::string());
  ~WsConnection();

  void Start();
  uint64_t id() const override { return id_; }
  // A close frame is queued or the socket is gone: nothing more is sent.
  bool closing() const { return closing_ || closed_; }
  // Requests sent and not yet answered (a catch-up included).
  bool busy() const { return requests_in_flight_ > 0 || syncing_; }
  UserId user() const { return caller_.user; }
  // Bytes the write queue holds, used or not: none while nothing waits to
  // be written (an idle connection costs only its own object).
  size_t queue_capacity_bytes() const {
    return queue_.capacity() * sizeof(Outgoing) + write_scratch_.capacity() +
           waiting_.capacity() * sizeof(boost::json::value);
  }
  SessionId session() const override { return caller_.session; }

  // Queues an event. Droppable: if this connection falls behind, queued events
  // give way to one "resync" notice. During a catch-up, events are held and
  // released after it, minus what the catch-up already contained.
  void EnqueueEvent(const EventFrame& event) override;
  // The presence changes that waited (Worker::FlushSoon) go out now.
  void FlushWaitingPresence();
  // Sends a close frame and ends the connection once it is written.
  void Close(uint16_t code, std::string_view reason) override;
  // Tells the client that events may have been lost (the link between nodes
  // was down) and that it should sync.
  void TellToResync(const char* reason) override;
  void TellToSync(const char* reason) override;
  // Called by the worker about once a second: timeouts, pings, token expiry.
  void OnTick();

 private:
  // A frame to write: [head] body[0, body_len) [tail]. head and tail are set
  // only for events with a spliced pts; otherwise body is the whole frame.
  struct Outgoing {
    std::shared_ptr<const std::string> body;
    uint32_t body_len = 0;
    uint8_t head_len = 0;
    uint8_t tail_len = 0;
    bool droppable = false;
    UserId presence_of = 0;  // a presence change of this user: it may wait, and a newer one replaces it
    std::array<uint8_t, 10> head{};
    std::array<char, 28> tail{};
    size_t size() const { return head_len + body_len + tail_len; }
  };
  struct HeldEvent {
    EventFrame event;
  };
  // Where a conversation's events stand on this socket: the last seq sent (or
  // its own), and from which seq on everything before `sent` is accounted for
  // (0: all of it; else the first seq this socket saw there).
  struct SeqOrder {
    Seq sent = 0;
    Seq from = 0;
  };
  // Timeline events that came before an earlier seq of their conversation.
  struct Waiting {
    std::map<Seq, EventFrame> events;
    int64_t since_ms = 0;
  };
  // What the last catch-up contained: conversation -> its last seq then.
  struct Covered {
    std::unordered_map<ConversationId, Seq> last_seq;
    int64_t since_ms = 0;
  };

  void ReadMore();
  // Takes the limiter's rates when a reload changed them since the last request.
  void FollowRateReload();
  void OnRead(const boost::system::error_code& ec, std::string_view data);
  // Runs the messages in `input` until the connection is over its bound;
  // the rest waits in stashed_ and reading pauses. False when it is ending.
  bool Consume(std::string_view input);
  // Answers and events waiting to be written, or requests waiting for their
  // answers, have reached this connection's bound: read no more for now.
  bool OverBound() const;
  // Behind, or over its bound with answers: waits for a peer that is not reading.
  bool Stalled() const;
  // Drops what is queued and not yet being written: events, and when
  // `answers` answers too (never the resync notice). Returns how many went.
  size_t DropQueued(bool answers);
  // Called when an answer leaves the store or a write completes.
  void ResumeReading();
  bool HandleFrame(ws::InboundMessage& message);
  void HandleText(std::string_view text);
  void HandleAuth(const boost::json::object& request, const boost::json::value& request_id);
  // The token's session was checked (or refused): answers the `auth` frame.
  void FinishAuth(const boost::json::value& request_id, Result<auth::AccessClaims> claims);
  // Serves the requests that waited, in order, while nothing holds them.
  void ServeWaiting();
  void Authenticated(const auth::AccessClaims& claims);
  // This node now receives the user's events (a cluster broker subscribed):
  // answers the auth and runs the sync that waited for it.
  void InterestReady();
  // Runs one valid request (after parsing, checks and rate limiting) by its
  // row of the method table (null: no such method).
  void Serve(const api::Method* method, const boost::json::object& request, const boost::json::value& request_id);
  void SendResult(const boost::json::value& request_id, boost::json::value data);
  void SendError(const boost::json::value& request_id, const Error& error);
  void SendJson(const boost::json::object& object);
  // Runs a catch-up (sync), holding live events until its answer is written.
  void HandleSync(const api::Method& method, const boost::json::object& request, const boost::json::value& request_id);
  void FinishSync(const boost::json::value& request_id, Result<api::CatchUpAnswer> result);
  void QueueEvent(const EventFrame& event);
  // Sends a timeline event in its conversation's seq order: a later seq
  // waits (kHoldMs) for the ones before it, which in a cluster may come from
  // another node after this node's own later commit.
  void QueueInSeqOrder(const EventFrame& event);
  void SendEvent(const EventFrame& event);
  // Everything up to `seq` of `conversation` was sent (or caught up): what
  // waited on it goes out.
  void Advance(ConversationId conversation, Seq seq);
  // The seqs a socket still waits for did not come: the client is told to
  // sync, and what waited is dropped (the sync brings it).
  void GiveUpWaiting(int64_t now_ms);
  void ForgetSeqOrder();
  bool AlreadyCaughtUp(const EventFrame& event) const;
  void FallBehind();
  void Queue(std::shared_ptr<const std::string> frame, bool droppable);
  void QueueOutgoing(Outgoing out);
  // Puts `newer` in the place of a waiting presence change of the same user;
  // false when none waits.
  bool ReplaceWaitingPresence(const Outgoing& newer);
  void ScheduleFlush();
  void Flush();
  void OnWritten(const boost::system::error_code& ec);
  void Teardown();

  const ConnectionDeps& deps_;
  Worker& worker_;
  std::unique_ptr<Transport> transport_;
  const uint64_t id_;
  ws::MessageReader reader_;
  // What the upgrade handed over, until Start() uses it (then freed: an idle
  // connection is kept small).
  struct Opening {
    std::string leftover;                      // bytes read past the upgrade
    std::string handshake;                     // the 101, unless already written
    std::optional<auth::AccessClaims> claims;  // authenticated by the upgrade's header
  };
  std::unique_ptr<Opening> opening_;
  api::Caller caller_;
  SessionId liveness_session_ = 0;  // the session first authenticated (push::DeviceLiveness)
  int64_t token_expires_at_ = 0;    // seconds
  int64_t opened_ms_ = 0;
  // For the access log (ws_close).
  uint64_t bytes_in_ = 0;
  uint64_t bytes_out_ = 0;
  uint16_t close_code_ = 0;      // the close frame's code, once one is queued
  bool closed_by_peer_ = false;  // the peer's close frame came first
  int64_t last_heard_ms_ = 0;
  TokenBucket bucket_;
  TokenBucket typing_bucket_;
  uint64_t rates_generation_ = 0;                            // the limiter's reloads these buckets follow
  std::vector<Outgoing> queue_;                              // a vector: it holds no memory when empty, unlike a deque
  std::vector<HeldEvent> held_;                              // events that arrived during a catch-up
  std::unique_ptr<Covered> covered_;                         // set for a while after a catch-up
  std::unordered_map<ConversationId, SeqOrder> sent_seq_;    // per conversation
  std::unordered_map<ConversationId, Waiting> waiting_seq_;  // later seqs waiting for earlier ones
  std::vector<char> write_scratch_;                          // spliced heads and tails of the write in flight
  size_t held_bytes_ = 0;
  // When the write queue last moved (a write completed, or it was empty): a
  // connection behind or over its bound that stays still past
  // --slow-consumer-timeout-ms is closed.
  int64_t queue_moved_ms_ = 0;
  int64_t closing_since_ms_ = 0;
  size_t queued_bytes_ = 0;
  size_t in_flight_ = 0;  // frames at the queue's front being written
  bool flush_scheduled_ = false;
  bool presence_waits_ = false;  // the worker flushes this queue soon (FlushSoon)
  bool behind_ = false;          // events were dropped; a resync notice is queued
  bool closing_ = false;         // a close frame is queued: send nothing more
  bool closed_ = false;          // socket closed, registry entries gone
  bool pinged_ = false;
  bool paused_ = false;            // over its bound: the socket is not read (TCP backpressure)
  std::string stashed_;            // read but not yet run while paused
  size_t requests_in_flight_ = 0;  // dispatched, answer not yet back
  static constexpr size_t kMaxRequestsInFlight = 16;
  bool syncing_ = false;  // a catch-up is running: events are held
  // Until the node receives the user's events, the auth answer and every
  // request wait, so a catch-up never misses what happens before live events
  // flow, and a client's first answer means live events reach it.
  bool interest_ready_ = true;
  bool authenticating_ = false;  // an `auth` frame's session is being checked
  std::unique_ptr<std::pair<boost::json::value, boost::json::value>> pending_auth_;  // request id, answer
  std::vector<boost::json::value> waiting_;  // requests that came before that (a deque holds 576 B even empty)
  static constexpr size_t kMaxWaitingRequests = 64;
  bool held_overflowed_ = false;  // events were dropped during this catch-up
};

}  // namespace natter::gateway
