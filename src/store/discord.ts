import type { Db } from './db.js';

export type InboundKind = 'task' | 'command' | 'ignored';

export interface InboundRow {
  messageId: string;
  channelId: string;
  guildId: string | null;
  authorId: string;
  kind: InboundKind;
  taskId: string | null;
  receivedAt: number;
}

export interface ChannelRow {
  channelId: string;
  lastMessageId: string | null;
  chatAgent: string | null;
  updatedAt: number;
}

export type OutboxKind = 'reply' | 'command' | 'notify';
export type OutboxState = 'pending' | 'sent' | 'dead';

export interface NewOutbox {
  /** What made this row (`reply:<taskId>`, `command:<messageId>`, …): writing one key twice is a no-op. */
  key: string;
  channelId: string;
  kind: OutboxKind;
  taskId?: string | null;
  replyTo?: string | null;
  body: string;
  at: number;
}

export interface OutboxRow {
  id: number;
  key: string;
  channelId: string;
  kind: OutboxKind;
  taskId: string | null;
  replyTo: string | null;
  body: string;
  state: OutboxState;
  attempts: number;
  nextAt: number;
  lastError: string | null;
  createdAt: number;
  doneAt: number | null;
}

export interface StatusRow {
  taskId: string;
  channelId: string;
  replyTo: string | null;
  nonce: string;
  messageId: string | null;
  rendered: string | null;
  editedAt: number | null;
  final: number;
  createdAt: number;
}

const OUTBOX = `id, key, channel_id AS channelId, kind, task_id AS taskId, reply_to AS replyTo, body, state, attempts,
  next_at AS nextAt, last_error AS lastError, created_at AS createdAt, done_at AS doneAt`;
const STATUS = `task_id AS taskId, channel_id AS channelId, reply_to AS replyTo, nonce, message_id AS messageId, rendered,
  edited_at AS editedAt, final, created_at AS createdAt`;

/**
 * All SQL about the Discord channel (migration 7). Uses the engine's connection (`engine.db`), so its
 * writes join the engine's transactions: an inbound record commits with its task, a reply with the task's
 * terminal state.
 */
export class DiscordStore {
  readonly #s;

  constructor(readonly db: Db) {
    const p = (sql: string) => db.prepare(sql);
    this.#s = {
      inbound: p(`INSERT INTO discord_inbound (message_id, channel_id, guild_id, author_id, kind, task_id, received_at)
        VALUES (@messageId, @channelId, @guildId, @authorId, @kind, @taskId, @receivedAt) ON CONFLICT (message_id) DO NOTHING`),
      inboundGet: p(`SELECT message_id AS messageId, channel_id AS channelId, guild_id AS guildId, author_id AS authorId, kind,
        task_id AS taskId, received_at AS receivedAt FROM discord_inbound WHERE message_id = ?`),
      channelGet: p(`SELECT channel_id AS channelId, last_message_id AS lastMessageId, chat_agent AS chatAgent, updated_at AS updatedAt
        FROM discord_channels WHERE channel_id = ?`),
      // Snowflakes are decimal strings of growing length: compare by length, then as text.
      lastSeen: p(`INSERT INTO discord_channels (channel_id, last_message_id, updated_at) VALUES (@channelId, @messageId, @at)
        ON CONFLICT (channel_id) DO UPDATE SET last_message_id = excluded.last_message_id, updated_at = excluded.updated_at
        WHERE discord_channels.last_message_id IS NULL
           OR length(discord_channels.last_message_id) < length(excluded.last_message_id)
           OR (length(discord_channels.last_message_id) = length(excluded.last_message_id) AND discord_channels.last_message_id < excluded.last_message_id)`),
      chatAgent: p(`INSERT INTO discord_channels (channel_id, chat_agent, updated_at) VALUES (@channelId, @agent, @at)
        ON CONFLICT (channel_id) DO UPDATE SET chat_agent = excluded.chat_agent, updated_at = excluded.updated_at`),
      outboxAdd: p(`INSERT INTO discord_outbox (key, channel_id, kind, task_id, reply_to, body, created_at)
        VALUES (@key, @channelId, @kind, @taskId, @replyTo, @body, @at) ON CONFLICT (key) DO NOTHING`),
      outboxByKey: p(`SELECT ${OUTBOX} FROM discord_outbox WHERE key = ?`),
      outboxGet: p(`SELECT ${OUTBOX} FROM discord_outbox WHERE id = ?`),
      statusAdd: p(`INSERT INTO discord_status (task_id, channel_id, reply_to, nonce, created_at)
        VALUES (@taskId, @channelId, @replyTo, @nonce, @at) ON CONFLICT (task_id) DO NOTHING`),
      counts: p(`SELECT state, COUNT(*) AS n FROM discord_outbox WHERE state IN ('pending', 'dead') GROUP BY state`),
      statusGet: p(`SELECT ${STATUS} FROM discord_status WHERE task_id = ?`),
    };
  }

  /** Record an inbound message once. False when it was already recorded (a replay): make nothing of it. */
  recordInbound(r: Omit<InboundRow, 'guildId' | 'taskId'> & { guildId?: string | null; taskId?: string | null }): boolean {
    return this.#s.inbound.run({ guildId: null, taskId: null, ...r }).changes === 1;
  }

  inbound(messageId: string): InboundRow | undefined {
    return this.#s.inboundGet.get(messageId) as InboundRow | undefined;
  }

  channel(channelId: string): ChannelRow | undefined {
    return this.#s.channelGet.get(channelId) as ChannelRow | undefined;
  }

  /** Move a channel's catch-up cursor forward to `messageId` (never back). */
  markSeen(channelId: string, messageId: string, at: number): void {
    this.#s.lastSeen.run({ channelId, messageId, at });
  }

  /** Lock a channel to an agent (`!chat`), or release it (null, `!end`). */
  setChatAgent(channelId: string, agent: string | null, at: number): void {
    this.#s.chatAgent.run({ channelId, agent, at });
  }

  /** Queue something to say. Returns the row (the existing one when its key was already queued). */
  addOutbox(r: NewOutbox): OutboxRow {
    this.#s.outboxAdd.run({ taskId: null, replyTo: null, ...r });
    return this.#s.outboxByKey.get(r.key) as OutboxRow;
  }

  outbox(id: number): OutboxRow | undefined {
    return this.#s.outboxGet.get(id) as OutboxRow | undefined;
  }

  outboxByKey(key: string): OutboxRow | undefined {
    return this.#s.outboxByKey.get(key) as OutboxRow | undefined;
  }

  /** Outbox depth (rows waiting to be sent) and dead letters. */
  outboxCounts(): { pending: number; dead: number } {
    const out = { pending: 0, dead: 0 };
    for (const r of this.#s.counts.all() as Array<{ state: 'pending' | 'dead'; n: number }>) out[r.state] = r.n;
    return out;
  }

  /** Promise a task one live status message (created by the deliverer; never a second one). */
  addStatus(r: { taskId: string; channelId: string; replyTo?: string | null; nonce: string; at: number }): void {
    this.#s.statusAdd.run({ replyTo: null, ...r });
  }

  status(taskId: string): StatusRow | undefined {
    return this.#s.statusGet.get(taskId) as StatusRow | undefined;
  }

  // ── discord-in: a channel's tasks (commands !status, !cancel, !retry) ──────────────────────────────

  /** The tasks made from a channel's messages (and its slash commands) whose status is one of `statuses`, oldest first. */
  channelTasks(channelId: string, statuses: readonly string[]): ChannelTask[] {
    if (statuses.length === 0) return [];
    const marks = statuses.map(() => '?').join(', ');
    return this.db
      .prepare(
        `SELECT t.id, t.status, t.agent, t.prompt, t.session_key AS sessionKey, i.message_id AS messageId, t.created_at AS createdAt
           FROM discord_inbound i JOIN tasks t ON t.id = i.task_id
          WHERE i.channel_id = ? AND t.status IN (${marks}) ORDER BY t.seq`,
      )
      .all(channelId, ...statuses) as ChannelTask[];
  }

  /** The newest task made from a channel's messages that ended (for !retry: did it fail?). */
  lastEndedChannelTask(channelId: string): ChannelTask | undefined {
    return this.db
      .prepare(
        `SELECT t.id, t.status, t.agent, t.prompt, t.session_key AS sessionKey, i.message_id AS messageId, t.created_at AS createdAt
           FROM discord_inbound i JOIN tasks t ON t.id = i.task_id
          WHERE i.channel_id = ? AND t.status IN ('succeeded', 'failed', 'cancelled', 'timed_out') ORDER BY t.seq DESC LIMIT 1`,
      )
      .get(channelId) as ChannelTask | undefined;
  }
}

/** A task made from a channel's message (discord-in's commands). */
export interface ChannelTask {
  id: string;
  status: string;
  agent: string | null;
  prompt: string;
  sessionKey: string | null;
  messageId: string;
  createdAt: number;
}
