/**
 * Migration 8: durable workflow runs (see src/workflows/runner.ts).
 * - `workflow_runs`: one row per run: the definition as it was when the run started (a later edit of the
 *   file does not change a run under way), the variables, the status (the original's: running, success,
 *   error, cancelled, timeout, resumed), the workdir and run-level worktree, the run's deadline
 *   (`timeout`), whether a cancel was asked, and the run it resumes (`resumed_from`) or was resumed as.
 * - `workflow_steps`: one row per step and parallel sub-step (`parent_id` names the parallel step):
 *   status (pending, running, waiting, success, error, skipped, cancelled, timeout), attempt, the engine
 *   task of a dispatch/handoff step, the full output (or the spool file holding it when it is larger than
 *   a task row keeps), `not_before` (a delay's end, a retry's earliest start, a human gate's timeout), the
 *   human decision, cost and times. Results of engine tasks are written in the transaction of the task's
 *   terminal state (Engine.onTerminal), so a crash can neither lose one nor apply it twice.
 * - `workflow_events`: the per-run event log the run's SSE stream replays (`seq` is the SSE id).
 */
export const migration008 = {
  version: 8,
  name: 'workflow runs',
  sql: `
CREATE TABLE workflow_runs (
  id               TEXT PRIMARY KEY,
  workflow_name    TEXT NOT NULL,
  definition       TEXT NOT NULL,
  variables        TEXT NOT NULL DEFAULT '{}',
  status           TEXT NOT NULL DEFAULT 'running',
  source           TEXT NOT NULL,
  trigger_info     TEXT,
  workdir          TEXT,
  worktree_path    TEXT,
  error            TEXT,
  deadline_at      INTEGER,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  resumed_from     TEXT,
  resumed_as       TEXT,
  created_at       INTEGER NOT NULL,
  finished_at      INTEGER,
  updated_at       INTEGER NOT NULL
);
CREATE INDEX workflow_runs_name ON workflow_runs (workflow_name, created_at);
CREATE INDEX workflow_runs_status ON workflow_runs (status);
CREATE INDEX workflow_runs_created ON workflow_runs (created_at);

CREATE TABLE workflow_steps (
  run_id      TEXT NOT NULL REFERENCES workflow_runs (id),
  step_id     TEXT NOT NULL,
  parent_id   TEXT,
  ord         INTEGER NOT NULL,
  type        TEXT NOT NULL,
  status      TEXT NOT NULL DEFAULT 'pending',
  attempt     INTEGER NOT NULL DEFAULT 0,
  task_id     TEXT,
  output      TEXT,
  output_file TEXT,
  error       TEXT,
  note        TEXT,
  skip_branch INTEGER NOT NULL DEFAULT 0,
  not_before  INTEGER,
  decision    TEXT,
  decided_by  TEXT,
  decided_at  INTEGER,
  cost_usd    REAL NOT NULL DEFAULT 0,
  carried     INTEGER NOT NULL DEFAULT 0,
  started_at  INTEGER,
  ended_at    INTEGER,
  updated_at  INTEGER NOT NULL,
  PRIMARY KEY (run_id, step_id)
);
CREATE INDEX workflow_steps_task ON workflow_steps (task_id);
CREATE INDEX workflow_steps_status ON workflow_steps (status);

CREATE TABLE workflow_events (
  seq    INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id TEXT NOT NULL,
  at     INTEGER NOT NULL,
  type   TEXT NOT NULL,
  data   TEXT NOT NULL
);
CREATE INDEX workflow_events_run ON workflow_events (run_id, seq);
`,
};
