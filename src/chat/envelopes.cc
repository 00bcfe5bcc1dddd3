#include "chat/envelopes.h"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <map>

#include "auth/base64url.h"

namespace natter::chat {
namespace {

constexpr int kMaxEnvelopeType = 255;

Status CheckCiphertext(const ChatLimits& limits, int type, const std::string& body, const char* what) {
  if (type < 0 || type > kMaxEnvelopeType) return BadRequest(std::string(what) + " type must be 0 to 255");
  // base64url carries 3 bytes in 4 characters.
  size_t max_chars = (limits.max_text_bytes + kEnvelopeOverheadBytes) * 4 / 3 + 4;
  if (body.size() > max_chars) return TooLarge(std::string(what) + " is too long");
  if (!auth::Base64UrlDecode(body)) return BadRequest(std::string(what) + " must be unpadded base64url");
  return OkStatus();
}

// stale_devices, with the current device ids of every user whose view differs.
Error StaleDevices(const std::map<UserId, std::vector<DeviceId>>& current, const std::vector<UserId>& users) {
  boost::json::array stale;
  for (UserId u : users) {
    boost::json::array ids;
    if (auto it = current.find(u); it != current.end()) {
      for (DeviceId d : it->second) ids.push_back(d);
    }
    stale.push_back(boost::json::object{{"user_id", u}, {"device_ids", std::move(ids)}});
  }
  return Error{ErrorCode::kStaleDevices,
               "the devices addressed are not the recipients' current ones: encrypt for the devices in details",
               boost::json::serialize(boost::json::object{{"devices", std::move(stale)}})};
}

}  // namespace

Status ValidatePayload(const ChatLimits& limits, const EncryptedPayload& payload) {
  bool shared = !payload.shared_body.empty();
  if (shared) NATTER_RETURN_IF_ERROR(CheckCiphertext(limits, payload.shared_type, payload.shared_body, "body"));
  std::vector<DeviceAddress> seen;
  seen.reserve(payload.devices.size());
  for (const auto& e : payload.devices) {
    if (e.user_id <= 0 || e.device_id <= 0) return BadRequest("each device needs a user_id and a device_id");
    if (e.body.empty() && !shared) return BadRequest("a device without its own body needs the message's body");
    if (!e.body.empty()) NATTER_RETURN_IF_ERROR(CheckCiphertext(limits, e.type, e.body, "a device's body"));
    seen.push_back(DeviceAddress{e.user_id, e.device_id});
  }
  std::sort(seen.begin(), seen.end());
  if (std::adjacent_find(seen.begin(), seen.end()) != seen.end()) return BadRequest("a device is named twice");
  return OkStatus();
}

Result<std::vector<Envelope>> AddressEnvelopes(AccountsReader& accounts, const std::vector<UserId>& members,
                                               UserId sender, DeviceId sender_device, EncryptedPayload payload) {
  // Whoever blocked the sender is not addressed: their keys are not_found to
  // the sender, and they would hide the message anyway.
  NATTER_TRY(auto blockers, accounts.BlockersAmong(sender, members));
  std::vector<UserId> addressed;
  addressed.reserve(members.size());
  for (UserId m : members) {
    if (std::find(blockers.begin(), blockers.end(), m) == blockers.end()) addressed.push_back(m);
  }
  NATTER_TRY(auto devices, accounts.ListDeviceIds(addressed));
  std::map<UserId, std::vector<DeviceId>> current;
  for (const auto& d : devices) {
    if (d.user_id == sender && d.device_id == sender_device) continue;
    current[d.user_id].push_back(d.device_id);
  }
  std::map<UserId, std::vector<DeviceId>> view;
  for (const auto& e : payload.devices) view[e.user_id].push_back(e.device_id);
  std::vector<UserId> differ;
  for (auto& [user, ids] : view) {
    std::sort(ids.begin(), ids.end());
    auto it = current.find(user);
    if (it == current.end() || it->second != ids) differ.push_back(user);
  }
  for (const auto& [user, ids] : current) {
    if (!view.contains(user)) differ.push_back(user);
  }
  if (!differ.empty()) {
    std::sort(differ.begin(), differ.end());
    return StaleDevices(current, differ);
  }
  std::vector<Envelope> out;
  out.reserve(payload.devices.size() + 1);
  out.push_back(Envelope{0, sender_device, payload.shared_type, std::move(payload.shared_body)});
  for (auto& e : payload.devices) {
    if (!e.body.empty()) out.push_back(std::move(e));
  }
  return out;
}

Status CheckEncryption(const Conversation& conversation, bool encrypted) {
  if (conversation.encrypted && !encrypted) {
    return BadRequest("this conversation is end-to-end encrypted: send `encrypted` ciphertexts, not text");
  }
  if (!conversation.encrypted && encrypted) return BadRequest("this conversation is not end-to-end encrypted");
  return OkStatus();
}

Result<std::vector<Envelope>> AddressMessage(ConversationTxn& txn, const Context& ctx, ConversationId id,
                                             EncryptedPayload payload) {
  NATTER_TRY(DeviceId device, SendingDevice(txn.accounts(), ctx.caller, ctx.session));
  NATTER_TRY(auto members, txn.ListMembers(id));
  std::vector<UserId> users;
  users.reserve(members.size());
  for (const auto& m : members) users.push_back(m.user_id);
  return AddressEnvelopes(txn.accounts(), users, ctx.caller, device, std::move(payload));
}

Result<DeviceId> SendingDevice(AccountsReader& accounts, UserId caller, SessionId session) {
  NATTER_TRY(auto device, accounts.FindDeviceOfSession(caller, session));
  if (!device) {
    return Forbidden("this conversation is end-to-end encrypted: publish this device's keys (keys.publish) first");
  }
  return device->device_id;
}

}  // namespace natter::chat
