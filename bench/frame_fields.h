// Reads the few fields the bench needs straight out of the server's JSON
// text, without building a DOM: at tens of thousands of frames a second a
// parse per frame would make the generator the bottleneck. The server writes
// its keys in a fixed order ("type" first, the message's own "seq" before any
// other key ending in seq), which these helpers rely on; anything unexpected
// is reported by the caller as a protocol problem.
//
// Thread-safety: pure functions, safe from any thread.
#pragma once

#include <cstdint>
#include <string_view>

namespace natter::bench {

// The value of the leading "type" key, or "" if the frame does not start so.
std::string_view FrameType(std::string_view frame);

// The integer after the first occurrence of `key` (which includes the quotes
// and colon, e.g. "\"seq\":"), searching from `from`. False if absent.
bool FindInt(std::string_view frame, std::string_view key, int64_t& out, size_t from = 0);

// The string value after the first occurrence of `key` (raw, not unescaped).
bool FindString(std::string_view frame, std::string_view key, std::string_view& out, size_t from = 0);

// The send timestamp the bench puts at the start of every message text:
// "t=<ns>;" (CLOCK_MONOTONIC of the intended send time).
bool FindSendTime(std::string_view frame, int64_t& ns);

}  // namespace natter::bench
