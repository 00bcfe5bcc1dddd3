#include "push/http2_client.h"

#include <algorithm>
#include <chrono>

#include "push/curl_transfer.h"

namespace natter::push {

struct Http2Client::Multi {
  Multi() : handle(curl_multi_init()) { curl_multi_setopt(handle, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX); }
  ~Multi() { curl_multi_cleanup(handle); }
  CURLM* handle;
};

Http2Client::Http2Client(Http2Options options) : options_(std::move(options)) {
  InitCurlOnce();
  multi_ = std::make_unique<Multi>();
}

Http2Client::~Http2Client() = default;

void Http2Client::Cancel() {
  cancelled_.store(true);
  curl_multi_wakeup(multi_->handle);
}

std::vector<HttpResponse> Http2Client::Perform(const std::vector<HttpRequest>& requests) {
  std::vector<HttpResponse> responses(requests.size());
  std::vector<CurlTransfer> transfers(requests.size());
  CURLM* multi = multi_->handle;
  for (size_t i = 0; i < requests.size(); ++i) {
    transfers[i].response = &responses[i];
    StartTransfer(transfers[i], requests[i], options_);
    curl_multi_add_handle(multi, transfers[i].easy);
  }
  int running = static_cast<int>(requests.size());
  const char* unanswered = "cancelled";
  // curl times each transfer out itself; this bounds the whole call whatever
  // state a transfer is stuck in (one waiting to share a connection that
  // never came was seen to outlive its own timeout), so a peer that never
  // answers can hold the caller no longer than the timeout and a margin.
  using Clock = std::chrono::steady_clock;
  const Clock::time_point deadline =
      Clock::now() + std::chrono::milliseconds(options_.timeout_ms + options_.connect_timeout_ms + 1000);
  while (running > 0 && !cancelled_.load()) {
    if (CURLMcode rc = curl_multi_perform(multi, &running); rc != CURLM_OK) {
      unanswered = curl_multi_strerror(rc);
      break;
    }
    int messages = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &messages)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CurlTransfer* t = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&t));
      FinishTransfer(*t, msg->data.result);
    }
    if (running == 0) break;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      unanswered = "no answer within the timeout";
      break;
    }
    curl_multi_poll(multi, nullptr, 0, static_cast<int>(std::min<int64_t>(left, 1000)), nullptr);
  }
  for (CurlTransfer& t : transfers) {
    if (t.response->status == 0 && t.response->error.empty()) t.response->error = unanswered;
    curl_multi_remove_handle(multi, t.easy);
    FreeTransfer(t);
  }
  return responses;
}

}  // namespace natter::push
