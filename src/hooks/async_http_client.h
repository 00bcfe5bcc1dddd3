// HTTP requests answered through a callback, for calls an I/O thread must
// not wait for (the pre-send hook): a thread of its own drives one libcurl
// multi handle, takes new requests as they come (woken, never polling) and
// runs each one's callback when it ends. Connections stay open between
// requests; every request has the options' timeout, connection included.
//
// Thread-safety: Send and Stop may be called from any thread; callbacks run
// on the client's thread, one at a time, and must not block.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>

#include "push/http2_client.h"

namespace natter::hooks {

// The errors of requests that were never sent.
inline constexpr std::string_view kStopping = "stopping";
inline constexpr std::string_view kTooManyRequests = "too many requests in flight";

class AsyncHttpClient {
 public:
  using Done = std::function<void(push::HttpResponse)>;

  // At most `max_in_flight` requests wait or run at once: past it Send
  // answers at once with an error ("too many requests in flight").
  AsyncHttpClient(push::Http2Options options, size_t max_in_flight);
  ~AsyncHttpClient();
  AsyncHttpClient(const AsyncHttpClient&) = delete;
  AsyncHttpClient& operator=(const AsyncHttpClient&) = delete;

  void Send(push::HttpRequest request, Done done);
  // Ends the thread; requests waiting or under way are answered with the error "stopping".
  void Stop();

 private:
  struct Call;
  void Run();

  const push::Http2Options options_;
  const size_t max_in_flight_;
  void* multi_;  // CURLM*, kept out of this header
  std::mutex mu_;
  std::deque<std::unique_ptr<Call>> inbox_;
  size_t in_flight_ = 0;  // inbox plus running
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace natter::hooks
