// One simulated chat user on one WebSocket: request/answer matching by id,
// message sends stamped with their intended send time, and a per-conversation
// record of every seq it holds (received live, fetched, or its own
// acknowledged sends), which is how loss, duplicates and reordering are found.
//
// Thread-safety: not thread-safe. A SimClient is pinned to one Engine loop;
// every call is made from that loop's thread (post to it from elsewhere).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "bench/engine.h"
#include "bench/ws_client.h"

namespace natter::bench {

struct BenchUser {
  int64_t id = 0;
  std::string handle;
  std::string password;
  std::string token;
  int64_t device_id = 0;  // end-to-end encryption: the device this session published (0: none)
};

// Which seqs of one conversation a client holds, as a bitmap (a few KB for
// tens of thousands of messages).
class SeqTracker {
 public:
  // False if `seq` was already held (a duplicate).
  bool Mark(int64_t seq);
  bool Has(int64_t seq) const;
  // n such that 1..n are all held.
  int64_t Prefix() const;
  int64_t max() const { return max_; }
  int64_t count() const { return count_; }
  int64_t last_live = 0;  // highest seq received as a live event

 private:
  std::vector<uint64_t> bits_;
  int64_t max_ = 0;
  int64_t count_ = 0;
};

// Names of the current measurement phase, read by every client when it
// records: "<phase>.ack", "<phase>.e2e", and per-second series.
struct PhaseNames {
  std::string ack, e2e, acked, delivered;
  void Set(const std::string& phase);
};
extern PhaseNames g_phases[2];
extern std::atomic<int> g_phase;          // index into g_phases (double-buffered)
void SetPhase(const std::string& phase);  // from the worker's main thread, between phases

// Live counters for the once-a-second progress line (all loops add to them).
struct Progress {
  std::atomic<int64_t> connected{0}, connect_failed{0}, sent{0}, acked{0}, delivered{0}, errors{0};
};
extern Progress g_progress;

class SimClient : public std::enable_shared_from_this<SimClient> {
 public:
  using ResultFn = std::function<void(SimClient&, bool ok, std::string_view frame)>;
  using DoneFn = std::function<void(SimClient&, const std::string& error)>;

  SimClient(Engine& engine, int loop, int index, const BenchUser* user, WsClient::Target target);

  // Opens the WebSocket (token in the upgrade when `bearer`, else an `auth`
  // frame: the re-auth path), then one ping round trip, so "connected" means
  // the server has the socket registered and answering.
  void Connect(int timeout_ms, bool bearer, DoneFn done);
  // Sends {"type":<type>,"id":<n>,<params>}; `fn` gets the result or error frame.
  void Request(std::string_view type, std::string_view params, ResultFn fn);
  // messages.send with text "t=<intended_ns>;..." padded to `text_bytes`;
  // records ack latency from `intended_ns` and marks the acked seq as held.
  void SendMessage(int64_t conversation, int64_t intended_ns, int text_bytes, ResultFn fn = nullptr);
  // Sends to `conversation` are end-to-end encrypted from now on, shaped as
  // a group's sender-key message: one shared ciphertext of the padded text's
  // size, and `devices` (a JSON array of {user_id, device_id}: every other
  // member's) with nothing of their own. The server cannot tell it from real.
  void SendEncrypted(int64_t conversation, std::string devices) { encrypted_[conversation] = std::move(devices); }
  // Every n-th plain send replies (`reply_to`) to the highest seq acknowledged
  // in its conversation on this client's loop; 0: none do.
  void ReplyEvery(int n) { reply_every_ = n; }
  void Abort();
  void Close() {
    if (ws_) ws_->CloseGracefully();
  }
  bool open() const { return ws_ && ws_->open(); }

  // Conversations whose every message this client must end up holding.
  void Expect(int64_t conversation) { held_[conversation]; }
  SeqTracker& held(int64_t conversation) { return held_[conversation]; }
  const std::unordered_map<int64_t, SeqTracker>& all_held() const { return held_; }
  // Adds what this client holds to stats.convs (min prefix, max seen).
  void Report(Stats& stats) const;
  // Records a seq obtained outside live delivery (sync, history); false if duplicate.
  bool MarkFetched(int64_t conversation, int64_t seq);
  // Every "seq" of the messages in a history page or sync frame.
  static std::vector<int64_t> SeqsIn(std::string_view frame);

  // WebSocket `sync` with the last token (empty: first sync); keeps the new
  // token. sync.conversation frames go to on_frame before the answer.
  void Sync(std::function<void(SimClient&, const std::string& error)> done);
  // Fetches (after, upto] of a conversation by messages.history pages of at
  // most 100, marking what arrives; upto < 0 means "until has_more is false".
  // Never asks past `upto`, so pages never overlap what is already held.
  void FetchRange(int64_t conversation, int64_t after, int64_t upto,
                  std::function<void(SimClient&, const std::string& error)> done);
  std::string sync_token;
  int64_t resyncs = 0;  // slow-consumer notices received

  Stats& stats() { return engine_.stats(loop_); }
  boost::asio::io_context& io() { return engine_.io(loop_); }
  int index() const { return index_; }
  int loop() const { return loop_; }
  const BenchUser* user() const { return user_; }
  int outstanding() const { return static_cast<int>(pending_.size()); }
  int sends_outstanding() const { return sends_outstanding_; }
  int64_t last_activity_ns() const { return last_activity_ns_; }

  // Optional hooks, set by a scenario before connecting.
  std::function<void(SimClient&, std::string_view frame)> on_frame;  // frames not handled here
  std::function<void(SimClient&, const std::string& reason)> on_closed;
  bool expect_close = false;  // a drop we caused ourselves is not a problem

 private:
  void OnText(std::string_view text);
  void OnMessageEvent(std::string_view frame);

  Engine& engine_;
  int loop_;
  int reply_every_ = 0;
  int index_;
  const BenchUser* user_;
  WsClient::Target target_;
  std::shared_ptr<WsClient> ws_;
  struct Pending {
    ResultFn fn;
  };
  std::unordered_map<int64_t, Pending> pending_;
  std::unordered_map<int64_t, SeqTracker> held_;
  std::unordered_map<int64_t, std::string> encrypted_;  // conversation -> the devices a send names
  int64_t next_id_ = 1;
  int64_t sent_counter_ = 0;
  int sends_outstanding_ = 0;
  int64_t last_activity_ns_ = 0;
  std::string frame_;  // reused to build requests
};

}  // namespace natter::bench
