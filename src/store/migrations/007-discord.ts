/**
 * Migration 7: the Discord channel's durable state (DESIGN §2 item 3, "exactly one reply").
 * - `discord_inbound`: every inbound message id once, written in the same transaction as the task (or the
 *   command reply) it made, so a gateway replay, a catch-up and a live event for one message make one.
 * - `discord_channels`: per channel, the newest message handled (the catch-up cursor) and a `!chat` lock.
 * - `discord_outbox`: what the bot must say, written in the same transaction as its cause (a task's terminal
 *   state, a command); its full text is kept before any chunking. Delivered in `id` order per channel.
 * - `discord_chunks`: the chunk plan of an outbox row, fixed at its first delivery attempt, with the
 *   deterministic nonce of each chunk and the Discord message id once the send was acknowledged: after a
 *   crash, delivery resumes at the first chunk without one.
 * - `discord_status`: the one live status message of a task (its nonce, its Discord id once created, the
 *   last text Discord acknowledged, whether the final summary edit is done).
 */
export const migration007 = {
  version: 7,
  name: 'discord inbound, outbox and status messages',
  sql: `
CREATE TABLE discord_inbound (
  message_id   TEXT PRIMARY KEY,
  channel_id   TEXT NOT NULL,
  guild_id     TEXT,
  author_id    TEXT NOT NULL,
  kind         TEXT NOT NULL,              -- task | command | ignored
  task_id      TEXT REFERENCES tasks(id),
  received_at  INTEGER NOT NULL
);
CREATE INDEX discord_inbound_channel ON discord_inbound(channel_id, received_at);

CREATE TABLE discord_channels (
  channel_id       TEXT PRIMARY KEY,
  last_message_id  TEXT,                   -- newest message handled (a snowflake, compared as a number)
  chat_agent       TEXT,                   -- set by !chat <agent>, cleared by !end
  updated_at       INTEGER NOT NULL
);

CREATE TABLE discord_outbox (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  key          TEXT NOT NULL UNIQUE,       -- what made it, e.g. reply:<taskId>, command:<messageId>: a second write is a no-op
  channel_id   TEXT NOT NULL,
  kind         TEXT NOT NULL,              -- reply | command | notify
  task_id      TEXT REFERENCES tasks(id),
  reply_to     TEXT,                       -- the user's message this answers
  body         TEXT NOT NULL,              -- the full text, before chunking
  state        TEXT NOT NULL DEFAULT 'pending',   -- pending | sent | dead
  attempts     INTEGER NOT NULL DEFAULT 0, -- failed attempts (a 429 is not one)
  next_at      INTEGER NOT NULL DEFAULT 0, -- not before this time (backoff, Retry-After)
  last_error   TEXT,
  created_at   INTEGER NOT NULL,
  done_at      INTEGER
);
CREATE INDEX discord_outbox_channel ON discord_outbox(channel_id, state, id);
CREATE INDEX discord_outbox_state ON discord_outbox(state, id);

CREATE TABLE discord_chunks (
  outbox_id    INTEGER NOT NULL REFERENCES discord_outbox(id),
  idx          INTEGER NOT NULL,
  content      TEXT NOT NULL,
  attachment   TEXT,                       -- a file sent with this chunk (the full text when it was too long), its name
  nonce        TEXT NOT NULL,
  message_id   TEXT,
  sent_at      INTEGER,
  PRIMARY KEY (outbox_id, idx)
);

CREATE TABLE discord_status (
  task_id      TEXT PRIMARY KEY REFERENCES tasks(id),
  channel_id   TEXT NOT NULL,
  reply_to     TEXT,
  nonce        TEXT NOT NULL,
  message_id   TEXT,
  rendered     TEXT,                       -- the last text Discord acknowledged
  edited_at    INTEGER,
  final        INTEGER NOT NULL DEFAULT 0, -- the end-of-task summary edit is acknowledged
  created_at   INTEGER NOT NULL
);
`,
};
