// keys.* and devices.list: the key directory of end-to-end encryption
// (docs/e2ee.md). natterd keeps each device's public keys and hands out its
// one-time prekeys, each once; it never sees a private key.
#include <algorithm>
#include <memory>
#include <optional>
#include <set>

#include "api/answers.h"
#include "api/dispatcher.h"
#include "auth/base64url.h"
#include "e2ee/xeddsa.h"

namespace natter::api {
namespace {

namespace json = boost::json;

// Below this many one-time prekeys left, the device is told to publish more.
constexpr int64_t kPreKeysLow = 10;
// The most users one `devices` event goes to (beside the user), per partition.
constexpr int kMaxDevicePeers = 10000;

json::object SignedPreKeyJson(const SignedPreKey& k) {
  return json::object{{"id", k.id}, {"key", k.public_key}, {"signature", k.signature}};
}

json::object DeviceJson(const DeviceKeys& d) {
  return json::object{{"device_id", d.device_id},
                      {"registration_id", d.registration_id},
                      {"identity_key", d.identity_key},
                      {"signed_prekey", SignedPreKeyJson(d.signed_prekey)}};
}

// The device's identity key signed its signed prekey (the 33 bytes, as Signal does).
Status CheckSignature(const std::string& identity_key, const SignedPreKey& key) {
  auto identity = auth::Base64UrlDecode(identity_key);
  auto signed_key = auth::Base64UrlDecode(key.public_key);
  auto signature = auth::Base64UrlDecode(key.signature);
  if (!identity || !signed_key || !signature || !e2ee::VerifySignature(*identity, *signed_key, *signature)) {
    return BadRequest("signed_prekey.signature is not the identity key's signature of signed_prekey.key");
  }
  return OkStatus();
}

struct Published {
  DeviceId device = 0;
  int64_t prekeys = 0;
  bool created = false;
  std::vector<DeviceId> devices;  // the user's, when a device was made
};

// The user a lookup names, unless erased or they blocked `caller` (who then
// learns nothing of their devices, as of an unknown user).
Result<User> FindKeyOwner(AccountsTxn& txn, const UserLookupParams& p, UserId caller) {
  NATTER_TRY(auto user, p.handle ? txn.FindUserByHandle(*p.handle) : txn.FindUser(*p.user_id));
  if (!user || user->erased_at != 0) return NotFound("no such user");
  if (user->id != caller) {
    NATTER_TRY(auto blocks, txn.BlocksBetween(caller, user->id));
    if (blocks.b_blocked_a) return NotFound("no such user");
  }
  return std::move(*user);
}

struct Listed {
  UserId user = 0;
  std::vector<DeviceKeys> devices;
};

struct Bundles {
  UserId user = 0;
  std::vector<KeyBundle> bundles;
  std::vector<std::pair<DeviceId, int64_t>> low;  // devices now short of prekeys, and how many they have
};

}  // namespace

void Dispatcher::PublishKeys(const Caller& c, PublishKeysParams p, Reply reply) {
  // The signature is checked here, before the store is asked anything: one
  // Ed25519 verification, as cheap as reading a token. The transaction then
  // checks that the identity key is the device's.
  if (p.signed_prekey) {
    if (!p.identity_key) return reply(BadRequest("a signed_prekey goes with the identity_key that signed it"));
    if (auto st = CheckSignature(*p.identity_key, *p.signed_prekey); !st.ok()) return reply(st.take_error());
  }
  d_.store.WriteAccountsResult<Published>(
      ExecutorOf(c),
      [user = c.user, session = c.session, p = std::move(p),
       now = d_.clock.NowMs()](AccountsTxn& txn) -> Result<Published> {
        // A session signing out meanwhile must not leave a device behind it.
        NATTER_TRY(bool live, txn.LockLiveSession(session));
        if (!live) return Unauthorized("this session has ended");
        NATTER_TRY(auto device, txn.FindDeviceOfSession(user, session));
        Published out;
        if (!device) {
          if (!p.registration_id || !p.identity_key || !p.signed_prekey) {
            return BadRequest("a session's first keys.publish needs registration_id, identity_key and signed_prekey");
          }
          NATTER_TRY(auto existing, txn.ListDevices(user));
          if (static_cast<int64_t>(existing.size()) >= kMaxDevicesPerUser) {
            return Conflict("a user has at most " + std::to_string(kMaxDevicesPerUser) +
                            " devices; sign one out (or keys.remove on it) first");
          }
          DeviceKeys made{user, 0, session, *p.registration_id, *p.identity_key, *p.signed_prekey, now};
          NATTER_TRY(out.device, txn.AddDevice(made));
          out.created = true;
          // The list the user's sockets are told: the others, then this one (ids only grow).
          for (const auto& d : existing) out.devices.push_back(d.device_id);
          out.devices.push_back(out.device);
        } else {
          out.device = device->device_id;
          if (p.identity_key && *p.identity_key != device->identity_key) {
            return Conflict("this session's device has another identity key; sign in again for a new device");
          }
          if (p.registration_id && *p.registration_id != device->registration_id) {
            return Conflict("this session's device has another registration_id");
          }
        }
        // Ids at or below the highest the device published are skipped: a
        // retried publish cannot bring back a key someone already claimed.
        // Past the cap the publish is refused before anything of it is
        // written (a new device's first publish cannot reach the cap).
        static_assert(kMaxPreKeysPerPublish <= kMaxPreKeysPerDevice);
        NATTER_TRY(out.prekeys, txn.AddPreKeys(user, out.device, p.prekeys, kMaxPreKeysPerDevice));
        if (device && p.signed_prekey) NATTER_RETURN_IF_ERROR(txn.SetSignedPreKey(user, out.device, *p.signed_prekey));
        return out;
      },
      [this, reply = std::move(reply), user = c.user](Result<Published> r) {
        if (!r.ok()) return reply(r.take_error());
        if (r->created) PublishDevices(user, r->devices);
        reply(json::value(json::object{{"device_id", r->device}, {"prekeys", r->prekeys}}));
      });
}

void Dispatcher::ClaimKeyBundles(const Caller& c, KeyBundleParams p, Reply reply) {
  // Each fetch spends one of the caller's hourly budget: handing out
  // one-time prekeys fast would drain them (docs/e2ee.md, "Limits").
  if (!key_bundles_.Take(c.user, d_.clock.SteadyMs() * 1000)) {
    return reply(RateLimited("you have fetched too many key bundles this hour (" +
                             std::to_string(Limits()->max_key_bundles_per_hour) + "); try again later"));
  }
  // The per-peer budget is charged once per request: a batch that runs
  // again (PostgreSQL after a lost race or a failed pipeline) runs this
  // operation again, and must find the first answer.
  auto peer_allowed = std::make_shared<std::optional<bool>>();
  d_.store.WriteAccountsResult<Bundles>(
      ExecutorOf(c),
      [p = std::move(p), caller = c.user, &per_peer = key_claims_per_peer_, peer_allowed,
       now_us = d_.clock.SteadyMs() * 1000](AccountsTxn& txn) -> Result<Bundles> {
        NATTER_TRY(auto target, FindKeyOwner(txn, p.user, caller));
        // And a few an hour from one caller to one user: draining someone's
        // prekeys takes many accounts, not one.
        if (!*peer_allowed) {
          *peer_allowed = per_peer.Take(std::to_string(caller) + ":" + std::to_string(target.id), now_us);
        }
        if (!**peer_allowed) {
          return RateLimited("you have fetched this user's keys too often this hour; try again later");
        }
        Bundles out;
        out.user = target.id;
        NATTER_TRY(auto devices, txn.ListDevices(target.id));
        for (auto& d : devices) {
          if (p.device_id != 0 && d.device_id != p.device_id) continue;
          NATTER_TRY(auto prekey, txn.ClaimPreKey(target.id, d.device_id));
          if (prekey) {
            NATTER_TRY(int64_t left, txn.CountPreKeys(target.id, d.device_id));
            if (left < kPreKeysLow) out.low.emplace_back(d.device_id, left);
          }
          out.bundles.push_back(natter::KeyBundle{std::move(d), std::move(prekey)});
        }
        if (p.device_id != 0 && out.bundles.empty()) return NotFound("no such device");
        return out;
      },
      [this, reply = std::move(reply)](Result<Bundles> r) {
        if (!r.ok()) return reply(r.take_error());
        UserId user = r->user;
        for (const auto& [device, left] : r->low) PublishPreKeysLow(user, device, left);
        json::array list;
        for (const auto& b : r->bundles) {
          json::object entry = DeviceJson(b.device);
          if (b.prekey) entry["prekey"] = json::object{{"id", b.prekey->id}, {"key", b.prekey->public_key}};
          list.push_back(std::move(entry));
        }
        reply(json::value(json::object{{"user_id", user}, {"devices", std::move(list)}}));
      });
}

void Dispatcher::CountKeys(const Caller& c, NoParams, Reply reply) {
  d_.store.ReadAccountsResult<std::pair<DeviceId, int64_t>>(
      ExecutorOf(c),
      [user = c.user, session = c.session](AccountsTxn& txn) -> Result<std::pair<DeviceId, int64_t>> {
        NATTER_TRY(auto device, txn.FindDeviceOfSession(user, session));
        if (!device) return NotFound("this session has published no keys");
        NATTER_TRY(int64_t left, txn.CountPreKeys(user, device->device_id));
        return std::make_pair(device->device_id, left);
      },
      [reply = std::move(reply)](Result<std::pair<DeviceId, int64_t>> r) {
        if (!r.ok()) return reply(r.take_error());
        reply(json::value(json::object{{"device_id", r->first}, {"prekeys", r->second}}));
      });
}

void Dispatcher::ListKeyDevices(const Caller& c, UserLookupParams p, Reply reply) {
  d_.store.ReadAccountsResult<Listed>(
      ExecutorOf(c),
      [p = std::move(p), caller = c.user](AccountsTxn& txn) -> Result<Listed> {
        NATTER_TRY(auto target, FindKeyOwner(txn, p, caller));
        Listed out;
        out.user = target.id;
        NATTER_TRY(out.devices, txn.ListDevices(target.id));
        return out;
      },
      [reply = std::move(reply)](Result<Listed> r) {
        if (!r.ok()) return reply(r.take_error());
        Listed listed = std::move(*r);
        json::array list;
        for (const auto& d : listed.devices) {
          list.push_back(json::object{
              {"device_id", d.device_id}, {"registration_id", d.registration_id}, {"identity_key", d.identity_key}});
        }
        reply(json::value(json::object{{"user_id", listed.user}, {"devices", std::move(list)}}));
      });
}

void Dispatcher::RemoveKeys(const Caller& c, NoParams, Reply reply) {
  d_.store.WriteAccountsResult<std::vector<DeviceId>>(
      ExecutorOf(c),
      [user = c.user, session = c.session](AccountsTxn& txn) -> Result<std::vector<DeviceId>> {
        NATTER_TRY(auto device, txn.FindDeviceOfSession(user, session));
        if (!device) return NotFound("this session has published no keys");
        NATTER_TRY(bool removed, txn.RemoveDevice(user, device->device_id));
        (void)removed;
        NATTER_TRY(auto all, txn.ListDevices(user));
        std::vector<DeviceId> left;
        for (const auto& d : all) left.push_back(d.device_id);
        return left;
      },
      [this, reply = std::move(reply), user = c.user](Result<std::vector<DeviceId>> r) {
        if (!r.ok()) return reply(r.take_error());
        PublishDevices(user, *r);
        reply(json::value(json::object{{"removed", true}}));
      });
}

void Dispatcher::PublishDevices(UserId user, const std::vector<DeviceId>& devices) {
  // Senders address every device of a conversation's members: whoever shares
  // an encrypted conversation with the user hears of it, on any partition.
  // One that cannot answer is left out; a stale send tells them anyway.
  auto frame =
      Frame({{"type", "devices"}, {"user_id", user}, {"devices", json::array(devices.begin(), devices.end())}});
  d_.store.ReadEach<std::vector<UserId>>(
      InlineExecutor(),
      [user](ConversationTxn& txn, int) -> Result<std::vector<UserId>> {
        NATTER_TRY(auto peers, txn.ListEncryptedPeers(user, kMaxDevicePeers));
        // Whom the user blocked learns nothing of their devices.
        NATTER_TRY(auto blocked, txn.accounts().ListBlocked(user));
        std::erase_if(peers, [&](UserId p) {
          return std::any_of(blocked.begin(), blocked.end(), [p](const BlockedUser& b) { return b.user_id == p; });
        });
        return peers;
      },
      [this, user, frame = std::move(frame)](std::vector<Result<std::vector<UserId>>> parts) {
        if (!Publishing()) return;  // a shutdown is under way: the broker may be gone
        std::set<UserId> peers;
        for (const auto& part : parts) {
          if (part.ok()) peers.insert(part->begin(), part->end());
        }
        Event event;
        event.payload = frame;
        event.recipients = {EventRecipient{user, 0}};
        for (UserId peer : peers) event.recipients.push_back(EventRecipient{peer, 0});
        d_.broker.Publish(std::move(event));
      });
}

void Dispatcher::DevicesMayHaveChanged(UserId user) {
  d_.store.ReadAccountsResult<std::vector<DeviceKeys>>(
      InlineExecutor(), [user](AccountsTxn& txn) { return txn.ListDevices(user); },
      [this, user](Result<std::vector<DeviceKeys>> r) {
        if (!r.ok() || !Publishing()) return;  // a later change or a stale send tells them
        std::vector<DeviceId> ids;
        for (const auto& d : *r) ids.push_back(d.device_id);
        PublishDevices(user, ids);
      });
}

void Dispatcher::AskSessionReset(const Caller& c, KeyBundleParams p, Reply reply) {
  // A device that could not decrypt asks the sender's device to start a new
  // session (docs/e2ee.md). It carries nothing but who asks; it spends the
  // same hourly budget as a bundle, which the new session claims anyway.
  DeviceId asked = p.device_id;
  if (asked == 0) return reply(BadRequest("device_id names the device asked"));
  if (!key_bundles_.Take(c.user, d_.clock.SteadyMs() * 1000)) {
    return reply(RateLimited("you have asked for too many sessions this hour; try again later"));
  }
  struct Ask {
    UserId target = 0;
    DeviceId from = 0;
  };
  d_.store.ReadAccountsResult<Ask>(
      ExecutorOf(c),
      [p = std::move(p), caller = c.user, session = c.session](AccountsTxn& txn) -> Result<Ask> {
        NATTER_TRY(auto mine, txn.FindDeviceOfSession(caller, session));
        if (!mine) return Forbidden("publish this session's keys (keys.publish) first: it has no device to answer");
        NATTER_TRY(auto target, FindKeyOwner(txn, p.user, caller));
        NATTER_TRY(auto devices, txn.ListDevices(target.id));
        if (std::none_of(devices.begin(), devices.end(),
                         [&](const DeviceKeys& d) { return d.device_id == p.device_id; })) {
          return NotFound("no such device");
        }
        return Ask{target.id, mine->device_id};
      },
      [this, reply = std::move(reply), caller = c.user, device = asked](Result<Ask> r) {
        if (!r.ok()) return reply(r.take_error());
        Event event;
        event.payload =
            Frame({{"type", "session_reset"}, {"user_id", caller}, {"device_id", r->from}, {"to_device_id", device}});
        event.recipients = {EventRecipient{r->target, 0}};
        d_.broker.Publish(std::move(event));
        reply(json::value(json::object{{"asked", true}}));
      });
}

void Dispatcher::PublishPreKeysLow(UserId user, DeviceId device, int64_t left) {
  Event event;
  event.payload = Frame({{"type", "keys.low"}, {"device_id", device}, {"prekeys", left}});
  event.recipients = {EventRecipient{user, 0}};
  d_.broker.Publish(std::move(event));
}

}  // namespace natter::api
