#include "bench/sim_client.h"

#include <cstdio>

#include "bench/frame_fields.h"

namespace natter::bench {

PhaseNames g_phases[2];
std::atomic<int> g_phase{0};
Progress g_progress;

void PhaseNames::Set(const std::string& phase) {
  ack = phase + ".ack";
  e2e = phase + ".e2e";
  acked = phase + ".acked";
  delivered = phase + ".delivered";
}

void SetPhase(const std::string& phase) {
  // Write the idle copy, then switch: a loop reading the old copy keeps a
  // consistent set of names.
  const int next = 1 - g_phase.load();
  g_phases[next].Set(phase);
  g_phase.store(next);
}

static const PhaseNames& Phase() { return g_phases[g_phase.load(std::memory_order_relaxed)]; }

bool SeqTracker::Mark(int64_t seq) {
  if (seq <= 0) return true;
  const size_t word = static_cast<size_t>(seq) / 64;
  if (bits_.size() <= word) bits_.resize(std::max(word + 1, bits_.size() * 2), 0);
  const uint64_t bit = uint64_t{1} << (seq % 64);
  if (bits_[word] & bit) return false;
  bits_[word] |= bit;
  ++count_;
  if (seq > max_) max_ = seq;
  return true;
}

bool SeqTracker::Has(int64_t seq) const {
  const size_t word = static_cast<size_t>(seq) / 64;
  return word < bits_.size() && (bits_[word] >> (seq % 64)) & 1;
}

int64_t SeqTracker::Prefix() const {
  if (count_ == max_) return max_;  // dense: nothing missing
  int64_t n = 0;
  while (Has(n + 1)) ++n;
  return n;
}

SimClient::SimClient(Engine& engine, int loop, int index, const BenchUser* user, WsClient::Target target)
    : engine_(engine), loop_(loop), index_(index), user_(user), target_(std::move(target)) {}

void SimClient::Connect(int timeout_ms, bool bearer, DoneFn done) {
  if (ws_) ws_->Abort();
  pending_.clear();
  sends_outstanding_ = 0;
  expect_close = false;
  std::weak_ptr<SimClient> weak = weak_from_this();
  ws_ = std::make_shared<WsClient>(
      io(),
      [weak](std::string_view text) {
        if (auto s = weak.lock()) s->OnText(text);
      },
      [weak](const std::string& reason) {
        auto s = weak.lock();
        if (!s) return;
        // Sends in flight when the connection died may or may not be stored:
        // the check treats their seqs as possibly delivered.
        if (s->sends_outstanding_ > 0) s->stats().Add("unanswered_sends", s->sends_outstanding_);
        s->pending_.clear();
        s->sends_outstanding_ = 0;
        if (!s->expect_close) {
          s->stats().Add("disconnects");
          s->stats().Problem("client " + std::to_string(s->index_) + " disconnected: " + reason);
        }
        if (s->on_closed) s->on_closed(*s, reason);
      });
  WsClient::Target t = target_;
  t.bearer = bearer ? user_->token : "";
  auto ws = ws_;
  ws_->Open(t, timeout_ms, [weak, ws, bearer, done = std::move(done)](const std::string& error) {
    auto s = weak.lock();
    if (!s || s->ws_ != ws) return;
    if (!error.empty()) return done(*s, error);
    auto after_auth = [done](SimClient& c, bool ok, std::string_view frame) {
      if (!ok) return done(c, "auth: " + std::string(frame.substr(0, 200)));
      c.Request("ping", "", [done](SimClient& c2, bool ok2, std::string_view f2) {
        done(c2, ok2 ? "" : "ping: " + std::string(f2.substr(0, 200)));
      });
    };
    if (bearer) {
      after_auth(*s, true, "");
    } else {
      s->Request("auth", "\"token\":\"" + s->user_->token + "\"", after_auth);
    }
  });
}

void SimClient::Request(std::string_view type, std::string_view params, ResultFn fn) {
  if (!ws_ || !ws_->open()) {
    if (fn) fn(*this, false, "not connected");
    return;
  }
  const int64_t id = next_id_++;
  frame_.clear();
  frame_ += "{\"type\":\"";
  frame_ += type;
  frame_ += "\",\"id\":";
  frame_ += std::to_string(id);
  if (!params.empty()) {
    frame_ += ',';
    frame_ += params;
  }
  frame_ += '}';
  pending_[id] = Pending{std::move(fn)};
  ws_->SendText(frame_);
}

void SimClient::SendMessage(int64_t conversation, int64_t intended_ns, int text_bytes, ResultFn fn) {
  char head[160];
  const int64_t n = ++sent_counter_;
  std::string params;
  if (auto e = encrypted_.find(conversation); e != encrypted_.end()) {
    // The send time rides in client_msg_id, which the message event repeats.
    int len = std::snprintf(head, sizeof head, "\"conversation_id\":%lld,\"client_msg_id\":\"t=%lld;c=%d;n=%lld;\",",
                            static_cast<long long>(conversation), static_cast<long long>(intended_ns), index_,
                            static_cast<long long>(n));
    params.assign(head, static_cast<size_t>(len));
    // A sender-key message of the padded text: 160-byte blocks, 91 bytes of
    // header and signature, as base64url (all 'A': zero bytes, well formed).
    const size_t ciphertext = (static_cast<size_t>(text_bytes) / 160 + 1) * 160 + 91;
    params += "\"encrypted\":{\"type\":4,\"body\":\"";
    params.append((ciphertext + 2) / 3 * 4, 'A');
    params += "\",\"devices\":";
    params += e->second;
    params += '}';
  } else {
    int len = std::snprintf(head, sizeof head,
                            "\"conversation_id\":%lld,\"client_msg_id\":\"%d-%lld\",\"text\":\"t=%lld;c=%d;n=%lld;",
                            static_cast<long long>(conversation), index_, static_cast<long long>(n),
                            static_cast<long long>(intended_ns), index_, static_cast<long long>(n));
    params.assign(head, static_cast<size_t>(len));
    const size_t text_start = params.find("t=");
    const size_t text_len = params.size() - text_start;
    if (text_bytes > static_cast<int>(text_len)) params.append(static_cast<size_t>(text_bytes) - text_len, 'x');
    params += '"';
    if (reply_every_ > 0 && n % reply_every_ == 0) {
      auto acked = stats().convs.find(conversation);
      if (acked != stats().convs.end() && acked->second.acked_max > 0) {
        params += ",\"reply_to\":" + std::to_string(acked->second.acked_max);
        stats().Add("replies");
      }
    }
  }
  ++sends_outstanding_;
  stats().Add("sends");
  g_progress.sent.fetch_add(1, std::memory_order_relaxed);
  Request("messages.send", params,
          [conversation, intended_ns, fn = std::move(fn)](SimClient& c, bool ok, std::string_view frame) {
            c.sends_outstanding_ = std::max(0, c.sends_outstanding_ - 1);
            const int64_t now = NowNs();
            Stats& st = c.stats();
            if (!ok) {
              st.Add("send_errors");
              g_progress.errors.fetch_add(1, std::memory_order_relaxed);
              std::string_view code;
              if (FindString(frame, "\"code\":", code)) st.Add("send_error." + std::string(code));
              if (st.Get("send_errors") <= 3) st.Problem("send refused: " + std::string(frame.substr(0, 200)));
            } else {
              int64_t seq = 0;
              if (!FindInt(frame, "\"seq\":", seq)) {
                st.Error("send answer without seq: " + std::string(frame.substr(0, 200)));
              } else {
                if (frame.find("\"duplicate\":true") != std::string_view::npos) {
                  st.Error("conversation " + std::to_string(conversation) + " seq " + std::to_string(seq) +
                           ": a first send was answered as a duplicate");
                }
                const PhaseNames& p = Phase();
                st.Add("acked");
                g_progress.acked.fetch_add(1, std::memory_order_relaxed);
                st.Record(p.ack, now - intended_ns);
                st.Tick(p.acked, now);
                auto& check = st.convs[conversation];
                check.acked_max = std::max(check.acked_max, seq);
                if (!c.held(conversation).Mark(seq)) {
                  st.Error("conversation " + std::to_string(conversation) + " seq " + std::to_string(seq) +
                           ": acknowledged twice or also delivered to its sender");
                }
              }
            }
            if (fn) fn(c, ok, frame);
          });
}

void SimClient::Abort() {
  expect_close = true;
  pending_.clear();
  sends_outstanding_ = 0;
  if (ws_) ws_->Abort();
}

std::vector<int64_t> SimClient::SeqsIn(std::string_view frame) {
  std::vector<int64_t> seqs;
  size_t from = 0;
  for (;;) {
    const size_t at = frame.find("\"seq\":", from);
    if (at == std::string_view::npos) break;
    int64_t seq = 0;
    if (FindInt(frame, "\"seq\":", seq, at)) seqs.push_back(seq);
    from = at + 6;
  }
  return seqs;
}

void SimClient::Sync(std::function<void(SimClient&, const std::string& error)> done) {
  std::string params = "\"token\":\"" + sync_token + "\"";
  Request("sync", params, [done = std::move(done)](SimClient& c, bool ok, std::string_view frame) {
    if (!ok) return done(c, "sync: " + std::string(frame.substr(0, 200)));
    if (frame.find("\"resync_required\":true") != std::string_view::npos) {
      c.stats().Add("sync_resync_required");
      c.sync_token.clear();
      return done(c, "sync: resync_required");
    }
    std::string_view token;
    if (FindString(frame, "\"token\":", token)) c.sync_token = std::string(token);
    done(c, "");
  });
}

void SimClient::FetchRange(int64_t conversation, int64_t after, int64_t upto,
                           std::function<void(SimClient&, const std::string& error)> done) {
  if (upto >= 0 && after >= upto) return done(*this, "");
  const int64_t limit = upto < 0 ? 100 : std::min<int64_t>(100, upto - after);
  char params[160];
  std::snprintf(params, sizeof params, "\"conversation_id\":%lld,\"after\":%lld,\"limit\":%lld",
                static_cast<long long>(conversation), static_cast<long long>(after), static_cast<long long>(limit));
  Request("messages.history", params,
          [conversation, after, upto, done = std::move(done)](SimClient& c, bool ok, std::string_view frame) {
            if (!ok) return done(c, "history: " + std::string(frame.substr(0, 200)));
            int64_t high = after;
            int64_t count = 0;
            for (int64_t seq : SeqsIn(frame)) {
              if (seq <= after || (upto >= 0 && seq > upto)) {
                c.stats().Error("history after " + std::to_string(after) + " returned seq " + std::to_string(seq));
                continue;
              }
              ++count;
              high = std::max(high, seq);
              if (!c.MarkFetched(conversation, seq)) c.stats().Add("fetched_already_held");
            }
            c.stats().Add("fetched", count);
            const bool more = frame.find("\"has_more\":true") != std::string_view::npos;
            if (count == 0 || (upto < 0 && !more) || (upto >= 0 && high >= upto)) return done(c, "");
            c.FetchRange(conversation, high, upto, done);
          });
}

bool SimClient::MarkFetched(int64_t conversation, int64_t seq) { return held_[conversation].Mark(seq); }

void SimClient::Report(Stats& stats) const {
  for (const auto& [conv, tracker] : held_) {
    auto& check = stats.convs[conv];
    const int64_t prefix = tracker.Prefix();
    check.held_min = check.held_min < 0 ? prefix : std::min(check.held_min, prefix);
    check.seen_max = std::max(check.seen_max, tracker.max());
    check.receivers += 1;
  }
}

void SimClient::OnText(std::string_view text) {
  last_activity_ns_ = NowNs();
  const std::string_view type = FrameType(text);
  if (type == "message") return OnMessageEvent(text);
  if (type == "result" || type == "error") {
    int64_t id = 0;
    if (!FindInt(text, "\"id\":", id)) {
      stats().Add("unmatched_answers");
      return;
    }
    auto it = pending_.find(id);
    if (it == pending_.end()) {
      // sync.conversation frames share the id of their request, and come
      // before its result; they are not answers.
      stats().Add("unmatched_answers");
      return;
    }
    ResultFn fn = std::move(it->second.fn);
    pending_.erase(it);
    if (type == "error") stats().Add("request_errors");
    if (fn) fn(*this, type == "result", text);
    return;
  }
  if (type == "resync") {
    stats().Add("resync_notices");
    ++resyncs;
  }
  if (on_frame) on_frame(*this, text);
}

void SimClient::OnMessageEvent(std::string_view frame) {
  const int64_t now = NowNs();
  Stats& st = stats();
  int64_t conv = 0, seq = 0, sent = 0;
  if (!FindInt(frame, "\"conversation_id\":", conv) || !FindInt(frame, "\"seq\":", seq)) {
    st.Problem("malformed message event: " + std::string(frame.substr(0, 200)));
    return;
  }
  const PhaseNames& p = Phase();
  st.Add("delivered");
  g_progress.delivered.fetch_add(1, std::memory_order_relaxed);
  st.Tick(p.delivered, now);
  if (FindSendTime(frame, sent)) st.Record(p.e2e, now - sent);
  SeqTracker& t = held_[conv];
  if (t.Has(seq)) {
    st.Add("duplicates");
    st.Error("client " + std::to_string(index_) + " conversation " + std::to_string(conv) + ": seq " +
             std::to_string(seq) + " delivered twice");
    return;
  }
  if (seq < t.last_live) {
    st.Add("reordered");
    st.Error("client " + std::to_string(index_) + " conversation " + std::to_string(conv) + ": live seq " +
             std::to_string(seq) + " after " + std::to_string(t.last_live));
  }
  t.last_live = std::max(t.last_live, seq);
  t.Mark(seq);
}

}  // namespace natter::bench
