// The pre-send hook (docs/webhooks.md, "The pre-send hook"): before a message
// or an edit is committed, its text goes to the operator's URL, signed like a
// webhook, which answers within a strict timeout: accept, reject with a
// reason, or accept with other text (a filter, a bot's rewrite). No answer in
// time, or one that cannot be read, applies the configured default: accept
// the text as sent, or refuse the send as `unavailable` (the client tries
// again later). The call never holds an I/O thread: it runs on the hook's
// HTTP thread and its verdict comes back on the caller's executor.
//
// Thread-safety: Check and Stop may be called from any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/executor.h"
#include "hooks/async_http_client.h"
#include "natter/clock.h"
#include "natter/model.h"
#include "natter/status.h"
#include "ops/hook_metrics.h"

namespace natter::hooks {

struct PresendOptions {
  std::string url;  // empty: no hook
  std::string secret;
  std::string ca_file;
  int64_t timeout_ms = 1000;
  bool accept_on_failure = true;  // the default when the hook does not answer properly
  size_t max_in_flight = 1024;    // checks waiting at once; past it the default applies
};

// What is about to be committed.
struct PresendCall {
  bool edit = false;  // an edit of message `seq`, or a new message
  UserId sender = 0;
  ConversationId conversation_id = 0;
  Seq seq = 0;
  std::string client_msg_id;
  std::string text;
  std::vector<std::string> captions = {};  // one per attachment (a new message's)
  // A rewrite longer than a message may be (the limit when the request began) is no answer.
  size_t max_text_bytes = 16 * 1024;
};

// The hook's answer read: the text to commit, or why the send is refused
// (forbidden: rejected; unavailable: no proper answer and the default is to
// refuse). `failure`: why the answer could not be used and the default
// applied; empty when it could.
Result<std::string> ReadPresendAnswer(const push::HttpResponse& answer, const PresendCall& call,
                                      const PresendOptions& options, std::string* failure);

class PresendHook {
 public:
  PresendHook(PresendOptions options, const Clock& clock, ops::PresendMetrics& metrics);

  // `done` gets the text to commit, or the refusal, on `ex`.
  void Check(const PresendCall& call, Executor& ex, std::function<void(Result<std::string>)> done);
  // Checks under way end as `unavailable` (never the default: a server
  // shutting down must not wave a message through unchecked).
  void Stop() { http_.Stop(); }

 private:
  const PresendOptions options_;
  const Clock& clock_;
  ops::PresendMetrics& metrics_;
  AsyncHttpClient http_;
  std::atomic<int64_t> last_warning_ms_{0};  // a hook that is down is logged every 10 s, not per message
};

}  // namespace natter::hooks
