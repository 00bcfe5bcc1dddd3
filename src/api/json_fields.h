// Typed reads of request fields from a JSON object: a missing or wrongly typed
// field becomes a bad_request that names the field.
//
// Fields keeps the first failure and lets the reads after it return empty
// values, so a params struct is read in one expression and checked once:
//
//   Fields f(o);
//   Params p{f.Int("conversation_id"), f.String("text")};
//   return f.Finish(std::move(p));
//
// Thread-safety: a plain value; use it on one thread.
#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "natter/status.h"

namespace natter::api {

class Fields {
 public:
  explicit Fields(const boost::json::object& o) : o_(o) {}

  int64_t Int(std::string_view key);  // required
  std::optional<int64_t> OptionalInt(std::string_view key);
  std::string String(std::string_view key);  // required
  std::optional<std::string> OptionalString(std::string_view key);
  // Absent or null: empty. At most 10,000 items (too_large).
  std::vector<int64_t> IntArray(std::string_view key);
  // Required; anything but true or false fails with `message`.
  bool Bool(std::string_view key, const char* message);
  // Records `error` unless an earlier read already failed.
  void Fail(Error error);

  bool ok() const { return !error_; }
  // `value`, or the first failure.
  template <class T>
  Result<T> Finish(T value) {
    if (error_) return std::move(*error_);
    return Result<T>(std::move(value));
  }

 private:
  const boost::json::object& o_;
  std::optional<Error> error_;
};

}  // namespace natter::api
