-- chatd schema 1 for SQLite. Keep table and column names identical to
-- migrations/postgres/0001_init.sql: repositories share their SQL between dialects.
-- Ids are UUIDv7 text, timestamps Unix epoch milliseconds (BIGINT), flags nullable
-- timestamps. Every foreign key has an index that starts with its column(s), and every
-- list query the API makes has an index; children that mean nothing without their
-- parent go with it (ON DELETE CASCADE).

CREATE TABLE users (
  id                TEXT PRIMARY KEY NOT NULL,
  email             TEXT NOT NULL,          -- lowercased by the application before it is stored
  username          TEXT NOT NULL,          -- as typed; unique regardless of case
  password_hash     TEXT NOT NULL,          -- PHC string (Argon2id)
  email_verified_at BIGINT,
  disabled_at       BIGINT,
  failed_logins     INTEGER NOT NULL DEFAULT 0,  -- consecutive, reset by a successful login
  locked_until      BIGINT,
  last_login_at     BIGINT,
  created_at        BIGINT NOT NULL,
  updated_at        BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_email_key ON users (email);
-- Look up with lower(username) = lower($1) so that this index serves the query.
CREATE UNIQUE INDEX users_username_key ON users (lower(username));
-- GET /admin/users pages through users in creation order.
CREATE INDEX users_created_idx ON users (created_at, id);

CREATE TABLE roles (
  name        TEXT PRIMARY KEY NOT NULL,
  description TEXT NOT NULL
);
INSERT INTO roles (name, description) VALUES
  ('user', 'Chats and manages their own conversations, API keys and invitations'),
  ('admin', 'Also manages users, reads the audit log and usage, and rotates signing keys');

CREATE TABLE user_roles (
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role    TEXT NOT NULL REFERENCES roles (name),
  PRIMARY KEY (user_id, role)
);
CREATE INDEX user_roles_role_idx ON user_roles (role);

-- One row per login: the refresh-token family, the device and where it was last used.
CREATE TABLE sessions (
  id                 TEXT PRIMARY KEY NOT NULL,
  user_id            TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at         BIGINT NOT NULL,
  last_used_at       BIGINT NOT NULL,
  expires_at         BIGINT NOT NULL,
  ip                 TEXT,
  user_agent         TEXT,
  device_fingerprint TEXT,
  revoked_at         BIGINT,
  revoke_reason      TEXT
);
CREATE INDEX sessions_user_idx ON sessions (user_id, created_at);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

-- Only hashes are stored. A row whose rotated_at is set was already exchanged: presenting
-- it again is reuse and revokes the whole session.
CREATE TABLE refresh_tokens (
  token_hash TEXT PRIMARY KEY NOT NULL,
  session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  rotated_at BIGINT
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_expires_idx ON refresh_tokens (expires_at);

CREATE TABLE one_time_tokens (
  token_hash TEXT PRIMARY KEY NOT NULL,
  purpose    TEXT NOT NULL CHECK (purpose IN ('verify_email', 'password_reset')),
  user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_at    BIGINT
);
CREATE INDEX one_time_tokens_user_idx ON one_time_tokens (user_id, purpose);
CREATE INDEX one_time_tokens_expires_idx ON one_time_tokens (expires_at);

CREATE TABLE totp (
  user_id          TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  secret_encrypted TEXT NOT NULL,
  enabled_at       BIGINT,           -- NULL between /auth/2fa/setup and /auth/2fa/verify
  last_used_step   BIGINT,           -- the newest accepted time step: a code is used once
  created_at       BIGINT NOT NULL
);

CREATE TABLE recovery_codes (
  id         TEXT PRIMARY KEY NOT NULL,
  user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  code_hash  TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  used_at    BIGINT
);
CREATE INDEX recovery_codes_user_idx ON recovery_codes (user_id);

-- JWT signing keys, shared by every instance. The newest key whose not_after is NULL or
-- in the future signs; every key whose retire_after is NULL or in the future is in the
-- JWKS, so tokens it signed stay verifiable until they expire.
CREATE TABLE signing_keys (
  kid                   TEXT PRIMARY KEY NOT NULL,
  algorithm             TEXT NOT NULL,   -- EdDSA or ES256
  public_key            TEXT NOT NULL,   -- PEM
  private_key_encrypted TEXT,            -- NULL when the private key lives in the data directory
  created_at            BIGINT NOT NULL,
  not_after             BIGINT,          -- stops signing from here
  retire_after          BIGINT           -- leaves the JWKS from here
);
CREATE INDEX signing_keys_created_idx ON signing_keys (created_at);

CREATE TABLE invitations (
  id          TEXT PRIMARY KEY NOT NULL,
  code_hash   TEXT NOT NULL,
  code_prefix TEXT NOT NULL,             -- shown in lists; the code itself is shown once
  inviter_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  email       TEXT,                      -- when set, only this address may accept
  created_at  BIGINT NOT NULL,
  expires_at  BIGINT NOT NULL,
  accepted_at BIGINT,
  invitee_id  TEXT REFERENCES users (id) ON DELETE SET NULL
);
CREATE UNIQUE INDEX invitations_code_hash_key ON invitations (code_hash);
CREATE INDEX invitations_inviter_idx ON invitations (inviter_id, created_at);
CREATE INDEX invitations_invitee_idx ON invitations (invitee_id);

-- Deleting a key sets revoked_at: the row stays so that usage history keeps its key.
CREATE TABLE api_keys (
  id           TEXT PRIMARY KEY NOT NULL,
  user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name         TEXT NOT NULL,
  prefix       TEXT NOT NULL,
  key_hash     TEXT NOT NULL,
  created_at   BIGINT NOT NULL,
  last_used_at BIGINT,
  expires_at   BIGINT,
  revoked_at   BIGINT
);
CREATE UNIQUE INDEX api_keys_key_hash_key ON api_keys (key_hash);
CREATE INDEX api_keys_user_idx ON api_keys (user_id, created_at);

-- Deleting a conversation sets deleted_at; message_count is kept by the application in
-- the transaction that adds a message.
CREATE TABLE conversations (
  id            TEXT PRIMARY KEY NOT NULL,
  user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  title         TEXT NOT NULL DEFAULT '',
  model         TEXT NOT NULL,
  system_prompt TEXT,
  created_at    BIGINT NOT NULL,
  updated_at    BIGINT NOT NULL,
  deleted_at    BIGINT,
  message_count INTEGER NOT NULL DEFAULT 0
);
-- GET /conversations: a user's conversations, most recently updated first. Not partial
-- (deleted_at IS NULL) because it also serves the foreign key.
CREATE INDEX conversations_user_updated_idx ON conversations (user_id, updated_at DESC, id DESC);

CREATE TABLE messages (
  id                TEXT PRIMARY KEY NOT NULL,
  conversation_id   TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
  user_id           TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role              TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
  content           TEXT NOT NULL,
  model             TEXT,
  -- pending: an assistant answer still streaming
  status            TEXT NOT NULL DEFAULT 'complete' CHECK (status IN ('pending', 'complete', 'error', 'cancelled')),
  prompt_tokens     INTEGER,
  completion_tokens INTEGER,
  created_at        BIGINT NOT NULL
);
-- GET /conversations/{id}/messages: oldest first.
CREATE INDEX messages_conversation_idx ON messages (conversation_id, created_at, id);
CREATE INDEX messages_user_idx ON messages (user_id);

-- One row per model request, for /usage, /admin/usage and the daily token quota.
CREATE TABLE usage_events (
  id                TEXT PRIMARY KEY NOT NULL,
  user_id           TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  api_key_id        TEXT REFERENCES api_keys (id) ON DELETE SET NULL,
  conversation_id   TEXT REFERENCES conversations (id) ON DELETE SET NULL,
  provider          TEXT NOT NULL,
  model             TEXT NOT NULL,
  prompt_tokens     BIGINT NOT NULL DEFAULT 0,
  completion_tokens BIGINT NOT NULL DEFAULT 0,
  cost_usd          DOUBLE PRECISION NOT NULL DEFAULT 0,
  latency_ms        BIGINT,
  status            TEXT NOT NULL,
  created_at        BIGINT NOT NULL
);
CREATE INDEX usage_events_user_idx ON usage_events (user_id, created_at);
CREATE INDEX usage_events_created_idx ON usage_events (created_at);
CREATE INDEX usage_events_api_key_idx ON usage_events (api_key_id);
CREATE INDEX usage_events_conversation_idx ON usage_events (conversation_id);

-- No foreign keys on purpose: the audit trail must outlive the accounts it names.
CREATE TABLE audit_log (
  id         TEXT PRIMARY KEY NOT NULL,
  at         BIGINT NOT NULL,
  event      TEXT NOT NULL,
  user_id    TEXT,
  actor_id   TEXT,
  ip         TEXT,
  user_agent TEXT,
  detail     TEXT                        -- a JSON object
);
-- GET /admin/audit, newest first, filtered by nothing, user_id or event.
CREATE INDEX audit_log_at_idx ON audit_log (at, id);
CREATE INDEX audit_log_user_idx ON audit_log (user_id, at, id);
CREATE INDEX audit_log_event_idx ON audit_log (event, at, id);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, at, id);

-- Full-text search for GET /conversations?q= over titles and message text, e.g.
--   SELECT ... FROM conversations c WHERE c.user_id = $1 AND c.deleted_at IS NULL AND c.id IN
--     (SELECT d.conversation_id FROM search_fts JOIN search_docs d ON d.doc_id = search_fts.rowid
--      WHERE search_fts MATCH $2)
-- with $2 an FTS5 query (quote user input as a phrase: "..." with " doubled).
-- FTS5 rows are addressed by integer rowids; conversations and messages have text keys
-- and VACUUM may renumber the implicit rowids of such tables, so search_docs hands out
-- rowids of its own. One document per conversation title (message_id NULL) and one per
-- message, kept in step by the triggers below; deletes cascade through search_docs.
CREATE TABLE search_docs (
  doc_id          INTEGER PRIMARY KEY,
  conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
  message_id      TEXT REFERENCES messages (id) ON DELETE CASCADE
);
CREATE INDEX search_docs_conversation_idx ON search_docs (conversation_id, message_id);
CREATE UNIQUE INDEX search_docs_message_key ON search_docs (message_id);

CREATE VIRTUAL TABLE search_fts USING fts5(body, tokenize = 'unicode61 remove_diacritics 2');

CREATE TRIGGER conversations_search_insert AFTER INSERT ON conversations BEGIN
  INSERT INTO search_docs (conversation_id, message_id) VALUES (new.id, NULL);
  INSERT INTO search_fts (rowid, body) VALUES (last_insert_rowid(), new.title);
END;

CREATE TRIGGER conversations_search_update AFTER UPDATE OF title ON conversations BEGIN
  UPDATE search_fts SET body = new.title
   WHERE rowid = (SELECT doc_id FROM search_docs WHERE conversation_id = new.id AND message_id IS NULL);
END;

CREATE TRIGGER messages_search_insert AFTER INSERT ON messages BEGIN
  INSERT INTO search_docs (conversation_id, message_id) VALUES (new.conversation_id, new.id);
  INSERT INTO search_fts (rowid, body) VALUES (last_insert_rowid(), new.content);
END;

CREATE TRIGGER messages_search_update AFTER UPDATE OF content ON messages BEGIN
  UPDATE search_fts SET body = new.content
   WHERE rowid = (SELECT doc_id FROM search_docs WHERE message_id = new.id);
END;

CREATE TRIGGER search_docs_delete AFTER DELETE ON search_docs BEGIN
  DELETE FROM search_fts WHERE rowid = old.doc_id;
END;
