#include "media/s3_client.h"

#include <curl/curl.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace natter::media {
namespace {

constexpr size_t kMaxAnswerBody = 64 * 1024;  // XML answers and errors

bool ValidHost(std::string_view host) {
  if (host.empty()) return false;
  for (char c : host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
              c == ':' || c == '[' || c == ']';
    if (!ok) return false;
  }
  return true;
}

std::string XmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return out;
}

}  // namespace

std::string XmlText(std::string_view xml, std::string_view tag) {
  std::string open = "<" + std::string(tag) + ">";
  std::string close = "</" + std::string(tag) + ">";
  size_t start = xml.find(open);
  if (start == std::string_view::npos) return "";
  start += open.size();
  size_t end = xml.find(close, start);
  if (end == std::string_view::npos) return "";
  std::string_view raw = xml.substr(start, end - start);
  std::string out;
  for (size_t i = 0; i < raw.size(); ++i) {
    static constexpr std::pair<std::string_view, char> kEntities[] = {
        {"&quot;", '"'}, {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&apos;", '\''}, {"&#34;", '"'}};
    bool decoded = false;
    for (const auto& [entity, c] : kEntities) {
      if (raw.substr(i, entity.size()) == entity) {
        out += c;
        i += entity.size() - 1;
        decoded = true;
        break;
      }
    }
    if (!decoded) out += raw[i];
  }
  return out;
}

struct S3Client::Call {
  std::string method = {};
  std::string key = {};  // empty: the bucket itself
  std::vector<std::pair<std::string, std::string>> query = {};
  std::vector<std::pair<std::string, std::string>> headers = {};  // signed, beside host and x-amz-*
  std::string payload_hash = std::string(kEmptyPayloadHash);
  std::string_view body = {};   // sent when `upload` is null
  std::FILE* upload = nullptr;  // a file to PUT
  int64_t upload_size = 0;
  std::FILE* download = nullptr;  // where a GET's body goes
  int64_t max_download = 0;
  // S3 answers a multipart completion or a copy once the work is done,
  // keeping the connection alive with spaces meanwhile: no speed limit.
  bool slow_answer = false;
};

// A body larger than this goes as a transfer (a derivative in memory), held
// to a pace rather than a total time.
constexpr size_t kSmallBody = 64 * 1024;

struct S3Client::Answer {
  int status = 0;     // 0: no answer
  std::string error;  // why there was none
  std::string body;   // unless downloaded
  std::string etag;
  int64_t length = -1;  // Content-Length
  int64_t received = 0;
  bool too_large = false;
};

namespace {

struct Transfer {
  std::string_view body;
  size_t sent = 0;
};

size_t ReadBody(char* out, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t take = std::min(size * n, t->body.size() - t->sent);
  std::memcpy(out, t->body.data() + t->sent, take);
  t->sent += take;
  return take;
}

struct Sink {
  std::FILE* file = nullptr;
  int64_t max = 0;
  std::string* body = nullptr;
  int64_t* received = nullptr;
  bool* too_large = nullptr;
};

size_t WriteBody(char* data, size_t size, size_t n, void* user) {
  auto* s = static_cast<Sink*>(user);
  size_t bytes = size * n;
  *s->received += static_cast<int64_t>(bytes);
  if (s->file) {
    if (*s->received > s->max) {
      *s->too_large = true;
      return 0;  // ends the transfer
    }
    return std::fwrite(data, 1, bytes, s->file);
  }
  if (s->body->size() < kMaxAnswerBody) s->body->append(data, std::min(bytes, kMaxAnswerBody - s->body->size()));
  return bytes;
}

size_t ReadHeader(char* data, size_t size, size_t n, void* user) {
  auto* a = static_cast<std::pair<std::string*, int64_t*>*>(user);
  std::string_view line(data, size * n);
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name = Lower(line.substr(0, colon));
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
      value.remove_suffix(1);
    }
    if (name == "etag") *a->first = std::string(value);
    if (name == "content-length") {
      int64_t length = 0;
      for (char c : value) {
        if (c < '0' || c > '9') break;
        length = length * 10 + (c - '0');
      }
      *a->second = length;
    }
  }
  return size * n;
}

// An answer that is not a success, as a typed error: what the object store
// said (its code and message) is kept for the log and the caller.
Error ErrorOf(int status, const std::string& transport_error, std::string_view body, std::string_view what) {
  if (status == 0) return Unavailable(std::string(what) + ": the object store did not answer: " + transport_error);
  std::string code = XmlText(body, "Code");
  std::string detail = std::string(what) + ": the object store answered " + std::to_string(status) +
                       (code.empty() ? "" : " " + code) + (XmlText(body, "Message").empty() ? "" : ": ") +
                       XmlText(body, "Message");
  if (status == 404 || code == "NoSuchKey" || code == "NoSuchUpload") return NotFound(detail);
  if (code == "InvalidPart" || code == "InvalidPartOrder" || code == "EntityTooSmall" || code == "BadDigest" ||
      code == "IncompleteBody") {
    return BadRequest(detail);
  }
  if (status >= 500 || status == 429 || code == "SlowDown") return Unavailable(detail);
  return Internal(detail);  // 403 and the like: natterd's configuration
}

}  // namespace

Result<std::unique_ptr<S3Client>> S3Client::Create(S3Config config, const Clock& clock) {
  std::string_view endpoint = config.endpoint;
  std::string scheme;
  if (endpoint.starts_with("https://")) {
    scheme = "https";
  } else if (endpoint.starts_with("http://")) {
    scheme = "http";
  } else {
    return BadRequest("s3-endpoint must be an http:// or https:// URL");
  }
  std::string_view host = endpoint.substr(scheme.size() + 3);
  if (!host.empty() && host.back() == '/') host.remove_suffix(1);
  if (!ValidHost(host)) return BadRequest("s3-endpoint must be scheme://host[:port], without a path");
  if (config.bucket.empty()) return BadRequest("s3-bucket is not set");
  for (char c : config.bucket) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) {
      return BadRequest("s3-bucket holds characters a bucket name cannot have");
    }
  }
  if (config.region.empty()) return BadRequest("s3-region is not set");
  if (config.credentials.access_key_id.empty() || config.credentials.secret_access_key.empty()) {
    return BadRequest(
        "S3 credentials are not set (s3-access-key-id and s3-secret-access-key, or AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY)");
  }
  return std::unique_ptr<S3Client>(new S3Client(std::move(config), clock, std::move(scheme), std::string(host)));
}

S3Client::S3Client(S3Config config, const Clock& clock, std::string scheme, std::string host)
    : config_(std::move(config)), clock_(clock), scheme_(std::move(scheme)), host_(std::move(host)) {}

std::string S3Client::Host() const { return config_.path_style ? host_ : config_.bucket + "." + host_; }

std::string S3Client::PathOf(std::string_view key) const {
  std::string path = config_.path_style ? "/" + config_.bucket : "";
  return path + "/" + std::string(key);
}

std::string S3Client::PresignPart(std::string_view key, std::string_view upload_id, int part, int64_t size,
                                  int64_t expires_s) const {
  SigV4Request req{"PUT",
                   PathOf(key),
                   {{"partNumber", std::to_string(part)}, {"uploadId", std::string(upload_id)}},
                   {{"host", Host()}, {"content-length", std::to_string(size)}},
                   std::string(kUnsignedPayload)};
  SigV4Scope scope{config_.region, "s3", clock_.NowSeconds()};
  std::string query = Presign(req, scope, config_.credentials, expires_s);
  return scheme_ + "://" + Host() + AwsUriEncode(req.path, true) + "?" + query;
}

std::string S3Client::PresignGet(std::string_view key, int64_t expires_s, std::string_view content_type,
                                 std::string_view content_disposition) const {
  SigV4Request req{"GET",
                   PathOf(key),
                   {{"response-content-disposition", std::string(content_disposition)},
                    {"response-content-type", std::string(content_type)}},
                   {{"host", Host()}},
                   std::string(kUnsignedPayload)};
  SigV4Scope scope{config_.region, "s3", clock_.NowSeconds()};
  std::string query = Presign(req, scope, config_.credentials, expires_s);
  return scheme_ + "://" + Host() + AwsUriEncode(req.path, true) + "?" + query;
}

S3Client::Answer S3Client::Perform(Call& call) {
  Answer answer;
  SigV4Request req{call.method, PathOf(call.key), call.query, call.headers, call.payload_hash};
  req.headers.emplace_back("host", Host());
  req.headers.emplace_back("x-amz-content-sha256", call.payload_hash);
  SigV4Scope scope{config_.region, "s3", clock_.NowSeconds()};
  std::string authorization = SignWithHeader(req, scope, config_.credentials);

  std::string url = scheme_ + "://" + Host() + AwsUriEncode(req.path, true);
  for (size_t i = 0; i < req.query.size(); ++i) {
    url +=
        (i == 0 ? "?" : "&") + AwsUriEncode(req.query[i].first, false) + "=" + AwsUriEncode(req.query[i].second, false);
  }
  CURL* curl = curl_easy_init();
  if (!curl) {
    answer.error = "libcurl could not start a transfer";
    return answer;
  }
  curl_slist* headers = nullptr;
  for (const auto& [name, value] : req.headers) headers = curl_slist_append(headers, (name + ": " + value).c_str());
  headers = curl_slist_append(headers, ("Authorization: " + authorization).c_str());
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip

  Transfer transfer{call.body, 0};
  Sink sink{call.download, call.max_download, &answer.body, &answer.received, &answer.too_large};
  std::pair<std::string*, int64_t*> header_sink{&answer.etag, &answer.length};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  long timeout_ms = static_cast<long>(std::clamp<int64_t>(config_.timeout_ms, 100, 15L * 60 * 1000));
  long timeout_s = (timeout_ms + 999) / 1000;
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, std::min(5000L, timeout_ms));
  if (call.slow_answer) {
    // S3 sends spaces while it joins or copies: silence for the timeout
    // means it hangs; 15 minutes in all is the most any such call takes.
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 15L * 60 * 1000);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, timeout_s);
  } else if (call.upload || call.download || call.body.size() > kSmallBody) {
    // Large transfers may take long; a stalled one may not.
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, std::max(1L, (timeout_s + 1) / 2));
  } else {
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  }
  if (!config_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, config_.ca_file.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, ReadHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &header_sink);
  if (call.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (call.method == "PUT") {
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    if (call.upload) {
      curl_easy_setopt(curl, CURLOPT_READDATA, call.upload);
      curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(call.upload_size));
    } else {
      curl_easy_setopt(curl, CURLOPT_READFUNCTION, ReadBody);
      curl_easy_setopt(curl, CURLOPT_READDATA, &transfer);
      curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(call.body.size()));
    }
  } else if (call.method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, call.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(call.body.size()));
  } else {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, call.method.c_str());
  }
  CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  if (rc != CURLE_OK && !answer.too_large) {
    answer.error = curl_easy_strerror(rc);
    status = 0;
  }
  answer.status = static_cast<int>(status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (on_failure_ && (status == 0 || status == 403 || status >= 500)) on_failure_();
  return answer;
}

Result<std::string> S3Client::CreateMultipart(std::string_view key) {
  Call call{"POST", std::string(key), {{"uploads", ""}}};
  // The object's type once joined (libcurl would say a form otherwise).
  call.headers = {{"content-type", "application/octet-stream"}};
  Answer a = Perform(call);
  if (a.status != 200) return ErrorOf(a.status, a.error, a.body, "starting a multipart upload");
  std::string id = XmlText(a.body, "UploadId");
  if (id.empty()) return Internal("starting a multipart upload: the object store answered without an UploadId");
  return id;
}

Status S3Client::CompleteMultipart(std::string_view key, std::string_view upload_id, const std::vector<S3Part>& parts) {
  std::string xml = "<CompleteMultipartUpload>";
  for (const auto& p : parts) {
    xml +=
        "<Part><PartNumber>" + std::to_string(p.number) + "</PartNumber><ETag>" + XmlEscape(p.etag) + "</ETag></Part>";
  }
  xml += "</CompleteMultipartUpload>";
  Call call{"POST", std::string(key), {{"uploadId", std::string(upload_id)}}};
  call.headers = {{"content-type", "application/xml"}};
  call.payload_hash = HexSha256(xml);
  call.body = xml;
  call.slow_answer = true;
  Answer a = Perform(call);
  // S3 may answer 200 and then report a failure in the body.
  if (a.status != 200 || a.body.find("<Error>") != std::string::npos) {
    return ErrorOf(a.status == 200 ? 500 : a.status, a.error, a.body, "completing a multipart upload");
  }
  return OkStatus();
}

Status S3Client::AbortMultipart(std::string_view key, std::string_view upload_id) {
  Call call{"DELETE", std::string(key), {{"uploadId", std::string(upload_id)}}};
  Answer a = Perform(call);
  if (a.status == 204 || a.status == 200 || a.status == 404) return OkStatus();
  return ErrorOf(a.status, a.error, a.body, "aborting a multipart upload");
}

Result<int64_t> S3Client::Size(std::string_view key) {
  Call call{"HEAD", std::string(key)};
  Answer a = Perform(call);
  if (a.status == 404) return NotFound("no such object");
  if (a.status != 200) return ErrorOf(a.status, a.error, a.body, "looking at an object");
  return a.length;
}

Result<int64_t> S3Client::Download(std::string_view key, const std::string& path, int64_t max_bytes) {
  std::FILE* file = std::fopen(path.c_str(), "wbe");
  if (!file) return Internal("cannot write " + path);
  Call call{"GET", std::string(key)};
  call.download = file;
  call.max_download = max_bytes;
  Answer a = Perform(call);
  bool written = std::fflush(file) == 0 && fsync(fileno(file)) == 0;
  std::fclose(file);
  if (a.too_large) return TooLarge("the object holds more bytes than its upload declared");
  if (a.status != 200) {
    std::string body;
    return ErrorOf(a.status, a.error, body, "reading an object");
  }
  if (!written) return Internal("cannot write " + path);
  return a.received;
}

Status S3Client::PutFile(std::string_view key, const std::string& path, std::string_view sha256,
                         std::string_view mime) {
  std::FILE* file = std::fopen(path.c_str(), "rbe");
  if (!file) return Internal("cannot read " + path);
  std::fseek(file, 0, SEEK_END);
  int64_t size = std::ftell(file);
  std::rewind(file);
  Call call{"PUT", std::string(key)};
  call.headers = {{"content-type", std::string(mime)}};
  call.payload_hash = std::string(sha256);
  call.upload = file;
  call.upload_size = size;
  Answer a = Perform(call);
  std::fclose(file);
  if (a.status != 200) return ErrorOf(a.status, a.error, a.body, "storing an object");
  return OkStatus();
}

Status S3Client::PutBytes(std::string_view key, std::string_view bytes, std::string_view mime) {
  Call call{"PUT", std::string(key)};
  call.headers = {{"content-type", std::string(mime)}};
  call.payload_hash = HexSha256(bytes);
  call.body = bytes;
  Answer a = Perform(call);
  if (a.status != 200) return ErrorOf(a.status, a.error, a.body, "storing an object");
  return OkStatus();
}

Status S3Client::Copy(std::string_view from_key, std::string_view to_key) {
  Call call{"PUT", std::string(to_key)};
  call.headers = {{"x-amz-copy-source", AwsUriEncode("/" + config_.bucket + "/" + std::string(from_key), true)}};
  call.slow_answer = true;
  Answer a = Perform(call);
  if (a.status != 200 || a.body.find("<Error>") != std::string::npos) {
    return ErrorOf(a.status == 200 ? 500 : a.status, a.error, a.body, "copying an object");
  }
  return OkStatus();
}

Status S3Client::Delete(std::string_view key) {
  Call call{"DELETE", std::string(key)};
  Answer a = Perform(call);
  if (a.status == 204 || a.status == 200 || a.status == 404) return OkStatus();
  return ErrorOf(a.status, a.error, a.body, "deleting an object");
}

}  // namespace natter::media
