/**
 * Migration 10: multi-agent work.
 * - `tasks.route`: JSON saying how the agent of a task sent without one was chosen (smart dispatch:
 *   `{method, confidence, reason, …}`), shown by `task show`.
 * - `task_links`: how tasks beget tasks, one row per link, `from_task` → `to_task`:
 *   `route` (a task → the classifier task that chose its agent), `delegate` (a parent → a child made from a
 *   `_delegate` block of its output), `handoff` (the task whose output was handed → the task it was handed
 *   to). `reason` is the link's own words (the delegate block's reason, the handoff's instruction head).
 *   `ord` keeps a parent's children in the order of its output.
 */
export const migration010 = {
  version: 10,
  name: 'task routes and links',
  sql: `
ALTER TABLE tasks ADD COLUMN route TEXT;
CREATE TABLE task_links (
  from_task   TEXT NOT NULL REFERENCES tasks(id),
  to_task     TEXT NOT NULL REFERENCES tasks(id),
  kind        TEXT NOT NULL,
  ord         INTEGER NOT NULL DEFAULT 0,
  reason      TEXT,
  created_at  INTEGER NOT NULL,
  PRIMARY KEY (from_task, to_task, kind)
);
CREATE INDEX task_links_to ON task_links(to_task, kind);
`,
};
