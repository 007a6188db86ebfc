/** Migration 3: git worktrees Tetora made, with the lease of the task that holds each. Owned by the worktrees module. */
export const migration003 = {
  version: 3,
  name: 'worktrees',
  sql: `
CREATE TABLE worktrees (
  id                TEXT PRIMARY KEY,                        -- the task id that made it
  task_id           TEXT NOT NULL,
  agent             TEXT,
  repo              TEXT NOT NULL,
  path              TEXT NOT NULL UNIQUE,
  branch            TEXT NOT NULL,
  base_branch       TEXT NOT NULL,
  base_commit       TEXT,
  status            TEXT NOT NULL DEFAULT 'active',          -- active | removed | missing
  lock_task_id      TEXT,
  lock_instance_id  TEXT,
  lock_pid          INTEGER,
  lock_heartbeat_at INTEGER,
  created_at        INTEGER NOT NULL,
  updated_at        INTEGER NOT NULL,
  removed_at        INTEGER
);
`,
};
