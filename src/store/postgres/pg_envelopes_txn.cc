// PgTxn's part of end-to-end encrypted conversations (docs/e2ee.md): the
// devices a message is for (with the accounts), and the envelopes that carry
// it to them (with the conversation).
#include <algorithm>

#include "store/postgres/pg_rows.h"
#include "store/postgres/pg_txn.h"

namespace natter::pg {
Result<std::vector<DeviceAddress>> PgTxn::ListDeviceIds(const std::vector<UserId>& users) {
  std::vector<DeviceAddress> out;
  if (users.empty()) return out;
  NATTER_TRY(auto r, accounts_.Query("SELECT user_id, device_id FROM e2ee_devices WHERE user_id = ANY($1::bigint[]) "
                                     "ORDER BY user_id, device_id",
                                     {IdArray(users)}));
  out.reserve(r.size());
  for (int i = 0; i < r.size(); ++i) out.push_back(DeviceAddress{r.Int(i, 0), r.Int(i, 1)});
  return out;
}

Result<std::vector<UserId>> PgTxn::ListEncryptedPeers(UserId id, int limit) {
  NATTER_TRY(auto r,
             db_.Query("SELECT DISTINCT o.user_id FROM members m JOIN conversations c ON c.id = m.conversation_id "
                       "JOIN members o ON o.conversation_id = m.conversation_id "
                       "WHERE m.user_id = $1 AND c.encrypted AND o.user_id != $1 LIMIT $2",
                       {id, int64_t{limit}}));
  return Ints(r);
}

Status PgTxn::InsertEnvelopes(ConversationId c, Seq seq, const std::vector<Envelope>& envelopes) {
  if (envelopes.empty()) return OkStatus();
  std::vector<int64_t> users, devices, types;
  std::vector<std::string> bodies;
  for (const auto& e : envelopes) {
    users.push_back(e.user_id);
    devices.push_back(e.device_id);
    types.push_back(e.type);
    bodies.push_back(e.body);
  }
  // One statement for every device of every member.
  NATTER_TRY(auto r, db_.Query("INSERT INTO message_envelopes(conversation_id, seq, user_id, device_id, type, body) "
                               "SELECT $1, $2, u, d, t, b FROM unnest($3::bigint[], $4::bigint[], $5::bigint[], "
                               "$6::text[]) AS e(u, d, t, b)",
                               {c, seq, IdArray(users), IdArray(devices), IdArray(types), TextArray(bodies)}));
  return OkStatus();
}

Status PgTxn::LoadEnvelopes(std::vector<Message>& messages, UserId reader) {
  if (messages.empty()) return OkStatus();
  auto [low, high] = std::minmax_element(messages.begin(), messages.end(),
                                         [](const Message& a, const Message& b) { return a.seq < b.seq; });
  NATTER_TRY(auto r, db_.Query("SELECT seq, user_id, device_id, type, body FROM message_envelopes "
                               "WHERE conversation_id = $1 AND seq BETWEEN $2 AND $3 AND user_id IN (0, $4) "
                               "ORDER BY seq, user_id, device_id",
                               {messages.front().conversation_id, low->seq, high->seq, reader}));
  for (int i = 0; i < r.size(); ++i) {
    Seq seq = r.Int(i, 0);
    for (auto& m : messages) {
      if (m.seq == seq) {
        m.envelopes.push_back(Envelope{r.Int(i, 1), r.Int(i, 2), static_cast<int>(r.Int(i, 3)), r.Text(i, 4)});
      }
    }
  }
  return OkStatus();
}

}  // namespace natter::pg
