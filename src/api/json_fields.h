// Typed reads of request fields from a JSON object: a missing or wrongly typed
// field becomes a bad_request that names the field.
#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <vector>

#include "natter/status.h"

namespace natter::api {

Result<int64_t> RequireInt(const boost::json::object& o, std::string_view key);
Result<std::optional<int64_t>> OptionalInt(const boost::json::object& o, std::string_view key);
Result<std::string> RequireString(const boost::json::object& o, std::string_view key);
Result<std::optional<std::string>> OptionalString(const boost::json::object& o, std::string_view key);
Result<std::vector<int64_t>> IntArray(const boost::json::object& o, std::string_view key);

}  // namespace natter::api
