// One run of the natter CLI against its profile's libnatter client: requests
// answered by @extra, events kept for whoever waits for them, and the names
// (handles) of users the output mentions.
//
// Thread-safety: one thread (the CLI's main thread).
#pragma once

#include <boost/json/object.hpp>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "natter/client.h"

namespace natter::cli {

// Text from the server as a terminal may show it: control characters (ESC,
// CR, the C1 range...) written as \xNN, so a message cannot move the cursor,
// fake another line, retitle the window or reach the clipboard.
std::string Printable(std::string_view text);

class Session {
 public:
  Session(std::unique_ptr<client::Client> client, bool json_output, double timeout_s);

  // Sends a request and waits for its answer; events meanwhile are kept for
  // NextEvent and WaitFor.
  std::optional<boost::json::object> Call(boost::json::object request, std::optional<double> timeout_s = {});
  // The first event (kept or new) matching `pred`, within the timeout; the
  // others are kept.
  std::optional<boost::json::object> WaitFor(const std::function<bool(const boost::json::object&)>& pred,
                                             double timeout_s);
  // The next event, kept ones first; nullopt when none came within `timeout_ms`.
  std::optional<boost::json::object> NextEvent(int timeout_ms);
  void Send(const boost::json::object& request);  // no answer wanted

  // Connected and caught up within the timeout.
  bool WaitReady(double timeout_s);
  // Prints an answer (or its error) and gives the exit status: 0, 1 (an
  // error answer), 3 (no answer in time).
  int Print(const std::optional<boost::json::object>& answer,
            const std::function<void(const boost::json::object&)>& human);

  // A user's handle (looked up once, then kept by libnatter), or "user <id>".
  std::string Name(int64_t user_id);
  std::optional<int64_t> UserId(const std::string& handle);
  // One timeline entry as a line: "[12] alice: see you there (edited)".
  std::string Line(const boost::json::object& entry);

  int64_t me() const { return me_; }
  bool json_output() const { return json_output_; }
  double timeout() const { return timeout_s_; }
  // Why the last connection attempt failed (with the URL), or "".
  const std::string& connection_problem() const { return connection_problem_; }

 private:
  void Note(const boost::json::object& event);
  std::string RawLine(const boost::json::object& entry);
  std::optional<boost::json::object> Receive(int timeout_ms);

  std::unique_ptr<client::Client> client_;
  bool json_output_;
  double timeout_s_;
  int64_t me_ = 0;
  uint64_t next_extra_ = 1;
  std::string connection_problem_;
  std::deque<boost::json::object> kept_;
  std::map<int64_t, std::string> names_;
};

}  // namespace natter::cli
