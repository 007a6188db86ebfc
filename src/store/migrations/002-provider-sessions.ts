/**
 * Migration 2: provider sessions (one active row per session key; archived rows kept for history) and the
 * conversation history that API providers replay. Owned by the providers module.
 */
export const migration002 = {
  version: 2,
  name: 'provider sessions',
  sql: `
CREATE TABLE provider_sessions (
  id                  INTEGER PRIMARY KEY AUTOINCREMENT,
  session_key         TEXT NOT NULL,
  provider            TEXT NOT NULL,
  model               TEXT,
  provider_session_id TEXT,
  status              TEXT NOT NULL DEFAULT 'active',       -- active | archived
  archive_reason      TEXT,
  tokens_in           INTEGER NOT NULL DEFAULT 0,            -- the provider's cumulative counts for the session
  tokens_out          INTEGER NOT NULL DEFAULT 0,            -- (codex reports thread totals; runs store the difference)
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL
);
CREATE UNIQUE INDEX provider_sessions_active ON provider_sessions(session_key) WHERE status = 'active';

CREATE TABLE session_messages (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  session_id  INTEGER NOT NULL REFERENCES provider_sessions(id),
  role        TEXT NOT NULL,                                 -- user | assistant
  content     TEXT NOT NULL,
  task_id     TEXT,
  created_at  INTEGER NOT NULL
);
CREATE INDEX session_messages_session ON session_messages(session_id, id);
`,
};
