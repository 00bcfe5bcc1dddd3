#include "api/envelope.h"

#include <boost/json/parse.hpp>

namespace natter::api {

namespace json = boost::json;

Result<Envelope> ParseEnvelope(std::string_view text, json::value& id) {
  id = nullptr;
  boost::system::error_code ec;
  json::parse_options opts;
  opts.max_depth = 16;
  json::value parsed = json::parse(text, ec, {}, opts);
  if (ec || !parsed.is_object()) return BadRequest("a frame must be one JSON object");
  const json::object& request = parsed.get_object();
  if (const json::value* given = request.if_contains("id")) {
    if (!given->is_string() && !given->is_int64() && !given->is_uint64()) {
      return BadRequest("'id' must be a string or an integer");
    }
    id = *given;
  }
  const json::value* type = request.if_contains("type");
  if (!type || !type->is_string()) return BadRequest("field 'type' is required and must be a string");
  Envelope envelope{json::value(), id, std::string(type->get_string())};
  envelope.request = std::move(parsed);
  return envelope;
}

}  // namespace natter::api
