// The params of the key directory's methods (docs/e2ee.md). Keys travel as
// unpadded base64url of Signal's serialised forms: a public key is 33 bytes
// (0x05, then the Curve25519 u), a signature 64. Each is checked here, so
// the store only ever holds keys of the right form.
//
// Thread-safety: plain values.
#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <vector>

#include "api/params.h"
#include "natter/status.h"
#include "store/key_records.h"

namespace natter::api {

// At most this many one-time prekeys in one keys.publish, and stored per device.
inline constexpr size_t kMaxPreKeysPerPublish = 100;
inline constexpr int64_t kMaxPreKeysPerDevice = 1000;
// keys.bundle calls one user may make for one other user per hour.
inline constexpr double kKeyClaimsPerPeerPerHour = 10;
// Devices (sessions with keys) one user may have at once.
inline constexpr int64_t kMaxDevicesPerUser = 20;
// Signal's prekey ids are 24 bits; registration ids are below 2^31 here.
inline constexpr int64_t kMaxPreKeyId = (1 << 24) - 1;

// keys.publish: a device's keys. The first publish of a session makes its
// device and needs all three of registration_id, identity_key and
// signed_prekey; later ones may renew the signed prekey and add prekeys.
struct PublishKeysParams {
  std::optional<int64_t> registration_id;
  std::optional<std::string> identity_key;
  std::optional<SignedPreKey> signed_prekey;
  std::vector<OneTimePreKey> prekeys;
  static Result<PublishKeysParams> Parse(const boost::json::object& o);
};

// keys.bundle: one device of the user (by handle or user_id), or (0) every device.
struct KeyBundleParams {
  UserLookupParams user;
  DeviceId device_id = 0;
  static Result<KeyBundleParams> Parse(const boost::json::object& o);
};

}  // namespace natter::api
