/**
 * Migration 9: schedules and triggers (cron jobs from jobs.json, workflow triggers).
 * - `schedule_firings`: every firing of a job or trigger, with what it started (a task, a workflow run),
 *   its status and error. A timed firing (`cron`, `catch-up`) is unique on (schedule, scheduled_at): it is
 *   inserted in the same transaction as the task it makes, so neither a restart nor a second daemon can
 *   fire it twice. Manual, webhook and event firings are recorded too, without that constraint.
 * - `schedule_state`: per schedule, the scheduled time up to which firings were handled (for `catchUp`)
 *   and, for triggers, when it last fired (its cooldown survives restarts).
 * - `schedule_overrides`: `tetora job enable|disable` without rewriting the user's jobs.json.
 */
export const migration009 = {
  version: 9,
  name: 'schedules and triggers',
  sql: `
CREATE TABLE schedule_firings (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  schedule         TEXT NOT NULL,
  scheduled_at     INTEGER NOT NULL,
  kind             TEXT NOT NULL,
  fired_at         INTEGER NOT NULL,
  status           TEXT NOT NULL,
  task_id          TEXT,
  workflow_run_id  TEXT,
  error            TEXT,
  detail           TEXT
);
CREATE UNIQUE INDEX schedule_firings_timed ON schedule_firings (schedule, scheduled_at) WHERE kind IN ('cron', 'catch-up');
CREATE INDEX schedule_firings_recent ON schedule_firings (schedule, id);
CREATE INDEX schedule_firings_run ON schedule_firings (workflow_run_id) WHERE workflow_run_id IS NOT NULL;
CREATE TABLE schedule_state (
  schedule       TEXT PRIMARY KEY,
  checked_until  INTEGER,
  last_fired_at  INTEGER
);
CREATE TABLE schedule_overrides (
  schedule    TEXT PRIMARY KEY,
  enabled     INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);
`,
};
