/**
 * Migration 4: what each run cost, so that daily budgets count money on the day it was spent (a task
 * whose runs span midnight is charged run by run), not on the day the task last changed.
 */
export const migration004 = {
  version: 4,
  name: 'run costs',
  sql: `
ALTER TABLE task_runs ADD COLUMN cost_usd REAL NOT NULL DEFAULT 0;
CREATE INDEX task_runs_ended ON task_runs(ended_at);
`,
};
