/**
 * Migration 3: git worktrees Tetora made (one per task, reused by the task's retries), with the session
 * lease of the run that holds each. Owned by the worktrees module; all SQL on it lives in src/store/worktrees.ts.
 */
export const migration003 = {
  version: 3,
  name: 'worktrees',
  sql: `
CREATE TABLE worktrees (
  task_id           TEXT PRIMARY KEY,                        -- the task that made it (one worktree per task)
  agent             TEXT,
  repo              TEXT NOT NULL,                           -- the repository's main folder (for people)
  git_dir           TEXT NOT NULL,                           -- git's common dir: where Tetora runs git for it
  path              TEXT NOT NULL UNIQUE,                    -- $TETORA_HOME/runtime/worktrees/<task id>
  subdir            TEXT NOT NULL DEFAULT '',                -- the task's workdir inside the repository
  branch            TEXT NOT NULL,
  base_branch       TEXT NOT NULL,                           -- branch name, or a commit when HEAD was detached
  base_commit       TEXT NOT NULL,                           -- what the branch was made from
  status            TEXT NOT NULL DEFAULT 'active'
                    CHECK (status IN ('active', 'removing', 'missing', 'removed')),
  note              TEXT,                                    -- why it is missing or removed
  lock_version      INTEGER NOT NULL DEFAULT 0,              -- +1 at every lease; guards prune against a new lease
  lock_task_id      TEXT,                                    -- the lease; NULL when nobody holds it
  lock_instance_id  TEXT,
  lock_pid          INTEGER,
  lock_host         TEXT,
  lock_heartbeat_at INTEGER,
  created_at        INTEGER NOT NULL,
  updated_at        INTEGER NOT NULL,
  removed_at        INTEGER
);
CREATE INDEX worktrees_status ON worktrees(status);
`,
};
