// One HTTP request as a libcurl transfer, set up the way every natterd call
// to another service is (timeouts, http and https only, the configured CA,
// HTTP/2 where the server offers it), and its answer read back. Shared by the
// batch client (push/http2_client.h) and the asynchronous one
// (hooks/async_http_client.h).
//
// Thread-safety: a transfer belongs to the thread of its multi handle.
#pragma once

#include <curl/curl.h>

#include <cstdint>

#include "push/http2_client.h"

namespace natter::push {

struct CurlTransfer {
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  HttpResponse* response = nullptr;  // where the answer goes; set before Start
  int64_t started_us = 0;
  char error[CURL_ERROR_SIZE] = {};
};

// Makes `t.easy` for `req` (its CURLOPT_PRIVATE is `&t`), ready to add to a multi handle.
void StartTransfer(CurlTransfer& t, const HttpRequest& req, const Http2Options& options);
// Reads a finished transfer's status (or error) and latency into its response.
void FinishTransfer(CurlTransfer& t, CURLcode result);
// Frees the handle and headers (after curl_multi_remove_handle).
void FreeTransfer(CurlTransfer& t);
// libcurl's global setup, once per process.
void InitCurlOnce();

}  // namespace natter::push
