#include "push/http2_client.h"

#include <curl/curl.h>

#include <cctype>
#include <chrono>
#include <mutex>

namespace natter::push {
namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// One request in flight: its handle and what has come back so far.
struct Transfer {
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  HttpResponse* response = nullptr;
  int64_t started_us = 0;
  char error[CURL_ERROR_SIZE] = {};
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  // Provider answers are small; a huge one is cut rather than kept.
  if (t->response->body.size() < 64 * 1024) t->response->body.append(data, size * count);
  return size * count;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  constexpr std::string_view kRetryAfter = "retry-after:";
  if (line.size() > kRetryAfter.size()) {
    bool match = true;
    for (size_t i = 0; i < kRetryAfter.size() && match; ++i) {
      match = std::tolower(static_cast<unsigned char>(line[i])) == kRetryAfter[i];
    }
    if (match) {
      std::string_view value = line.substr(kRetryAfter.size());
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
      while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.remove_suffix(1);
      t->response->retry_after = std::string(value);
    }
  }
  return size * count;
}

}  // namespace

struct Http2Client::Multi {
  Multi() : handle(curl_multi_init()) { curl_multi_setopt(handle, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX); }
  ~Multi() { curl_multi_cleanup(handle); }
  CURLM* handle;
};

Http2Client::Http2Client(Http2Options options) : options_(std::move(options)) {
  GlobalInit();
  multi_ = std::make_unique<Multi>();
}

Http2Client::~Http2Client() = default;

void Http2Client::Cancel() {
  cancelled_.store(true);
  curl_multi_wakeup(multi_->handle);
}

std::vector<HttpResponse> Http2Client::Perform(const std::vector<HttpRequest>& requests) {
  std::vector<HttpResponse> responses(requests.size());
  std::vector<Transfer> transfers(requests.size());
  CURLM* multi = multi_->handle;
  for (size_t i = 0; i < requests.size(); ++i) {
    const HttpRequest& req = requests[i];
    Transfer& t = transfers[i];
    t.response = &responses[i];
    t.easy = curl_easy_init();
    for (const auto& [name, value] : req.headers)
      t.headers = curl_slist_append(t.headers, (name + ": " + value).c_str());
    // No "Expect: 100-continue" round trip on HTTP/1.1.
    t.headers = curl_slist_append(t.headers, "Expect:");
    curl_easy_setopt(t.easy, CURLOPT_URL, req.url.c_str());
    curl_easy_setopt(t.easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(t.easy, CURLOPT_PIPEWAIT, 1L);  // wait to multiplex rather than open another connection
    curl_easy_setopt(t.easy, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    if (req.method != "GET") {
      curl_easy_setopt(t.easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(req.body.size()));
      curl_easy_setopt(t.easy, CURLOPT_COPYPOSTFIELDS, req.body.c_str());
    }
    curl_easy_setopt(t.easy, CURLOPT_HTTPHEADER, t.headers);
    curl_easy_setopt(t.easy, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(t.easy, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(t.easy, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(t.easy, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(t.easy, CURLOPT_ERRORBUFFER, t.error);
    curl_easy_setopt(t.easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(t.easy, CURLOPT_CONNECTTIMEOUT_MS, options_.connect_timeout_ms);
    curl_easy_setopt(t.easy, CURLOPT_TIMEOUT_MS, options_.timeout_ms);
    curl_easy_setopt(t.easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(t.easy, CURLOPT_PRIVATE, &t);
    if (!options_.ca_file.empty()) curl_easy_setopt(t.easy, CURLOPT_CAINFO, options_.ca_file.c_str());
    t.started_us = NowUs();
    curl_multi_add_handle(multi, t.easy);
  }
  int running = static_cast<int>(requests.size());
  const char* unanswered = "cancelled";
  while (running > 0 && !cancelled_.load()) {
    if (CURLMcode rc = curl_multi_perform(multi, &running); rc != CURLM_OK) {
      unanswered = curl_multi_strerror(rc);
      break;
    }
    int messages = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &messages)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Transfer* t = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&t));
      t->response->latency_us = NowUs() - t->started_us;
      if (msg->data.result == CURLE_OK) {
        long status = 0;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
        t->response->status = static_cast<int>(status);
      } else {
        t->response->error = t->error[0] ? t->error : curl_easy_strerror(msg->data.result);
      }
    }
    if (running > 0) curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
  }
  for (Transfer& t : transfers) {
    if (t.response->status == 0 && t.response->error.empty()) t.response->error = unanswered;
    curl_multi_remove_handle(multi, t.easy);
    curl_easy_cleanup(t.easy);
    curl_slist_free_all(t.headers);
  }
  return responses;
}

}  // namespace natter::push
