// One network operation's time limit (a connection attempt, an HTTP call).
// When it passes, the socket is closed and a host lookup being waited for is
// given up, so whatever step is under way fails at once; Fail then says
// "timed out" rather than the error the closing caused.
//
// Thread-safety: use on the io_context's thread.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

namespace natter::client {

// A network step that failed: "connect: Connection refused".
struct NetFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Deadline {
 public:
  Deadline(const boost::asio::any_io_executor& ex, std::chrono::milliseconds limit,
           boost::asio::ip::tcp::socket& socket)
      : timer_(ex, limit),
        limit_(limit),
        ends_(std::chrono::steady_clock::now() + limit),
        state_(std::make_shared<State>(State{false, false, &socket, nullptr})) {
    // The handler may already be queued when the operation ends: it finds
    // `over` set then, and touches nothing that is gone.
    timer_.async_wait([state = state_](const boost::system::error_code& ec) {
      if (ec || state->over) return;
      state->expired = true;
      boost::system::error_code ignored;
      state->socket->close(ignored);
      if (state->waiting) state->waiting->cancel();
    });
  }
  ~Deadline() {
    state_->over = true;
    timer_.cancel();
  }
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  // A timer a step waits on, cancelled when time is up (nullptr: none now).
  void Wake(boost::asio::steady_timer* waiting) { state_->waiting = waiting; }
  bool Expired() const { return state_->expired; }
  std::chrono::milliseconds Left() const {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(ends_ - std::chrono::steady_clock::now());
    return std::max(left, std::chrono::milliseconds(1));
  }

  [[noreturn]] void Fail(const std::string& step, const std::string& error) const {
    if (state_->expired) {
      throw NetFailure(step + ": timed out after " + std::to_string(limit_.count()) + " ms");
    }
    throw NetFailure(step + ": " + error);
  }
  void Check(const std::string& step, const boost::system::error_code& ec) const {
    if (ec || state_->expired) Fail(step, ec.message());
  }

 private:
  struct State {
    bool expired;
    bool over;
    boost::asio::ip::tcp::socket* socket;
    boost::asio::steady_timer* waiting;
  };
  boost::asio::steady_timer timer_;
  std::chrono::milliseconds limit_;
  std::chrono::steady_clock::time_point ends_;
  std::shared_ptr<State> state_;
};

}  // namespace natter::client
