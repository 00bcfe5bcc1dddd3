// End-to-end encrypted messages (docs/e2ee.md): natterd cannot read them, so
// what it checks is their addressing. A send names every device the sender
// believes its recipients have, each with its own ciphertext or relying on
// the one the message shares (a sender-key message in a group). The list must
// be exactly the members' current devices, less the sending device; a stale
// one is refused with the current lists, and the client encrypts again.
#pragma once

#include <string>
#include <vector>

#include "chat/conversations.h"
#include "chat/limits.h"
#include "natter/model.h"
#include "natter/status.h"
#include "store/store.h"

namespace natter::chat {

// The most a ciphertext may be beyond the text it carries: the protocol's
// header, a prekey message's keys, padding, an attachment's key and digest.
inline constexpr size_t kEnvelopeOverheadBytes = 4096;

struct EncryptedPayload {
  // The ciphertext every device shares (base64url), with its type; empty
  // when each device has its own.
  int shared_type = 0;
  std::string shared_body;
  // The sender's view of the recipients' devices: user_id and device_id,
  // with a type and body of its own, or none when the shared one covers it.
  std::vector<Envelope> devices;
};

// Checks that need no storage: forms, sizes, duplicates, and that every
// device has something to read.
Status ValidatePayload(const ChatLimits& limits, const EncryptedPayload& payload);

// The envelopes to store for a message the caller's `sender_device` sends to
// `members` (the sender among them): the header first (user 0), then each
// device's own. Fails with stale_devices when the sender's view is not the
// current devices of the members who have not blocked the sender.
Result<std::vector<Envelope>> AddressEnvelopes(AccountsReader& accounts, const std::vector<UserId>& members,
                                               UserId sender, DeviceId sender_device, EncryptedPayload payload);

// Refuses plain content in an encrypted conversation and ciphertexts in a
// plain one.
Status CheckEncryption(const Conversation& conversation, bool encrypted);

// SendingDevice and AddressEnvelopes for the members of conversation `id`.
Result<std::vector<Envelope>> AddressMessage(ConversationTxn& txn, const Context& ctx, ConversationId id,
                                             EncryptedPayload payload);

// The device the caller's session sends from; forbidden when the session has
// published no keys (it could not read the answers).
Result<DeviceId> SendingDevice(AccountsReader& accounts, UserId caller, SessionId session);

}  // namespace natter::chat
