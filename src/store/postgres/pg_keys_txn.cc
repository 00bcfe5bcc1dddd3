// PgTxn's key directory (docs/e2ee.md), with the accounts on the first
// instance: devices' public keys and their one-time prekeys.
#include <algorithm>

#include "store/postgres/pg_rows.h"
#include "store/postgres/pg_txn.h"
#include "store/row_readers.h"

namespace natter::pg {

Result<std::optional<DeviceKeys>> PgTxn::FindDeviceOfSession(UserId user, SessionId session) {
  NATTER_TRY(auto r,
             accounts_.Query("SELECT " DEVICE_KEYS_COLUMNS " FROM e2ee_devices WHERE user_id = $1 AND session_id = $2",
                             {user, session}));
  return One<DeviceKeys>(r, rows::ReadDeviceKeys<Row>);
}

Result<DeviceId> PgTxn::AddDevice(const DeviceKeys& d) {
  // The counter's row, locked by the upsert, orders two of a user's devices
  // published at once on different nodes: each gets its own id, never reused.
  NATTER_TRY(auto next, accounts_.Query("INSERT INTO e2ee_device_ids(user_id, last_device_id) VALUES($1, 1) "
                                        "ON CONFLICT(user_id) DO UPDATE SET last_device_id = "
                                        "e2ee_device_ids.last_device_id + 1 RETURNING last_device_id",
                                        {d.user_id}));
  if (next.empty()) return Internal("a device was not given an id");
  DeviceId id = next.At(0).Int(0);
  NATTER_TRY(auto r,
             accounts_.Query("INSERT INTO e2ee_devices(" DEVICE_KEYS_COLUMNS ") VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9)",
                             {d.user_id, id, d.session_id, d.registration_id, d.identity_key, d.signed_prekey.id,
                              d.signed_prekey.public_key, d.signed_prekey.signature, d.created_at}));
  return id;
}

Status PgTxn::SetSignedPreKey(UserId user, DeviceId device, const SignedPreKey& key) {
  NATTER_TRY(auto r, accounts_.Query("UPDATE e2ee_devices SET signed_prekey_id = $1, signed_prekey = $2, "
                                     "signed_prekey_signature = $3 WHERE user_id = $4 AND device_id = $5",
                                     {key.id, key.public_key, key.signature, user, device}));
  return OkStatus();
}

Result<int64_t> PgTxn::AddPreKeys(UserId user, DeviceId device, const std::vector<OneTimePreKey>& keys,
                                  int64_t max_held) {
  // The count is a statement of its own, after the lock: one that waited for
  // the lock keeps the snapshot it began with, without the keys another
  // node's publish added meanwhile. Sent together: one round trip.
  NATTER_TRY(int locked, accounts_.Send("SELECT prekey_high FROM e2ee_devices WHERE user_id = $1 AND device_id = $2 "
                                        "FOR NO KEY UPDATE",
                                        {user, device}));
  NATTER_TRY(int counted,
             accounts_.Send("SELECT count(*) FROM e2ee_prekeys WHERE user_id = $1 AND device_id = $2", {user, device}));
  NATTER_TRY(auto high, accounts_.Take(locked));
  NATTER_TRY(auto count, accounts_.Take(counted));
  if (high.empty()) return NotFound("no such device");
  int64_t above = high.At(0).Int(0), highest = above, held = count.Int(0, 0);
  std::vector<int64_t> ids;
  std::vector<std::string> public_keys;
  for (const auto& key : keys) {
    if (key.id <= above) continue;
    ids.push_back(key.id);
    public_keys.push_back(key.public_key);
    highest = std::max(highest, key.id);
  }
  if (ids.empty()) return held;
  NATTER_RETURN_IF_ERROR(CheckPreKeyCap(held + static_cast<int64_t>(ids.size()), max_held));
  // One statement for the whole publish (up to 100 keys), not a round trip each.
  NATTER_TRY(auto r, accounts_.Query("INSERT INTO e2ee_prekeys(user_id, device_id, prekey_id, public_key) "
                                     "SELECT $1, $2, i, k FROM unnest($3::bigint[], $4::text[]) AS p(i, k)",
                                     {user, device, IdArray(ids), TextArray(public_keys)}));
  NATTER_TRY(auto raised,
             accounts_.Query("UPDATE e2ee_devices SET prekey_high = $1 WHERE user_id = $2 AND device_id = $3",
                             {highest, user, device}));
  return held + static_cast<int64_t>(ids.size());
}

Result<bool> PgTxn::LockLiveSession(SessionId session) {
  // FOR SHARE: a revocation's UPDATE of the row waits for this transaction,
  // then removes what it added; or this one waits and sees it revoked.
  NATTER_TRY(auto r, accounts_.Query("SELECT revoked FROM sessions WHERE id = $1 FOR SHARE", {session}));
  return !r.empty() && !r.At(0).Bool(0);
}

Result<int64_t> PgTxn::CountPreKeys(UserId user, DeviceId device) {
  NATTER_TRY(auto r, accounts_.Query("SELECT count(*) FROM e2ee_prekeys WHERE user_id = $1 AND device_id = $2",
                                     {user, device}));
  return r.empty() ? 0 : r.At(0).Int(0);
}

Result<std::vector<DeviceKeys>> PgTxn::ListDevices(UserId user) {
  NATTER_TRY(auto r,
             accounts_.Query("SELECT " DEVICE_KEYS_COLUMNS " FROM e2ee_devices WHERE user_id = $1 ORDER BY device_id",
                             {user}));
  return All<DeviceKeys>(r, rows::ReadDeviceKeys<Row>);
}

Result<std::optional<OneTimePreKey>> PgTxn::ClaimPreKey(UserId user, DeviceId device) {
  // SKIP LOCKED: claims at once, on any node, take different keys.
  NATTER_TRY(auto r, accounts_.Query("DELETE FROM e2ee_prekeys WHERE (user_id, device_id, prekey_id) IN ("
                                     "SELECT user_id, device_id, prekey_id FROM e2ee_prekeys "
                                     "WHERE user_id = $1 AND device_id = $2 ORDER BY prekey_id LIMIT 1 "
                                     "FOR UPDATE SKIP LOCKED) RETURNING prekey_id, public_key",
                                     {user, device}));
  return One<OneTimePreKey>(r, [](const Row& row) { return OneTimePreKey{row.Int(0), row.Text(1)}; });
}

Result<bool> PgTxn::RemoveDevice(UserId user, DeviceId device) {
  NATTER_TRY(auto keys,
             accounts_.Query("DELETE FROM e2ee_prekeys WHERE user_id = $1 AND device_id = $2", {user, device}));
  NATTER_TRY(auto r, accounts_.Query("DELETE FROM e2ee_devices WHERE user_id = $1 AND device_id = $2", {user, device}));
  return r.affected() > 0;
}

}  // namespace natter::pg
