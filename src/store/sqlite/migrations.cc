#include "store/sqlite/migrations.h"

#include <stdexcept>
#include <string>

namespace natter::sqlite {
namespace {

// Append only: never edit a migration that has shipped.
const char* const kMigrations[] = {
    // 1: accounts, sessions, conversations and their timelines, per-user update log.
    R"sql(
CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  handle TEXT NOT NULL UNIQUE COLLATE NOCASE,
  password_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  pts_floor INTEGER NOT NULL DEFAULT 0,    -- update-log entries at or below were pruned
  last_seen INTEGER NOT NULL DEFAULT 0,
  presence_hidden INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE sessions (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  device TEXT NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
);
CREATE TABLE refresh_tokens (
  token_hash TEXT PRIMARY KEY,
  session_id INTEGER NOT NULL REFERENCES sessions(id),
  used INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE conversations (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  title TEXT NOT NULL DEFAULT '',
  direct_key TEXT UNIQUE,
  created_by INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  last_seq INTEGER NOT NULL DEFAULT 0,
  last_activity INTEGER NOT NULL,
  large INTEGER NOT NULL DEFAULT 0         -- keeps its own sequence, no per-member log rows
);
CREATE TABLE members (
  conversation_id INTEGER NOT NULL REFERENCES conversations(id),
  user_id INTEGER NOT NULL REFERENCES users(id),
  role TEXT NOT NULL,
  joined_at INTEGER NOT NULL,
  read_seq INTEGER NOT NULL DEFAULT 0,
  delivered_seq INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (conversation_id, user_id)
) WITHOUT ROWID;
CREATE INDEX members_by_user ON members(user_id, conversation_id);
-- Every event of a conversation, messages and system events alike, in one
-- dense sequence. A message row holds the message's current state.
CREATE TABLE messages (
  conversation_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  kind TEXT NOT NULL,
  sender_id INTEGER NOT NULL,
  client_msg_id TEXT,
  body TEXT NOT NULL,
  reply_to INTEGER,
  target_seq INTEGER,
  target_user INTEGER,
  created_at INTEGER NOT NULL,
  edited_at INTEGER,
  deleted INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (conversation_id, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX messages_idempotency ON messages(conversation_id, sender_id, client_msg_id)
  WHERE client_msg_id IS NOT NULL;
CREATE TABLE reactions (
  conversation_id INTEGER NOT NULL,
  message_seq INTEGER NOT NULL,
  user_id INTEGER NOT NULL,
  emoji TEXT NOT NULL,
  PRIMARY KEY (conversation_id, message_seq, user_id)
) WITHOUT ROWID;
-- Each user's dense log of the changes that concern them (Telegram's pts):
-- which conversation changed and at which seq. Large conversations write no
-- rows here for their messages.
CREATE TABLE user_updates (
  user_id INTEGER NOT NULL,
  pts INTEGER NOT NULL,
  conversation_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,          -- the conversation seq the change is at (0: receipts, membership)
  PRIMARY KEY (user_id, pts)
) WITHOUT ROWID;
)sql",
    // 2: which nodes hold a connection of each user (presence across a cluster).
    R"sql(
ALTER TABLE users ADD COLUMN online_nodes INTEGER NOT NULL DEFAULT 0;
CREATE INDEX users_online ON users(id) WHERE online_nodes != 0;
)sql",
    // 3: push notifications: device tokens, settings, mutes, the push queue.
    R"sql(
ALTER TABLE users ADD COLUMN push_preview INTEGER NOT NULL DEFAULT 1;
ALTER TABLE members ADD COLUMN muted_until INTEGER NOT NULL DEFAULT 0;
CREATE TABLE push_devices (
  session_id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL,
  platform TEXT NOT NULL,
  token TEXT NOT NULL,
  topic TEXT NOT NULL,
  environment TEXT NOT NULL,
  locale TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (platform, token)
);
-- Which nodes hold a foreground connection of each session, and when it last
-- had one: kept for every session (a device may register on another node).
CREATE TABLE push_presence (
  session_id INTEGER PRIMARY KEY,
  live_nodes INTEGER NOT NULL DEFAULT 0,
  last_live_at INTEGER NOT NULL DEFAULT 0
);
-- Nodes whose push worker runs: a live bit counts only while its node is seen.
CREATE TABLE push_nodes (
  node_id INTEGER PRIMARY KEY,
  seen_at INTEGER NOT NULL
);
CREATE INDEX push_devices_by_user ON push_devices(user_id);
CREATE TABLE push_queue (
  id INTEGER PRIMARY KEY,
  conversation_id INTEGER NOT NULL,
  user_id INTEGER NOT NULL,          -- 0: the conversation's messages; else a clear for this user
  first_seq INTEGER NOT NULL,
  last_seq INTEGER NOT NULL,
  due_at INTEGER NOT NULL,
  claimed_until INTEGER NOT NULL DEFAULT 0,
  claim INTEGER NOT NULL DEFAULT 0,          -- the claimer's token: only it may finish the job
  attempts INTEGER NOT NULL DEFAULT 0,
  UNIQUE (conversation_id, user_id)
);
CREATE INDEX push_queue_due ON push_queue(due_at);
CREATE TABLE push_shown (
  conversation_id INTEGER NOT NULL,
  user_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (conversation_id, user_id)
) WITHOUT ROWID;
)sql",
    // 4: media: uploads, and the attachments a message carries.
    R"sql(
ALTER TABLE messages ADD COLUMN attachments TEXT NOT NULL DEFAULT '';
CREATE TABLE media_uploads (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL,
  size INTEGER NOT NULL,
  declared_mime TEXT NOT NULL,
  filename TEXT NOT NULL,
  state INTEGER NOT NULL,          -- 0 uploading, 1 ready, 2 attached, 3 expired
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,     -- 0 once attached
  info TEXT NOT NULL DEFAULT ''
);
CREATE INDEX media_uploads_by_user ON media_uploads(user_id, created_at);
CREATE INDEX media_uploads_expiry ON media_uploads(expires_at) WHERE expires_at != 0;
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
  generation INTEGER NOT NULL,
  refs INTEGER NOT NULL
);
CREATE TABLE media_releases (
  upload_id INTEGER PRIMARY KEY,
  due_at INTEGER NOT NULL
);
CREATE INDEX media_releases_due ON media_releases(due_at);
ALTER TABLE media_uploads ADD COLUMN attached_to TEXT NOT NULL DEFAULT '';
)sql",
    // 7: whom each user blocked (accounts).
    R"sql(
CREATE TABLE blocks (
  user_id INTEGER NOT NULL,
  blocked_id INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, blocked_id)
) WITHOUT ROWID;
CREATE INDEX blocks_by_blocked ON blocks(blocked_id);
)sql",
    // 8: profiles: the name and picture others see.
    R"sql(
ALTER TABLE users ADD COLUMN display_name TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN avatar TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN avatar_upload INTEGER NOT NULL DEFAULT 0;
)sql",
    // 9: consent: who may add a user to a group straight away (accounts);
    // invitations waiting for an answer and who left or declined a
    // conversation (with the conversation).
    R"sql(
ALTER TABLE users ADD COLUMN group_adds TEXT NOT NULL DEFAULT '';  -- '': never chosen
CREATE TABLE invitations (
  conversation_id INTEGER NOT NULL,
  user_id INTEGER NOT NULL,
  invited_by INTEGER NOT NULL,
  role TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (conversation_id, user_id)
) WITHOUT ROWID;
CREATE INDEX invitations_by_user ON invitations (user_id, created_at);
CREATE TABLE departures (
  conversation_id INTEGER NOT NULL,
  user_id INTEGER NOT NULL,
  departed_at INTEGER NOT NULL,
  PRIMARY KEY (conversation_id, user_id)
) WITHOUT ROWID;
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
ALTER TABLE users ADD COLUMN suspended_at INTEGER NOT NULL DEFAULT 0;
CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at_ms INTEGER NOT NULL,
  actor_id INTEGER NOT NULL,
  action TEXT NOT NULL,
  target_user INTEGER NOT NULL,
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
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  created_at INTEGER NOT NULL,
  reporter_id INTEGER NOT NULL,
  target_user INTEGER NOT NULL,
  conversation_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  reason TEXT NOT NULL,
  text TEXT NOT NULL,
  message_text TEXT NOT NULL,
  state TEXT NOT NULL,
  resolved_by INTEGER NOT NULL DEFAULT 0,
  resolved_at INTEGER NOT NULL DEFAULT 0,
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
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  code_hash TEXT NOT NULL UNIQUE,
  hint TEXT NOT NULL,
  created_by INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  uses_left INTEGER NOT NULL
);
)sql",
    // 13: accounts of users who sign in with the operator's own tokens (accounts).
    R"sql(
CREATE TABLE external_identities (
  issuer TEXT NOT NULL,
  subject TEXT NOT NULL,
  user_id INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (issuer, subject)
) WITHOUT ROWID;
)sql",
    // 14: erased accounts (accounts): the row stays, holding only its id;
    // events found by the message they are about.
    R"sql(
ALTER TABLE users ADD COLUMN erased_at INTEGER NOT NULL DEFAULT 0;
-- Erasing a message finds its edits and reactions by their target.
CREATE INDEX messages_targets ON messages (conversation_id, target_seq) WHERE target_seq IS NOT NULL;
)sql",
    // 15: events waiting to be delivered by webhook.
    R"sql(
CREATE TABLE webhook_queue (
  id INTEGER PRIMARY KEY,
  event_id TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  conversation_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  subject INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  due_at INTEGER NOT NULL,
  claimed_until INTEGER NOT NULL DEFAULT 0,
  claim INTEGER NOT NULL DEFAULT 0,          -- the claimer's token: only it may finish the job
  attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX webhook_queue_due ON webhook_queue (due_at, id);
CREATE INDEX webhook_queue_age ON webhook_queue (created_at);
)sql",
    // 16: bot accounts and their tokens (accounts).
    R"sql(
ALTER TABLE users ADD COLUMN bot INTEGER NOT NULL DEFAULT 0;
CREATE TABLE bot_tokens (
  token_hash TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL UNIQUE,
  session_id INTEGER NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
)sql",
    // 17: server moderators' mutes and bans in a conversation (conversations).
    R"sql(
ALTER TABLE members ADD COLUMN silenced_until INTEGER NOT NULL DEFAULT 0;
-- The mute itself: it outlives leaving and being added back.
CREATE TABLE conversation_mutes (
  conversation_id INTEGER NOT NULL,
  user_id INTEGER NOT NULL,
  until INTEGER NOT NULL,
  PRIMARY KEY (conversation_id, user_id)
) WITHOUT ROWID;
CREATE TABLE conversation_bans (
  conversation_id INTEGER NOT NULL,
  user_id INTEGER NOT NULL,
  banned_by INTEGER NOT NULL,
  banned_at INTEGER NOT NULL,
  reason TEXT NOT NULL,
  PRIMARY KEY (conversation_id, user_id)
) WITHOUT ROWID;
)sql",
    // 18: the key directory of end-to-end encryption (accounts): each device's
    // public keys and its one-time prekeys.
    R"sql(
CREATE TABLE e2ee_devices (
  user_id INTEGER NOT NULL,
  device_id INTEGER NOT NULL,
  session_id INTEGER NOT NULL,
  registration_id INTEGER NOT NULL,
  identity_key TEXT NOT NULL,
  signed_prekey_id INTEGER NOT NULL,
  signed_prekey TEXT NOT NULL,
  signed_prekey_signature TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  prekey_high INTEGER NOT NULL DEFAULT 0,     -- the highest one-time prekey id published: never again
  PRIMARY KEY (user_id, device_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX e2ee_devices_session ON e2ee_devices (user_id, session_id);
-- The last device id each user was given: ids are never reused.
CREATE TABLE e2ee_device_ids (
  user_id INTEGER PRIMARY KEY,
  last_device_id INTEGER NOT NULL
);
CREATE TABLE e2ee_prekeys (
  user_id INTEGER NOT NULL,
  device_id INTEGER NOT NULL,
  prekey_id INTEGER NOT NULL,
  public_key TEXT NOT NULL,
  PRIMARY KEY (user_id, device_id, prekey_id)
) WITHOUT ROWID;
)sql",
    // 19: end-to-end encrypted conversations: the flag, and each message's
    // ciphertexts, one per recipient device (user_id 0: the message's header,
    // naming the sending device and holding the ciphertext all devices share).
    R"sql(
ALTER TABLE conversations ADD COLUMN encrypted INTEGER NOT NULL DEFAULT 0;
CREATE TABLE message_envelopes (
  conversation_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  user_id INTEGER NOT NULL,
  device_id INTEGER NOT NULL,
  type INTEGER NOT NULL,
  body TEXT NOT NULL,                        -- base64url, as the sender gave it
  PRIMARY KEY (conversation_id, seq, user_id, device_id)
) WITHOUT ROWID;
)sql",
    // 20: groups past a small size are followed by seq like large ones (one
    // row per message, not one per member and message); large ones always were.
    R"sql(
ALTER TABLE conversations ADD COLUMN by_seq INTEGER NOT NULL DEFAULT 0;
UPDATE conversations SET by_seq = large;
)sql",
    // 21: counts the changes of a conversation's members, so a member list
    // read before can be told apart from a stale one. Triggers, so that no
    // way of adding or removing a member can leave it out. (A database put
    // back from a backup needs natterd restarted, which forgets every list.)
    R"sql(
ALTER TABLE conversations ADD COLUMN members_version INTEGER NOT NULL DEFAULT 0;
CREATE TRIGGER members_added AFTER INSERT ON members BEGIN
  UPDATE conversations SET members_version = members_version + 1 WHERE id = NEW.conversation_id;
END;
CREATE TRIGGER members_removed AFTER DELETE ON members BEGIN
  UPDATE conversations SET members_version = members_version + 1 WHERE id = OLD.conversation_id;
END;
)sql",
};

int UserVersion(Database& db) {
  auto stmt = db.Prepare("PRAGMA user_version");
  auto row = stmt.Step();
  return row.ok() && *row ? static_cast<int>(stmt.Int(0)) : 0;
}

}  // namespace

int LatestSchemaVersion() { return static_cast<int>(std::size(kMigrations)); }

void Migrate(Database& db) {
  int version = UserVersion(db);
  if (version > LatestSchemaVersion()) {
    throw std::runtime_error("database schema version " + std::to_string(version) + " is newer than this natterd (" +
                             std::to_string(LatestSchemaVersion()) + ")");
  }
  for (int v = version; v < LatestSchemaVersion(); ++v) {
    std::string sql = std::string("BEGIN IMMEDIATE;") + kMigrations[v] +
                      "PRAGMA user_version = " + std::to_string(v + 1) + "; COMMIT;";
    auto st = db.Exec(sql.c_str());
    if (!st.ok()) {
      (void)db.Exec("ROLLBACK");
      throw std::runtime_error("migration " + std::to_string(v + 1) + " failed: " + st.error().message);
    }
  }
}

}  // namespace natter::sqlite
