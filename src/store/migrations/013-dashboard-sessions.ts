/**
 * Migration 13: the dashboard's login sessions (issue 15).
 * - `dashboard_sessions`: one row per login. `id_hash` is the sha256 (hex) of the random 32-byte session id
 *   the browser holds in its `tetora_session` cookie: the store never holds a usable id. `token_fp` is
 *   sha256(session id, NUL, apiToken at login): a session stops counting once the apiToken changes (a
 *   SIGHUP reload with a new token logs every browser out) without the token itself being stored.
 *   `expires_at` is fixed at login (7 days); logout deletes the row; expired rows are deleted at each login.
 */
export const migration013 = {
  version: 13,
  name: 'dashboard sessions',
  sql: `
CREATE TABLE dashboard_sessions (
  id_hash     TEXT PRIMARY KEY,
  token_fp    TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,
  remote      TEXT
) WITHOUT ROWID;
CREATE INDEX dashboard_sessions_expires ON dashboard_sessions (expires_at);
`,
};
