#include "store/postgres/pg_migrations.h"

#include <stdexcept>
#include <string>

namespace natter::pg {
namespace {

// Append only: never edit a migration that has shipped.
const char* const kMigrations[] = {
    // 1: accounts, sessions, conversations and their timelines, per-user update log.
    R"sql(
CREATE TABLE users (
  id BIGINT PRIMARY KEY,
  handle TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  last_seen BIGINT NOT NULL DEFAULT 0,
  presence_hidden BOOLEAN NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX users_handle ON users (lower(handle));
CREATE TABLE sessions (
  id BIGINT PRIMARY KEY,
  user_id BIGINT NOT NULL REFERENCES users(id),
  device TEXT NOT NULL,
  revoked BOOLEAN NOT NULL DEFAULT false,
  created_at BIGINT NOT NULL
);
CREATE TABLE refresh_tokens (
  token_hash TEXT PRIMARY KEY,
  session_id BIGINT NOT NULL REFERENCES sessions(id),
  used BOOLEAN NOT NULL DEFAULT false
);
CREATE TABLE conversations (
  id BIGINT PRIMARY KEY,
  kind TEXT NOT NULL,
  title TEXT NOT NULL DEFAULT '',
  direct_key TEXT UNIQUE,
  created_by BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  last_seq BIGINT NOT NULL DEFAULT 0,
  last_activity BIGINT NOT NULL,
  large BOOLEAN NOT NULL DEFAULT false
);
-- Members reference users on the accounts instance, so no foreign key to users.
CREATE TABLE members (
  conversation_id BIGINT NOT NULL REFERENCES conversations(id),
  user_id BIGINT NOT NULL,
  role TEXT NOT NULL,
  joined_at BIGINT NOT NULL,
  read_seq BIGINT NOT NULL DEFAULT 0,
  delivered_seq BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX members_by_user ON members (user_id, conversation_id);
CREATE TABLE messages (
  conversation_id BIGINT NOT NULL,
  seq BIGINT NOT NULL,
  kind TEXT NOT NULL,
  sender_id BIGINT NOT NULL,
  client_msg_id TEXT,
  body TEXT NOT NULL,
  reply_to BIGINT,
  target_seq BIGINT,
  target_user BIGINT,
  created_at BIGINT NOT NULL,
  edited_at BIGINT,
  deleted BOOLEAN NOT NULL DEFAULT false,
  PRIMARY KEY (conversation_id, seq)
);
CREATE UNIQUE INDEX messages_idempotency ON messages (conversation_id, sender_id, client_msg_id)
  WHERE client_msg_id IS NOT NULL;
CREATE INDEX messages_targets ON messages (conversation_id, target_seq) WHERE target_seq IS NOT NULL;
CREATE TABLE reactions (
  conversation_id BIGINT NOT NULL,
  message_seq BIGINT NOT NULL,
  user_id BIGINT NOT NULL,
  emoji TEXT NOT NULL,
  PRIMARY KEY (conversation_id, message_seq, user_id)
);
-- Each user's update log for the conversations on this instance: its head
-- (pts, and the floor below which entries were pruned) and its entries.
CREATE TABLE user_logs (
  user_id BIGINT PRIMARY KEY,
  pts BIGINT NOT NULL,
  pts_floor BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE user_updates (
  user_id BIGINT NOT NULL,
  pts BIGINT NOT NULL,
  conversation_id BIGINT NOT NULL,
  seq BIGINT NOT NULL,
  PRIMARY KEY (user_id, pts)
);
)sql",
    // 2: which nodes hold a connection of each user (presence across a cluster).
    R"sql(
ALTER TABLE users ADD COLUMN online_nodes BIGINT NOT NULL DEFAULT 0;
CREATE INDEX users_online ON users (id) WHERE online_nodes <> 0;
)sql",
    // 3: push notifications: device tokens, settings, mutes, the push queue.
    R"sql(
ALTER TABLE users ADD COLUMN push_preview BOOLEAN NOT NULL DEFAULT true;
ALTER TABLE members ADD COLUMN muted_until BIGINT NOT NULL DEFAULT 0;
CREATE TABLE push_devices (
  session_id BIGINT PRIMARY KEY,
  user_id BIGINT NOT NULL,
  platform TEXT NOT NULL,
  token TEXT NOT NULL,
  topic TEXT NOT NULL,
  environment TEXT NOT NULL,
  locale TEXT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE (platform, token)
);
-- Which nodes hold a foreground connection of each session, and when it last
-- had one: kept for every session (a device may register on another node).
CREATE TABLE push_presence (
  session_id BIGINT PRIMARY KEY,
  live_nodes BIGINT NOT NULL DEFAULT 0,
  last_live_at BIGINT NOT NULL DEFAULT 0
);
-- Nodes whose push worker runs: a live bit counts only while its node is seen.
CREATE TABLE push_nodes (
  node_id BIGINT PRIMARY KEY,
  seen_at BIGINT NOT NULL
);
CREATE INDEX push_devices_by_user ON push_devices (user_id);
CREATE TABLE push_queue (
  id BIGSERIAL PRIMARY KEY,
  conversation_id BIGINT NOT NULL,
  user_id BIGINT NOT NULL,
  first_seq BIGINT NOT NULL,
  last_seq BIGINT NOT NULL,
  due_at BIGINT NOT NULL,
  claimed_until BIGINT NOT NULL DEFAULT 0,
  claim BIGINT NOT NULL DEFAULT 0,          -- the claimer's token: only it may finish the job
  attempts INT NOT NULL DEFAULT 0,
  UNIQUE (conversation_id, user_id)
);
CREATE INDEX push_queue_due ON push_queue (due_at);
CREATE TABLE push_shown (
  conversation_id BIGINT NOT NULL,
  user_id BIGINT NOT NULL,
  seq BIGINT NOT NULL,
  PRIMARY KEY (conversation_id, user_id)
);
)sql",
    // 4: media: uploads, and the attachments a message carries.
    R"sql(
ALTER TABLE messages ADD COLUMN attachments TEXT NOT NULL DEFAULT '';
CREATE TABLE media_uploads (
  id BIGINT PRIMARY KEY,
  user_id BIGINT NOT NULL,
  size BIGINT NOT NULL,
  declared_mime TEXT NOT NULL,
  filename TEXT NOT NULL,
  state INT NOT NULL,          -- 0 uploading, 1 ready, 2 attached, 3 expired
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,     -- 0 once attached
  info TEXT NOT NULL DEFAULT ''
);
CREATE INDEX media_uploads_by_user ON media_uploads (user_id, created_at);
CREATE INDEX media_uploads_expiry ON media_uploads (expires_at) WHERE expires_at != 0;
)sql",
    // 5: an upload's name in the object store (S3 multipart uploads).
    R"sql(
ALTER TABLE media_uploads ADD COLUMN store_ref TEXT NOT NULL DEFAULT '';
)sql",
    // 6: the catalog of stored objects (accounts), the uploads of deleted
    // messages waiting to be released (each conversation's partition), and
    // the send an upload is attached to.
    R"sql(
CREATE TABLE media_objects (
  sha256 TEXT PRIMARY KEY,
  generation BIGINT NOT NULL,
  refs BIGINT NOT NULL
);
CREATE TABLE media_releases (
  upload_id BIGINT PRIMARY KEY,
  due_at BIGINT NOT NULL
);
CREATE INDEX media_releases_due ON media_releases (due_at);
ALTER TABLE media_uploads ADD COLUMN attached_to TEXT NOT NULL DEFAULT '';
)sql",
    // 7: whom each user blocked (accounts).
    R"sql(
CREATE TABLE blocks (
  user_id BIGINT NOT NULL,
  blocked_id BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (user_id, blocked_id)
);
CREATE INDEX blocks_by_blocked ON blocks (blocked_id);
)sql",
    // 8: profiles: the name and picture others see.
    R"sql(
ALTER TABLE users ADD COLUMN display_name TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN avatar TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN avatar_upload BIGINT NOT NULL DEFAULT 0;
)sql",
    // 9: consent: who may add a user to a group straight away (accounts);
    // invitations waiting for an answer and who left or declined a
    // conversation (with the conversation).
    R"sql(
ALTER TABLE users ADD COLUMN group_adds TEXT NOT NULL DEFAULT '';  -- '': never chosen
CREATE TABLE invitations (
  conversation_id BIGINT NOT NULL,
  user_id BIGINT NOT NULL,
  invited_by BIGINT NOT NULL,
  role TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX invitations_by_user ON invitations (user_id, created_at);
CREATE TABLE departures (
  conversation_id BIGINT NOT NULL,
  user_id BIGINT NOT NULL,
  departed_at BIGINT NOT NULL,
  PRIMARY KEY (conversation_id, user_id)
);
-- Who left before this version is asked too before being put back.
INSERT INTO departures (conversation_id, user_id, departed_at)
SELECT x.conversation_id, x.target_user, max(x.created_at) FROM messages x
WHERE x.kind = 'member_left' AND x.target_user IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM members m WHERE m.conversation_id = x.conversation_id AND m.user_id = x.target_user)
GROUP BY x.conversation_id, x.target_user;
)sql",
    // 10: operators: server roles, suspensions, and the audit log (accounts).
    R"sql(
ALTER TABLE users ADD COLUMN server_role TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN suspended_at BIGINT NOT NULL DEFAULT 0;
CREATE TABLE audit_log (
  id BIGSERIAL PRIMARY KEY,
  at_ms BIGINT NOT NULL,
  actor_id BIGINT NOT NULL,
  action TEXT NOT NULL,
  target_user BIGINT NOT NULL,
  detail TEXT NOT NULL,
  address TEXT NOT NULL,
  outcome TEXT NOT NULL
);
CREATE INDEX audit_by_actor ON audit_log (actor_id, id);
CREATE INDEX audit_by_target ON audit_log (target_user, id);
)sql",
    // 11: reports of messages and users, for moderators (accounts).
    R"sql(
CREATE TABLE reports (
  id BIGSERIAL PRIMARY KEY,
  created_at BIGINT NOT NULL,
  reporter_id BIGINT NOT NULL,
  target_user BIGINT NOT NULL,
  conversation_id BIGINT NOT NULL,
  seq BIGINT NOT NULL,
  reason TEXT NOT NULL,
  text TEXT NOT NULL,
  message_text TEXT NOT NULL,
  state TEXT NOT NULL,
  resolved_by BIGINT NOT NULL DEFAULT 0,
  resolved_at BIGINT NOT NULL DEFAULT 0,
  resolution TEXT NOT NULL DEFAULT '',
  note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX reports_by_state ON reports (state, id);
-- One open report per reporter and thing reported, whichever node files it.
CREATE UNIQUE INDEX reports_open_once ON reports (reporter_id, target_user, conversation_id, seq)
  WHERE state = 'open';
)sql",
    // 12: invite codes, for registration by invitation (accounts).
    R"sql(
CREATE TABLE invite_codes (
  id BIGSERIAL PRIMARY KEY,
  code_hash TEXT NOT NULL UNIQUE,
  hint TEXT NOT NULL,
  created_by BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  uses_left BIGINT NOT NULL
);
)sql",
    // 13: accounts of users who sign in with the operator's own tokens (accounts).
    R"sql(
CREATE TABLE external_identities (
  issuer TEXT NOT NULL,
  subject TEXT NOT NULL,
  user_id BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (issuer, subject)
);
)sql",
    // 14: erased accounts (accounts): the row stays, holding only its id.
    R"sql(
ALTER TABLE users ADD COLUMN erased_at BIGINT NOT NULL DEFAULT 0;
)sql",
    // 15: events waiting to be delivered by webhook (every partition).
    R"sql(
CREATE TABLE webhook_queue (
  id BIGSERIAL PRIMARY KEY,
  event_id TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  conversation_id BIGINT NOT NULL,
  seq BIGINT NOT NULL,
  subject BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  due_at BIGINT NOT NULL,
  claimed_until BIGINT NOT NULL DEFAULT 0,
  claim BIGINT NOT NULL DEFAULT 0,
  attempts INT NOT NULL DEFAULT 0
);
CREATE INDEX webhook_queue_due ON webhook_queue (due_at, id);
CREATE INDEX webhook_queue_age ON webhook_queue (created_at);
)sql",
    // 16: bot accounts and their tokens (accounts).
    R"sql(
ALTER TABLE users ADD COLUMN bot BOOLEAN NOT NULL DEFAULT false;
CREATE TABLE bot_tokens (
  token_hash TEXT PRIMARY KEY,
  user_id BIGINT NOT NULL UNIQUE,
  session_id BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);
)sql",
    // 17: server moderators' mutes and bans in a conversation (conversations).
    R"sql(
ALTER TABLE members ADD COLUMN silenced_until BIGINT NOT NULL DEFAULT 0;
-- The mute itself: it outlives leaving and being added back.
CREATE TABLE conversation_mutes (
  conversation_id BIGINT NOT NULL,
  user_id BIGINT NOT NULL,
  until BIGINT NOT NULL,
  PRIMARY KEY (conversation_id, user_id)
);
CREATE TABLE conversation_bans (
  conversation_id BIGINT NOT NULL,
  user_id BIGINT NOT NULL,
  banned_by BIGINT NOT NULL,
  banned_at BIGINT NOT NULL,
  reason TEXT NOT NULL,
  PRIMARY KEY (conversation_id, user_id)
);
)sql",
    // 18: the key directory of end-to-end encryption (accounts): each device's
    // public keys and its one-time prekeys.
    R"sql(
CREATE TABLE e2ee_devices (
  user_id BIGINT NOT NULL,
  device_id BIGINT NOT NULL,
  session_id BIGINT NOT NULL,
  registration_id BIGINT NOT NULL,
  identity_key TEXT NOT NULL,
  signed_prekey_id BIGINT NOT NULL,
  signed_prekey TEXT NOT NULL,
  signed_prekey_signature TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  prekey_high BIGINT NOT NULL DEFAULT 0,     -- the highest one-time prekey id published: never again
  PRIMARY KEY (user_id, device_id)
);
CREATE UNIQUE INDEX e2ee_devices_session ON e2ee_devices (user_id, session_id);
-- The last device id each user was given: ids are never reused.
CREATE TABLE e2ee_device_ids (
  user_id BIGINT PRIMARY KEY,
  last_device_id BIGINT NOT NULL
);
CREATE TABLE e2ee_prekeys (
  user_id BIGINT NOT NULL,
  device_id BIGINT NOT NULL,
  prekey_id BIGINT NOT NULL,
  public_key TEXT NOT NULL,
  PRIMARY KEY (user_id, device_id, prekey_id)
);
)sql",
    // 19: end-to-end encrypted conversations: the flag, and each message's
    // ciphertexts, one per recipient device (user_id 0: the message's header,
    // naming the sending device and holding the ciphertext all devices share).
    R"sql(
ALTER TABLE conversations ADD COLUMN encrypted BOOLEAN NOT NULL DEFAULT false;
CREATE TABLE message_envelopes (
  conversation_id BIGINT NOT NULL,
  seq BIGINT NOT NULL,
  user_id BIGINT NOT NULL,
  device_id BIGINT NOT NULL,
  type BIGINT NOT NULL,
  body TEXT NOT NULL,                        -- base64url, as the sender gave it
  PRIMARY KEY (conversation_id, seq, user_id, device_id)
);
)sql",
    // 20: groups past a small size are followed by seq like large ones (one
    // row per message, not one per member and message); large ones always were.
    R"sql(
ALTER TABLE conversations ADD COLUMN by_seq BOOLEAN NOT NULL DEFAULT false;
UPDATE conversations SET by_seq = large;
)sql",
    // 21: versions a conversation's member list, so a list read before can be
    // told apart from a stale one. A trigger, so that no way of adding or
    // removing a member can leave it out, not even an older node's during a
    // rolling upgrade. At least the time in microseconds: a failover to a
    // standby that was behind cannot bring back a number already used for
    // another list (nodes keep lists by it across such a switch).
    R"sql(
ALTER TABLE conversations ADD COLUMN members_version BIGINT NOT NULL DEFAULT 0;
CREATE FUNCTION count_members_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE conversations
    SET members_version = greatest(members_version + 1, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint)
    WHERE id = (CASE WHEN TG_OP = 'DELETE' THEN OLD.conversation_id ELSE NEW.conversation_id END);
  RETURN NULL;
END $$;
CREATE TRIGGER members_changed AFTER INSERT OR DELETE ON members
  FOR EACH ROW EXECUTE FUNCTION count_members_change();
)sql",
    // 22: the small rows every send updates (a conversation's last seq, the
    // log heads, the members' watermarks) are vacuumed after a fixed number
    // of dead versions, not a fifth of the table: at thousands of sends a
    // second, a table of a few hundred rows otherwise grew to thousands of
    // dead versions between vacuums, and 1:1 sends fell from about 8,000/s to
    // 2,000/s within minutes (docs/benchmarks.md).
    R"sql(
ALTER TABLE conversations SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000,
  autovacuum_vacuum_cost_delay = 0);
ALTER TABLE user_logs SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000,
  autovacuum_vacuum_cost_delay = 0);
ALTER TABLE members SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000,
  autovacuum_vacuum_cost_delay = 0);
)sql",
};

}  // namespace

int LatestSchemaVersion() { return static_cast<int>(std::size(kMigrations)); }

void Migrate(Connection& conn) {
  auto fail = [&](const std::string& what) { throw std::runtime_error("migrating " + conn.label() + ": " + what); };
  if (auto st = conn.EnsureConnected(); !st.ok()) fail(st.error().message);
  auto run = [&](const std::string& sql) {
    if (auto st = conn.Exec(sql); !st.ok()) {
      (void)conn.Exec("ROLLBACK");
      fail(st.error().message);
    }
  };
  run("BEGIN; SELECT pg_advisory_xact_lock(7368519);"
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL "
      "DEFAULT now())");
  auto current = conn.Query("SELECT coalesce(max(version), 0) FROM schema_migrations");
  if (!current.ok()) {
    (void)conn.Exec("ROLLBACK");
    fail(current.error().message);
  }
  int version = static_cast<int>(current->Int(0, 0));
  if (version > LatestSchemaVersion()) {
    (void)conn.Exec("ROLLBACK");
    fail("schema version " + std::to_string(version) + " is newer than this natterd (" +
         std::to_string(LatestSchemaVersion()) + ")");
  }
  for (int v = version; v < LatestSchemaVersion(); ++v) {
    run(std::string(kMigrations[v]) + "; INSERT INTO schema_migrations(version) VALUES (" + std::to_string(v + 1) +
        ")");
  }
  run("COMMIT");
}

void CheckLayout(Connection& conn, int index, int count) {
  auto fail = [&](const std::string& what) {
    throw std::runtime_error("checking the layout of " + conn.label() + ": " + what);
  };
  if (auto st = conn.Exec("CREATE TABLE IF NOT EXISTS natter_layout (id INT PRIMARY KEY CHECK (id = 1), "
                          "partition_index INT NOT NULL, partition_count INT NOT NULL)");
      !st.ok()) {
    fail(st.error().message);
  }
  auto rows = conn.Query(
      "INSERT INTO natter_layout VALUES (1, $1, $2) ON CONFLICT (id) DO UPDATE SET id = 1 "
      "RETURNING partition_index, partition_count",
      {index, count});
  if (!rows.ok()) fail(rows.error().message);
  int was_index = static_cast<int>(rows->Int(0, 0)), was_count = static_cast<int>(rows->Int(0, 1));
  if (was_index != index || was_count != count) {
    fail("it holds partition " + std::to_string(was_index + 1) + " of " + std::to_string(was_count) +
         ", but --postgres lists it as " + std::to_string(index + 1) + " of " + std::to_string(count) +
         "; list the instances as when the cluster was created");
  }
}

}  // namespace natter::pg
