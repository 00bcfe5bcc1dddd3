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

namespace natter::json_lookup {

inline int64_t Int(const boost::json::object& o, const char* key, int64_t fallback = 0) {
  const boost::json::value* v = o.if_contains(key);
  return v && v->is_int64() ? v->get_int64() : fallback;
}

inline std::string Str(const boost::json::object& o, const char* key) {
  const boost::json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

}  // namespace natter::json_lookup
