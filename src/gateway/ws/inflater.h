// Inflates one permessage-deflate message (RFC 7692) at a time, with a bound
// on the output so a tiny compressed message cannot expand into gigabytes.
// zlib state exists only while a message is being inflated: an idle
// connection holds just a null pointer.
//
// Thread-safety: not thread-safe; one per connection, used on one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

struct z_stream_s;  // zlib's stream; kept out of this header on purpose.

namespace natter::ws {

class MessageInflater {
 public:
  enum class Status { kOk, kTooBig, kCorrupt, kNoMemory };

  // Starts a new message with a fresh window: natter negotiates
  // client_no_context_takeover, so no message may refer to an earlier one.
  Status Begin();
  // Inflates `compressed` and appends the output to `out`. Returns kTooBig as
  // soon as `out` would grow past `max_out` bytes; `out` then holds at most
  // max_out bytes. Requires out.size() <= max_out.
  Status Feed(std::string_view compressed, size_t max_out, std::string& out);
  // Ends the message: inflates the 00 00 ff ff tail that senders strip
  // (RFC 7692 7.2.2), then frees the zlib state.
  Status Finish(size_t max_out, std::string& out);
  // Drops any message in progress and frees the zlib state.
  void Reset();
  bool active() const { return stream_ != nullptr; }

 private:
  Status Run(const uint8_t* in, size_t len, size_t max_out, std::string& out);

  struct StreamDeleter {
    void operator()(z_stream_s* stream) const;
  };
  std::unique_ptr<z_stream_s, StreamDeleter> stream_;
};

}  // namespace natter::ws
