// UTF-8 validation as RFC 6455 requires for text messages and close reasons:
// well-formed per Unicode table 3-7, so overlong forms, surrogates
// (U+D800..U+DFFF) and code points above U+10FFFF are all rejected.
//
// Thread-safety: IsValidUtf8 is a pure function. A Utf8Validator is
// per-message state: not thread-safe, used on one thread.
#pragma once

#include <cstdint>
#include <string_view>

namespace natter {

// True if `text` is entirely well-formed UTF-8. Runs of ASCII are checked
// eight bytes at a time.
bool IsValidUtf8(std::string_view text);

// Validates a byte stream delivered in arbitrary pieces (fragments, network
// reads, inflater output), so a message can be refused as soon as a bad byte
// arrives instead of after the whole message has been buffered.
class Utf8Validator {
 public:
  // Returns false as soon as the bytes seen so far can never be valid,
  // whatever follows; once false, it stays false until Reset().
  bool Feed(std::string_view chunk);
  // True if every sequence seen so far is finished (and none was invalid).
  bool Complete() const { return !failed_ && pending_ == 0; }
  void Reset();

 private:
  // Continuation bytes still expected for the current sequence.
  uint8_t pending_ = 0;
  // Allowed range for the next continuation byte. Only the first one after a
  // lead byte is ever narrower than 0x80..0xBF: that is where overlongs,
  // surrogates and > U+10FFFF are excluded.
  uint8_t next_min_ = 0x80;
  uint8_t next_max_ = 0xBF;
  bool failed_ = false;
};

}  // namespace natter
