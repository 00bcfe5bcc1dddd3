#include "push/curl_transfer.h"

#include <cctype>
#include <chrono>
#include <mutex>
#include <string_view>

namespace natter::push {
namespace {

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<CurlTransfer*>(user);
  // Answers are small; a huge one is cut rather than kept.
  if (t->response->body.size() < 64 * 1024) t->response->body.append(data, size * count);
  return size * count;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<CurlTransfer*>(user);
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

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

void StartTransfer(CurlTransfer& t, const HttpRequest& req, const Http2Options& options) {
  t.easy = curl_easy_init();
  for (const auto& [name, value] : req.headers) t.headers = curl_slist_append(t.headers, (name + ": " + value).c_str());
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
  curl_easy_setopt(t.easy, CURLOPT_CONNECTTIMEOUT_MS, options.connect_timeout_ms);
  curl_easy_setopt(t.easy, CURLOPT_TIMEOUT_MS, options.timeout_ms);
  curl_easy_setopt(t.easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(t.easy, CURLOPT_PRIVATE, &t);
  if (!options.ca_file.empty()) curl_easy_setopt(t.easy, CURLOPT_CAINFO, options.ca_file.c_str());
  t.started_us = NowUs();
}

void FinishTransfer(CurlTransfer& t, CURLcode result) {
  t.response->latency_us = NowUs() - t.started_us;
  if (result == CURLE_OK) {
    long status = 0;
    curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
    t.response->status = static_cast<int>(status);
  } else {
    t.response->error = t.error[0] ? t.error : curl_easy_strerror(result);
  }
}

void FreeTransfer(CurlTransfer& t) {
  curl_easy_cleanup(t.easy);
  curl_slist_free_all(t.headers);
  t.easy = nullptr;
  t.headers = nullptr;
}

}  // namespace natter::push
