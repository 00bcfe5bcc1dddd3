// The columns both stores select for push devices and push jobs, and how a
// row of them becomes one (as store/row_readers.h does for the rest).
#pragma once

#include "store/push_records.h"

#define PUSH_DEVICE_COLUMNS                                                                        \
  "d.session_id, d.user_id, d.platform, d.token, d.topic, d.environment, d.locale, d.updated_at, " \
  "coalesce(p.live_nodes, 0), coalesce(p.last_live_at, 0), u.push_preview"
#define PUSH_DEVICE_TABLES \
  "push_devices d JOIN users u ON u.id = d.user_id LEFT JOIN push_presence p ON p.session_id = d.session_id"
#define PUSH_JOB_COLUMNS "id, conversation_id, user_id, first_seq, last_seq, due_at, attempts, claim"

namespace natter::rows {

// The PUSH_DEVICE_COLUMNS of `r`.
template <class Row>
PushDevice ReadPushDevice(const Row& r) {
  PushDevice d;
  d.session_id = r.Int(0);
  d.user_id = r.Int(1);
  d.platform = r.Text(2);
  d.token = r.Text(3);
  d.topic = r.Text(4);
  d.environment = r.Text(5);
  d.locale = r.Text(6);
  d.updated_at = r.Int(7);
  d.live_nodes = r.Int(8);
  d.last_live_at = r.Int(9);
  d.show_preview = r.Bool(10);
  return d;
}

// The PUSH_JOB_COLUMNS of `r`.
template <class Row>
PushJob ReadPushJob(const Row& r) {
  return PushJob{r.Int(0), r.Int(1), r.Int(2), r.Int(3), r.Int(4), r.Int(5), static_cast<int>(r.Int(6)), r.Int(7)};
}

}  // namespace natter::rows
