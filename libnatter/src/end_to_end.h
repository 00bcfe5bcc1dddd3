// End-to-end encryption as the client core uses it (docs/e2ee.md): this
// device's keys to publish, sessions with other devices, and the ciphertexts
// of encrypted conversations, all in the JSON shapes of the protocol
// (docs/protocol.md §5.31, §5.32). With NATTER_E2EE it is the Signal protocol
// (src/e2ee/); without, OpenEndToEnd says so and encrypted conversations
// are refused.
//
// What a ciphertext carries is itself JSON: {"text"} of a message or an
// edit, or a reaction's emoji ("" takes it back); a group's pairwise envelope
// may instead carry {"sender_key"}, the sender's key distribution, when the
// content is the shared sender-key body.
//
// Thread-safety: the client's thread only.
#pragma once

#include <boost/json/object.hpp>
#include <compare>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "natter/status.h"

namespace natter::client {

struct DeviceRef {
  int64_t user_id = 0;
  int64_t device_id = 0;
  auto operator<=>(const DeviceRef&) const = default;
};

class EndToEnd {
 public:
  virtual ~EndToEnd() = default;

  // The body of a device's first keys.publish: its registration id and
  // identity, a new signed prekey with id `signed_id`, and one-time prekeys
  // with ids [first_prekey, first_prekey + count).
  virtual Result<boost::json::object> FirstKeys(uint32_t signed_id, uint32_t first_prekey, uint32_t count) = 0;
  // {"prekeys": [...]}: more one-time prekeys.
  virtual Result<boost::json::object> MorePreKeys(uint32_t first, uint32_t count) = 0;
  // {"identity_key", "signed_prekey"}: a new signed prekey (they are renewed weekly).
  virtual Result<boost::json::object> RenewSignedPreKey(uint32_t id) = 0;
  // This device's public identity key (33 bytes).
  virtual std::string IdentityKey() = 0;

  virtual bool HasSession(const DeviceRef& device) = 0;
  // The identity key `device` had when this device first met it (33 bytes).
  virtual std::optional<std::string> KnownIdentity(const DeviceRef& device) = 0;
  // X3DH from one device of a keys.bundle answer; `forbidden` when a device
  // known here presents another identity key.
  virtual Status StartSession(int64_t user_id, const boost::json::object& bundle_device) = 0;
  // The next message to `device` starts a new session (after one failed to decrypt).
  virtual void EndSession(const DeviceRef& device) = 0;

  // An `encrypted` payload for a send, edit or reaction: `content` for each
  // device in `to`. With `sender_key` (groups), the content goes once, under
  // this device's sender key for `group`, and the devices in `needs_key`
  // get the key's distribution in their own envelope; otherwise each device
  // gets its own ciphertext of it.
  virtual Result<boost::json::object> Encrypt(const std::string& group, bool sender_key, const DeviceRef& self,
                                              const std::vector<DeviceRef>& to, const std::set<DeviceRef>& needs_key,
                                              std::string_view content) = 0;
  // The content of an entry's `encrypted` ({"device_id", "type", "body",
  // "envelopes"}) from `sender_id`, read by this device `self`; `not_found`
  // when nothing in it is for this device.
  virtual Result<std::string> Decrypt(const std::string& group, int64_t sender_id, const DeviceRef& self,
                                      const boost::json::object& encrypted) = 0;

  // The 60-digit safety number of two users from the identity keys
  // (33 bytes each) of all their devices.
  virtual Result<std::string> SafetyNumber(int64_t me, const std::vector<std::string>& my_keys, int64_t them,
                                           const std::vector<std::string>& their_keys) = 0;
};

// Opens the device's keys at `path` (made, with a new identity, the first
// time), sealed with `sealing_key` (32 bytes). Null with `why` when it cannot
// be opened, or when libnatter was built without NATTER_E2EE.
std::unique_ptr<EndToEnd> OpenEndToEnd(const std::string& path, const std::string& sealing_key, std::string& why);

}  // namespace natter::client
