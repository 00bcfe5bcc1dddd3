#include "hooks/async_http_client.h"

#include <unordered_map>
#include <vector>

#include "push/curl_transfer.h"

namespace natter::hooks {

struct AsyncHttpClient::Call {
  push::HttpRequest request;
  Done done;
  push::HttpResponse response;
  push::CurlTransfer transfer;
};

AsyncHttpClient::AsyncHttpClient(push::Http2Options options, size_t max_in_flight)
    : options_(std::move(options)), max_in_flight_(max_in_flight) {
  push::InitCurlOnce();
  CURLM* multi = curl_multi_init();
  curl_multi_setopt(multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
  multi_ = multi;
  thread_ = std::thread([this] { Run(); });
}

AsyncHttpClient::~AsyncHttpClient() {
  Stop();
  curl_multi_cleanup(static_cast<CURLM*>(multi_));
}

void AsyncHttpClient::Send(push::HttpRequest request, Done done) {
  std::string_view refused;
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      refused = kStopping;
    } else if (in_flight_ >= max_in_flight_) {
      refused = kTooManyRequests;
    } else {
      auto call = std::make_unique<Call>();
      call->request = std::move(request);
      call->done = std::move(done);
      inbox_.push_back(std::move(call));
      ++in_flight_;
    }
  }
  if (!refused.empty()) {
    push::HttpResponse answer;
    answer.error = std::string(refused);
    return done(std::move(answer));
  }
  curl_multi_wakeup(static_cast<CURLM*>(multi_));
}

void AsyncHttpClient::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  curl_multi_wakeup(static_cast<CURLM*>(multi_));
  if (thread_.joinable()) thread_.join();
}

void AsyncHttpClient::Run() {
  auto* multi = static_cast<CURLM*>(multi_);
  std::unordered_map<CURL*, std::unique_ptr<Call>> running;
  auto finish = [&](std::unique_ptr<Call> call) {
    Done done = std::move(call->done);
    push::HttpResponse answer = std::move(call->response);
    call.reset();
    {
      std::lock_guard lock(mu_);
      --in_flight_;
    }
    done(std::move(answer));
  };
  for (;;) {
    std::deque<std::unique_ptr<Call>> fresh;
    bool stopping;
    {
      std::lock_guard lock(mu_);
      fresh.swap(inbox_);
      stopping = stopping_;
    }
    if (stopping) {
      for (auto& call : fresh) {
        call->response.error = std::string(kStopping);
        finish(std::move(call));
      }
      break;
    }
    for (auto& call : fresh) {
      call->transfer.response = &call->response;
      push::StartTransfer(call->transfer, call->request, options_);
      curl_multi_add_handle(multi, call->transfer.easy);
      CURL* easy = call->transfer.easy;
      running.emplace(easy, std::move(call));
    }
    int still = 0;
    curl_multi_perform(multi, &still);
    int messages = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &messages)) {
      if (msg->msg != CURLMSG_DONE) continue;
      auto it = running.find(msg->easy_handle);
      if (it == running.end()) continue;
      std::unique_ptr<Call> call = std::move(it->second);
      running.erase(it);
      push::FinishTransfer(call->transfer, msg->data.result);
      curl_multi_remove_handle(multi, call->transfer.easy);
      push::FreeTransfer(call->transfer);
      finish(std::move(call));
    }
    curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
  }
  for (auto& [easy, call] : running) {
    if (!call) continue;
    curl_multi_remove_handle(multi, easy);
    push::FreeTransfer(call->transfer);
    call->response.error = std::string(kStopping);
    finish(std::move(call));
  }
}

}  // namespace natter::hooks
