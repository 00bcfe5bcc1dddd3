// SqliteTxn's key directory (docs/e2ee.md): devices' public keys and their
// one-time prekeys. One writer: a claim is never raced.
#include <algorithm>

#include "store/row_readers.h"
#include "store/sqlite/sqlite_rows.h"
#include "store/sqlite/sqlite_txn.h"

namespace natter::sqlite {

Result<std::optional<DeviceKeys>> SqliteTxn::FindDeviceOfSession(UserId user, SessionId session) {
  auto s = db_.Prepare("SELECT " DEVICE_KEYS_COLUMNS " FROM e2ee_devices WHERE user_id = ? AND session_id = ?");
  s.Bind(1, user).Bind(2, session);
  return One<DeviceKeys>(s, rows::ReadDeviceKeys<Statement>);
}

Result<DeviceId> SqliteTxn::AddDevice(const DeviceKeys& d) {
  auto next = db_.Prepare(
      "INSERT INTO e2ee_device_ids(user_id, last_device_id) VALUES(?, 1) "
      "ON CONFLICT(user_id) DO UPDATE SET last_device_id = last_device_id + 1 RETURNING last_device_id");
  next.Bind(1, d.user_id);
  NATTER_TRY(bool row, next.Step());
  if (!row) return Internal("a device was not given an id");
  DeviceId id = next.Int(0);
  NATTER_TRY(bool more, next.Step());  // finishes the statement
  (void)more;
  auto s = db_.Prepare("INSERT INTO e2ee_devices(" DEVICE_KEYS_COLUMNS ") VALUES(?,?,?,?,?,?,?,?,?)");
  s.Bind(1, d.user_id)
      .Bind(2, id)
      .Bind(3, d.session_id)
      .Bind(4, d.registration_id)
      .Bind(5, d.identity_key)
      .Bind(6, d.signed_prekey.id)
      .Bind(7, d.signed_prekey.public_key)
      .Bind(8, d.signed_prekey.signature)
      .Bind(9, d.created_at);
  NATTER_RETURN_IF_ERROR(s.Run());
  return id;
}

Status SqliteTxn::SetSignedPreKey(UserId user, DeviceId device, const SignedPreKey& key) {
  auto s = db_.Prepare(
      "UPDATE e2ee_devices SET signed_prekey_id = ?, signed_prekey = ?, signed_prekey_signature = ? "
      "WHERE user_id = ? AND device_id = ?");
  s.Bind(1, key.id).Bind(2, key.public_key).Bind(3, key.signature).Bind(4, user).Bind(5, device);
  return s.Run();
}

Result<int64_t> SqliteTxn::AddPreKeys(UserId user, DeviceId device, const std::vector<OneTimePreKey>& keys,
                                      int64_t max_held) {
  auto high = db_.Prepare(
      "SELECT prekey_high, (SELECT count(*) FROM e2ee_prekeys WHERE user_id = ?1 AND device_id = ?2) "
      "FROM e2ee_devices WHERE user_id = ?1 AND device_id = ?2");
  high.Bind(1, user).Bind(2, device);
  NATTER_TRY(bool found, high.Step());
  if (!found) return NotFound("no such device");
  int64_t above = high.Int(0), highest = above, held = high.Int(1), added = 0;
  int64_t adding = std::count_if(keys.begin(), keys.end(), [above](const OneTimePreKey& k) { return k.id > above; });
  if (adding == 0) return held;
  NATTER_RETURN_IF_ERROR(CheckPreKeyCap(held + adding, max_held));
  for (const auto& key : keys) {
    if (key.id <= above) continue;
    auto s = db_.Prepare("INSERT INTO e2ee_prekeys(user_id, device_id, prekey_id, public_key) VALUES(?,?,?,?)");
    s.Bind(1, user).Bind(2, device).Bind(3, key.id).Bind(4, key.public_key);
    NATTER_RETURN_IF_ERROR(s.Run());
    highest = std::max(highest, key.id);
    ++added;
  }
  auto raise = db_.Prepare("UPDATE e2ee_devices SET prekey_high = ? WHERE user_id = ? AND device_id = ?");
  raise.Bind(1, highest).Bind(2, user).Bind(3, device);
  NATTER_RETURN_IF_ERROR(raise.Run());
  return held + added;
}

Result<bool> SqliteTxn::LockLiveSession(SessionId session) {
  // One writer: a revocation cannot run between this and the commit.
  auto s = db_.Prepare("SELECT revoked FROM sessions WHERE id = ?");
  s.Bind(1, session);
  NATTER_TRY(bool found, s.Step());
  return found && !s.Bool(0);
}

Result<int64_t> SqliteTxn::CountPreKeys(UserId user, DeviceId device) {
  auto s = db_.Prepare("SELECT count(*) FROM e2ee_prekeys WHERE user_id = ? AND device_id = ?");
  s.Bind(1, user).Bind(2, device);
  NATTER_TRY(bool row, s.Step());
  return row ? s.Int(0) : 0;
}

Result<std::vector<DeviceKeys>> SqliteTxn::ListDevices(UserId user) {
  auto s = db_.Prepare("SELECT " DEVICE_KEYS_COLUMNS " FROM e2ee_devices WHERE user_id = ? ORDER BY device_id");
  s.Bind(1, user);
  return All<DeviceKeys>(s, rows::ReadDeviceKeys<Statement>);
}

Result<std::optional<OneTimePreKey>> SqliteTxn::ClaimPreKey(UserId user, DeviceId device) {
  auto s = db_.Prepare(
      "DELETE FROM e2ee_prekeys WHERE user_id = ?1 AND device_id = ?2 AND prekey_id = "
      "(SELECT min(prekey_id) FROM e2ee_prekeys WHERE user_id = ?1 AND device_id = ?2) "
      "RETURNING prekey_id, public_key");
  s.Bind(1, user).Bind(2, device);
  NATTER_TRY(auto claimed, One<OneTimePreKey>(s, [](const Statement& r) {
               return OneTimePreKey{r.Int(0), r.Text(1)};
             }));
  if (claimed) {
    NATTER_TRY(bool more, s.Step());  // finishes the statement
    (void)more;
  }
  return claimed;
}

Result<bool> SqliteTxn::RemoveDevice(UserId user, DeviceId device) {
  auto keys = db_.Prepare("DELETE FROM e2ee_prekeys WHERE user_id = ? AND device_id = ?");
  keys.Bind(1, user).Bind(2, device);
  NATTER_RETURN_IF_ERROR(keys.Run());
  auto s = db_.Prepare("DELETE FROM e2ee_devices WHERE user_id = ? AND device_id = ?");
  s.Bind(1, user).Bind(2, device);
  NATTER_RETURN_IF_ERROR(s.Run());
  return db_.changes() > 0;
}

}  // namespace natter::sqlite
