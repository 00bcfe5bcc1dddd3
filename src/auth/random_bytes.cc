#include "auth/random_bytes.h"

#include <sodium.h>

#include <stdexcept>

namespace natter::auth {

void EnsureSodiumInitialized() {
  // A function-local static gives a thread-safe, run-once initialisation.
  // sodium_init() returns 1 when already initialised, which is fine too.
  static const bool initialized = sodium_init() >= 0;
  if (!initialized) throw std::runtime_error("libsodium initialisation failed");
}

std::string RandomBytes(size_t count) {
  EnsureSodiumInitialized();
  std::string out(count, '\0');
  randombytes_buf(out.data(), out.size());
  return out;
}

}  // namespace natter::auth
