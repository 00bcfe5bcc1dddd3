#include "api/json_fields.h"

namespace natter::api {
namespace {

Error WrongType(std::string_view key, const char* what) {
  return BadRequest("field '" + std::string(key) + "' must be " + what);
}

Error Missing(std::string_view key) { return BadRequest("field '" + std::string(key) + "' is required"); }

std::optional<int64_t> AsInt(const boost::json::value& v) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    return static_cast<int64_t>(v.get_uint64());
  }
  return std::nullopt;
}

}  // namespace

void Fields::Fail(Error error) {
  if (!error_) error_ = std::move(error);
}

std::optional<int64_t> Fields::OptionalInt(std::string_view key) {
  if (error_) return std::nullopt;
  auto* v = o_.if_contains(key);
  if (!v || v->is_null()) return std::nullopt;
  auto i = AsInt(*v);
  if (!i) Fail(WrongType(key, "an integer"));
  return i;
}

int64_t Fields::Int(std::string_view key) {
  if (error_) return 0;
  auto v = OptionalInt(key);
  if (!v && !error_) Fail(Missing(key));
  return v.value_or(0);
}

std::optional<std::string> Fields::OptionalString(std::string_view key) {
  if (error_) return std::nullopt;
  auto* v = o_.if_contains(key);
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_string()) {
    Fail(WrongType(key, "a string"));
    return std::nullopt;
  }
  return std::string(v->get_string());
}

std::string Fields::String(std::string_view key) {
  if (error_) return {};
  auto v = OptionalString(key);
  if (!v && !error_) Fail(Missing(key));
  return std::move(v).value_or(std::string());
}

std::vector<int64_t> Fields::IntArray(std::string_view key) {
  std::vector<int64_t> out;
  if (error_) return out;
  auto* v = o_.if_contains(key);
  if (!v || v->is_null()) return out;
  if (!v->is_array()) {
    Fail(WrongType(key, "an array of integers"));
    return out;
  }
  if (v->get_array().size() > 10000) {
    Fail(TooLarge("field '" + std::string(key) + "' has too many items"));
    return out;
  }
  for (const auto& item : v->get_array()) {
    auto i = AsInt(item);
    if (!i) {
      Fail(WrongType(key, "an array of integers"));
      return {};
    }
    out.push_back(*i);
  }
  return out;
}

bool Fields::Bool(std::string_view key, const char* message) {
  if (error_) return false;
  auto* v = o_.if_contains(key);
  if (!v || !v->is_bool()) {
    Fail(BadRequest(message));
    return false;
  }
  return v->get_bool();
}

}  // namespace natter::api
