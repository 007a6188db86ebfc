/**
 * Migration 5: detached, spooled runs. A run's launcher (pid, process start time), its spool folder, its
 * wall-clock deadline and how far its spool was turned into events are recorded, so a restarted daemon can
 * re-attach to it. Crash interruptions are counted apart from attempts. An output too large for the row
 * is referred to by its spool file. `meta.home_id` names this store's family of daemons in the marker every
 * run's processes carry.
 */
export const migration005 = {
  version: 5,
  name: 'detached runs',
  sql: `
ALTER TABLE task_runs ADD COLUMN pid INTEGER;
ALTER TABLE task_runs ADD COLUMN pid_started_at INTEGER;
ALTER TABLE task_runs ADD COLUMN spool_dir TEXT;
ALTER TABLE task_runs ADD COLUMN deadline_at INTEGER;
ALTER TABLE task_runs ADD COLUMN out_offset INTEGER NOT NULL DEFAULT 0;
ALTER TABLE task_runs ADD COLUMN err_offset INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN interruptions INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN output_file TEXT;
ALTER TABLE tasks ADD COLUMN output_bytes INTEGER;
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
INSERT INTO meta (key, value) VALUES ('home_id', lower(hex(randomblob(8))));
`,
};
