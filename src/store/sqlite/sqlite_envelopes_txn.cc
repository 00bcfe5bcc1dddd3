// SqliteTxn's part of end-to-end encrypted conversations (docs/e2ee.md): the
// devices a message is for, and the envelopes that carry it to them.
#include <algorithm>

#include "store/sqlite/sqlite_rows.h"
#include "store/sqlite/sqlite_txn.h"

namespace natter::sqlite {

Result<std::vector<DeviceAddress>> SqliteTxn::ListDeviceIds(const std::vector<UserId>& users) {
  std::vector<DeviceAddress> out;
  if (users.empty()) return out;
  // One statement for the whole group.
  auto s = db_.Prepare(
      "SELECT user_id, device_id FROM e2ee_devices WHERE user_id IN (SELECT value FROM json_each(?)) "
      "ORDER BY user_id, device_id");
  s.Bind(1, JsonIds(users));
  for (;;) {
    NATTER_TRY(bool row, s.Step());
    if (!row) return out;
    out.push_back(DeviceAddress{s.Int(0), s.Int(1)});
  }
}

Result<std::vector<UserId>> SqliteTxn::ListEncryptedPeers(UserId id, int limit) {
  auto s = db_.Prepare(
      "SELECT DISTINCT o.user_id FROM members m JOIN conversations c ON c.id = m.conversation_id "
      "JOIN members o ON o.conversation_id = m.conversation_id "
      "WHERE m.user_id = ?1 AND c.encrypted = 1 AND o.user_id != ?1 LIMIT ?2");
  s.Bind(1, id).Bind(2, int64_t{limit});
  std::vector<UserId> out;
  for (;;) {
    NATTER_TRY(bool row, s.Step());
    if (!row) return out;
    out.push_back(s.Int(0));
  }
}

Status SqliteTxn::InsertEnvelopes(ConversationId c, Seq seq, const std::vector<Envelope>& envelopes) {
  for (const auto& e : envelopes) {
    auto s = db_.Prepare(
        "INSERT INTO message_envelopes(conversation_id, seq, user_id, device_id, type, body) VALUES(?,?,?,?,?,?)");
    s.Bind(1, c).Bind(2, seq).Bind(3, e.user_id).Bind(4, e.device_id).Bind(5, int64_t{e.type}).Bind(6, e.body);
    NATTER_RETURN_IF_ERROR(s.Run());
  }
  return OkStatus();
}

Status SqliteTxn::LoadEnvelopes(std::vector<Message>& messages, UserId reader) {
  if (messages.empty()) return OkStatus();
  auto [low, high] = std::minmax_element(messages.begin(), messages.end(),
                                         [](const Message& a, const Message& b) { return a.seq < b.seq; });
  auto s = db_.Prepare(
      "SELECT seq, user_id, device_id, type, body FROM message_envelopes WHERE conversation_id = ? "
      "AND seq BETWEEN ? AND ? AND user_id IN (0, ?) ORDER BY seq, user_id, device_id");
  s.Bind(1, messages.front().conversation_id).Bind(2, low->seq).Bind(3, high->seq).Bind(4, reader);
  for (;;) {
    NATTER_TRY(bool row, s.Step());
    if (!row) return OkStatus();
    Seq seq = s.Int(0);
    for (auto& m : messages) {
      if (m.seq == seq) m.envelopes.push_back(Envelope{s.Int(1), s.Int(2), static_cast<int>(s.Int(3)), s.Text(4)});
    }
  }
}

}  // namespace natter::sqlite
