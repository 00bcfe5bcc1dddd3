// Owning handles for libsignal-protocol-c's objects: its ref-counted types
// are released with signal_type_unref, its buffers freed (secrets zeroed
// first). Getters in the library borrow; constructors take their own
// reference, so a handle stays the caller's to release.
#pragma once

#include <signal/signal_protocol.h>

#include <memory>
#include <string>
#include <string_view>

namespace natter::e2ee {

struct SignalUnref {
  void operator()(void* p) const { signal_type_unref(static_cast<signal_type_base*>(p)); }
};
template <class T>
using SignalRef = std::unique_ptr<T, SignalUnref>;

struct BufferFree {
  void operator()(signal_buffer* b) const { signal_buffer_free(b); }
};
using Buffer = std::unique_ptr<signal_buffer, BufferFree>;

// For private keys and plaintexts: zeroed before they are freed.
struct SecretBufferFree {
  void operator()(signal_buffer* b) const { signal_buffer_bzero_free(b); }
};
using SecretBuffer = std::unique_ptr<signal_buffer, SecretBufferFree>;

inline std::string BytesOf(const signal_buffer* b) {
  return b ? std::string(reinterpret_cast<const char*>(signal_buffer_const_data(b)), signal_buffer_len(b))
           : std::string();
}

inline const uint8_t* DataOf(std::string_view s) { return reinterpret_cast<const uint8_t*>(s.data()); }

}  // namespace natter::e2ee
