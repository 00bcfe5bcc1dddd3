// What the key directory keeps for end-to-end encryption (docs/e2ee.md): each
// device's public keys, as the device published them. natterd never holds a
// private key. Keys are base64url text (unpadded), as the protocol carries
// them; the API checks their form before they are stored.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "natter/model.h"
#include "natter/status.h"

namespace natter {

using DeviceId = int64_t;

// One device of one user, as senders address it.
struct DeviceAddress {
  UserId user_id = 0;
  DeviceId device_id = 0;
  auto operator<=>(const DeviceAddress&) const = default;
};

// A medium-term key, signed by the device's identity key.
struct SignedPreKey {
  int64_t id = 0;
  std::string public_key;
  std::string signature;
};

// A key handed out once, to one sender, for one session's first message.
struct OneTimePreKey {
  int64_t id = 0;
  std::string public_key;
};

// One device of a user: the session that published it, and its keys.
struct DeviceKeys {
  UserId user_id = 0;
  DeviceId device_id = 0;  // from 1, per user; assigned by the store
  SessionId session_id = 0;
  int64_t registration_id = 0;  // the device's own random id (Signal's)
  std::string identity_key;
  SignedPreKey signed_prekey;
  int64_t created_at = 0;  // ms
};

// What a sender fetches to start a session with one device: its keys and, while
// any is left, a one-time prekey no one else will get.
struct KeyBundle {
  DeviceKeys device;
  std::optional<OneTimePreKey> prekey;
};

// A publish that would leave a device holding more one-time prekeys than
// `max_held` is refused whole (both stores check before they write).
inline Status CheckPreKeyCap(int64_t would_hold, int64_t max_held) {
  if (would_hold <= max_held) return OkStatus();
  return TooLarge("a device holds at most " + std::to_string(max_held) + " prekeys");
}

}  // namespace natter
