/** Migration 1: the task ledger — tasks, their append-only events, each run of a task, daemon instances. */
export const migration001 = {
  version: 1,
  name: 'core task ledger',
  sql: `
CREATE TABLE instances (
  id          TEXT PRIMARY KEY,
  pid         INTEGER NOT NULL,
  hostname    TEXT NOT NULL,
  started_at  INTEGER NOT NULL,
  stopped_at  INTEGER
);

CREATE TABLE tasks (
  seq                 INTEGER PRIMARY KEY AUTOINCREMENT,   -- arrival order, cursor for listing
  id                  TEXT NOT NULL UNIQUE,
  source              TEXT NOT NULL,
  agent               TEXT,
  provider            TEXT,
  model               TEXT,
  prompt              TEXT NOT NULL,
  system_prompt       TEXT,
  workdir             TEXT,
  permission_mode     TEXT,
  session_key         TEXT,
  provider_session_id TEXT,
  priority            INTEGER NOT NULL DEFAULT 0,
  status              TEXT NOT NULL,
  attempt             INTEGER NOT NULL DEFAULT 0,           -- attempts used (a rate-limit park does not use one)
  max_attempts        INTEGER NOT NULL,
  runs                INTEGER NOT NULL DEFAULT 0,           -- every start, whatever its cause
  not_before          INTEGER,
  timeout_ms          INTEGER,
  budget_usd          REAL,
  cost_usd            REAL NOT NULL DEFAULT 0,
  tokens_in           INTEGER NOT NULL DEFAULT 0,
  tokens_out          INTEGER NOT NULL DEFAULT 0,
  output              TEXT,
  error_class         TEXT,
  error_message       TEXT,
  parent_id           TEXT,
  workflow_run_id     TEXT,
  workflow_step_id    TEXT,
  idempotency_key     TEXT UNIQUE,
  options             TEXT NOT NULL DEFAULT '{}',           -- JSON: per-task extras (allowedTools, worktree, …)
  parked_ms           INTEGER NOT NULL DEFAULT 0,           -- total time spent rate_limited
  parked_at           INTEGER,
  session_retry_used  INTEGER NOT NULL DEFAULT 0,
  pgid                INTEGER,
  instance_id         TEXT,
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL,
  started_at          INTEGER,
  finished_at         INTEGER
);
CREATE INDEX tasks_status ON tasks(status, priority DESC, seq);
CREATE INDEX tasks_agent ON tasks(agent, status);
CREATE INDEX tasks_session ON tasks(session_key, status);

CREATE TABLE task_events (
  seq      INTEGER PRIMARY KEY AUTOINCREMENT,               -- SSE event id (Last-Event-ID)
  task_id  TEXT NOT NULL REFERENCES tasks(id),
  at       INTEGER NOT NULL,
  type     TEXT NOT NULL,
  data     TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX task_events_task ON task_events(task_id, seq);

CREATE TABLE task_runs (
  task_id     TEXT NOT NULL REFERENCES tasks(id),
  run         INTEGER NOT NULL,
  attempt     INTEGER NOT NULL,
  instance_id TEXT NOT NULL,
  provider    TEXT,
  pgid        INTEGER,
  started_at  INTEGER NOT NULL,
  ended_at    INTEGER,
  outcome     TEXT,
  message     TEXT,
  PRIMARY KEY (task_id, run)
);
`,
};
