// One field of a JSON object that may be missing or of another type: the
// fallback then, never an exception. For JSON already checked or made here
// (the client's requests, its own events, its store); requests to the server
// are read with api/json_fields.h, frames from it with libnatter's decoder.
//
// Thread-safety: pure functions.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace natter::json_lookup {

inline int64_t Int(const boost::json::object& o, const char* key, int64_t fallback = 0) {
  const boost::json::value* v = o.if_contains(key);
  return v && v->is_int64() ? v->get_int64() : fallback;
}

inline std::string Str(const boost::json::object& o, const char* key) {
  const boost::json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

inline bool Bool(const boost::json::object& o, const char* key) {
  const boost::json::value* v = o.if_contains(key);
  return v && v->is_bool() && v->get_bool();
}

// The objects of an array field, others skipped; none when it is missing.
inline std::vector<const boost::json::object*> Objects(const boost::json::object& o, const char* key) {
  std::vector<const boost::json::object*> out;
  const boost::json::value* v = o.if_contains(key);
  if (!v || !v->is_array()) return out;
  for (const auto& item : v->get_array()) {
    if (item.is_object()) out.push_back(&item.get_object());
  }
  return out;
}

}  // namespace natter::json_lookup
