/**
 * Migration 6: singleton duties and where a task came from.
 * - `leases`: one row per duty that must be done once however many daemons share the store (the Discord
 *   gateway connection, a channel's delivery, a schedule's firing, the board's scan). A daemon holds a duty
 *   while its row names it as owner and has not expired; it renews the row by heartbeat, and another
 *   daemon takes it over once it has expired (see store/leases.ts).
 * - `tasks.origin`: JSON describing the source's own coordinates of a task (a Discord channel, guild,
 *   message and author; a schedule and its firing time), for replies and for "where did this come from".
 */
export const migration006 = {
  version: 6,
  name: 'leases and task origin',
  sql: `
CREATE TABLE leases (
  duty         TEXT PRIMARY KEY,
  owner        TEXT NOT NULL,
  expires_at   INTEGER NOT NULL,
  acquired_at  INTEGER NOT NULL,
  renewed_at   INTEGER NOT NULL
);
ALTER TABLE tasks ADD COLUMN origin TEXT;
`,
};
