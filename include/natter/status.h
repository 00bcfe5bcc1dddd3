// One error type for the whole project: a closed set of codes, each with a
// message a developer can act on. Expected failures travel as values
// (Result<T>); exceptions are reserved for start-up and programming errors.
//
// Thread-safety: plain values, safe to move between threads.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace natter {

enum class ErrorCode {
  kBadRequest,
  kUnauthorized,
  // An access token valid in every respect but that it has expired: on the
  // wire it is `unauthorized` (message `token_expired`); a WebSocket closes
  // with 4002 instead of 4001, so the client refreshes rather than logs in.
  kTokenExpired,
  kForbidden,
  kNotFound,
  kConflict,
  // An encrypted send (docs/e2ee.md) addressed devices that are not the
  // recipients' current ones: 409, with the current lists in `details`.
  kStaleDevices,
  kRateLimited,
  kTooLarge,
  kUnavailable,
  kInternal,
};

// The wire name of a code, as docs/protocol.md lists them ("bad_request", ...).
std::string_view ErrorCodeName(ErrorCode code);
// The HTTP status an HTTP answer carries for this code.
int HttpStatusFor(ErrorCode code);

struct Error {
  ErrorCode code;
  std::string message;
  // What a client needs to act on it, as the text of a JSON object (empty:
  // nothing); sent as the error's `details`.
  std::string details = {};
};

inline Error BadRequest(std::string m) { return {ErrorCode::kBadRequest, std::move(m)}; }
inline Error Unauthorized(std::string m) { return {ErrorCode::kUnauthorized, std::move(m)}; }
inline Error TokenExpired() { return {ErrorCode::kTokenExpired, "token_expired"}; }
inline Error Forbidden(std::string m) { return {ErrorCode::kForbidden, std::move(m)}; }
inline Error NotFound(std::string m) { return {ErrorCode::kNotFound, std::move(m)}; }
inline Error Conflict(std::string m) { return {ErrorCode::kConflict, std::move(m)}; }
inline Error RateLimited(std::string m) { return {ErrorCode::kRateLimited, std::move(m)}; }
inline Error TooLarge(std::string m) { return {ErrorCode::kTooLarge, std::move(m)}; }
inline Error Unavailable(std::string m) { return {ErrorCode::kUnavailable, std::move(m)}; }
inline Error Internal(std::string m) { return {ErrorCode::kInternal, std::move(m)}; }

// Either a value or an Error. A small stand-in for C++23 std::expected, which
// the Debian 12 toolchain does not ship.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { return std::get<1>(v_); }
  Error&& take_error() { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

struct Ok {};
// Success carries nothing; failure carries an Error.
using Status = Result<Ok>;
inline Status OkStatus() { return Ok{}; }

}  // namespace natter

// Evaluates a Result expression; on error returns the error from the calling
// function, otherwise binds the value to `var`.
#define NATTER_CONCAT_INNER(a, b) a##b
#define NATTER_CONCAT(a, b) NATTER_CONCAT_INNER(a, b)
#define NATTER_TRY(var, expr) NATTER_TRY_IMPL(NATTER_CONCAT(natter_try_, __LINE__), var, expr)
#define NATTER_TRY_IMPL(tmp, var, expr)   \
  auto tmp = (expr);                      \
  if (!tmp.ok()) return tmp.take_error(); \
  var = std::move(tmp).value()
// Like NATTER_TRY for a Status whose value is not needed.
#define NATTER_RETURN_IF_ERROR(expr)                              \
  do {                                                            \
    auto natter_status_ = (expr);                                 \
    if (!natter_status_.ok()) return natter_status_.take_error(); \
  } while (0)
