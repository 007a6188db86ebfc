/**
 * Migration 11: the task board (issue 13).
 * - `board_tickets`: persistent tickets. `status` is the board's own (`backlog`, `todo`, `doing`, `review`,
 *   `done`, `failed`), moved only by compare-and-set statements (`WHERE status = ?`). `depends_on` is a JSON
 *   list of ticket ids. `finding` is the FULL output of the ticket's last run (never cut), `finding_task` the
 *   task it came from. `current_task` / `current_kind` (`run` | `review`) name the engine task working on
 *   the ticket while it is `doing`. `executions` counts runs started (the `maxExecutions` guard), `retries`
 *   the automatic retries used (`maxRetries`). `status_reason` says why the ticket is where it is.
 * - `board_comments`: a ticket's comments in order: `author`, `body`, `kind` (`comment` from a person or a
 *   client, `system` from the board itself, `review` a reviewer's verdict), `task_id` when a task wrote it.
 */
export const migration011 = {
  version: 11,
  name: 'task board',
  sql: `
CREATE TABLE board_tickets (
  num            INTEGER PRIMARY KEY AUTOINCREMENT,
  id             TEXT NOT NULL UNIQUE,
  project        TEXT NOT NULL DEFAULT 'default',
  title          TEXT NOT NULL,
  description    TEXT NOT NULL DEFAULT '',
  status         TEXT NOT NULL,
  assignee       TEXT,
  priority       TEXT NOT NULL DEFAULT 'normal',
  depends_on     TEXT NOT NULL DEFAULT '[]',
  workdir        TEXT,
  worktree       INTEGER,
  finding        TEXT,
  finding_task   TEXT,
  current_task   TEXT,
  current_kind   TEXT,
  executions     INTEGER NOT NULL DEFAULT 0,
  execution_base INTEGER NOT NULL DEFAULT 0,
  retries        INTEGER NOT NULL DEFAULT 0,
  status_reason  TEXT,
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL,
  completed_at   INTEGER
);
CREATE INDEX board_tickets_status ON board_tickets (status, num);
CREATE INDEX board_tickets_task ON board_tickets (current_task) WHERE current_task IS NOT NULL;
CREATE TABLE board_comments (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  ticket_id   TEXT NOT NULL REFERENCES board_tickets(id),
  author      TEXT NOT NULL,
  body        TEXT NOT NULL,
  kind        TEXT NOT NULL DEFAULT 'comment',
  task_id     TEXT,
  created_at  INTEGER NOT NULL
);
CREATE INDEX board_comments_ticket ON board_comments (ticket_id, id);
`,
};
