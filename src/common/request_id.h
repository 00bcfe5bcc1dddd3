// The id that ties a request's log lines together: the trace id of a W3C
// `traceparent` header when the client sent one (so a request can be followed
// from the app's own backend), else a random one. It travels with the request:
// in the Caller, in the thread-local "current" id while a thread works for it,
// and in broker events to the other nodes of a cluster.
//
// Thread-safety: RequestId is a value; the current id is per thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace natter {

struct RequestId {
  uint64_t hi = 0;
  uint64_t lo = 0;

  bool empty() const { return hi == 0 && lo == 0; }
  // 32 lowercase hex digits, as a W3C trace id; empty for none.
  std::string Hex() const;
  friend bool operator==(const RequestId&, const RequestId&) = default;
};

// A new random id (never empty).
RequestId NewRequestId();
// The trace id of a `traceparent` header value (W3C Trace Context, level 1:
// "00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>"), or nullopt when it
// is malformed, or its version or ids are the invalid ones.
std::optional<RequestId> ParseTraceparent(std::string_view header);
// 32 hex digits back into an id (a broker event's), or nullopt.
std::optional<RequestId> ParseRequestIdHex(std::string_view hex);

// The id of the request this thread works for now (empty: none).
RequestId CurrentRequestId();

// Makes `id` the current one until it goes out of scope, then restores the
// one before (scopes nest).
class ScopedRequestId {
 public:
  explicit ScopedRequestId(RequestId id);
  ~ScopedRequestId();
  ScopedRequestId(const ScopedRequestId&) = delete;
  ScopedRequestId& operator=(const ScopedRequestId&) = delete;

 private:
  RequestId previous_;
};

}  // namespace natter
