#include "api/json_fields.h"

namespace natter::api {
namespace {
Error WrongType(std::string_view key, const char* what) {
  return BadRequest("field '" + std::string(key) + "' must be " + what);
}

std::optional<int64_t> AsInt(const boost::json::value& v) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    return static_cast<int64_t>(v.get_uint64());
  }
  return std::nullopt;
}
}  // namespace

Result<int64_t> RequireInt(const boost::json::object& o, std::string_view key) {
  NATTER_TRY(auto v, OptionalInt(o, key));
  if (!v) return BadRequest("field '" + std::string(key) + "' is required");
  return *v;
}

Result<std::optional<int64_t>> OptionalInt(const boost::json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (!v || v->is_null()) return std::optional<int64_t>();
  auto i = AsInt(*v);
  if (!i) return WrongType(key, "an integer");
  return i;
}

Result<std::string> RequireString(const boost::json::object& o, std::string_view key) {
  NATTER_TRY(auto v, OptionalString(o, key));
  if (!v) return BadRequest("field '" + std::string(key) + "' is required");
  return std::move(*v);
}

Result<std::optional<std::string>> OptionalString(const boost::json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (!v || v->is_null()) return std::optional<std::string>();
  if (!v->is_string()) return WrongType(key, "a string");
  return std::optional<std::string>(std::string(v->get_string()));
}

Result<std::vector<int64_t>> IntArray(const boost::json::object& o, std::string_view key) {
  std::vector<int64_t> out;
  auto* v = o.if_contains(key);
  if (!v || v->is_null()) return out;
  if (!v->is_array()) return WrongType(key, "an array of integers");
  if (v->get_array().size() > 10000) return TooLarge("field '" + std::string(key) + "' has too many items");
  for (const auto& item : v->get_array()) {
    auto i = AsInt(item);
    if (!i) return WrongType(key, "an array of integers");
    out.push_back(*i);
  }
  return out;
}

}  // namespace natter::api
