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

/** One message of an outbox row's chunk plan (fixed at its first delivery attempt). */
export interface ChunkRow {
  outboxId: number;
  idx: number;
  content: string;
  /** File name of an attachment carrying the row's whole body, or null. */
  attachment: string | null;
  nonce: string;
  messageId: string | null;
  sentAt: number | null;
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

  /** Statements of the deliverer and the status messages (discord-out). */
  readonly #o;

  constructor(readonly db: Db) {
    const p = (sql: string) => db.prepare(sql);
    this.#o = {
      channels: p(`SELECT DISTINCT channel_id AS channelId FROM discord_outbox WHERE state = 'pending'`),
      head: p(`SELECT ${OUTBOX} FROM discord_outbox WHERE channel_id = ? AND state = 'pending' ORDER BY id LIMIT 1`),
      chunks: p(`SELECT outbox_id AS outboxId, idx, content, attachment, nonce, message_id AS messageId, sent_at AS sentAt
        FROM discord_chunks WHERE outbox_id = ? ORDER BY idx`),
      chunkAdd: p(`INSERT INTO discord_chunks (outbox_id, idx, content, attachment, nonce) VALUES (@outboxId, @idx, @content, @attachment, @nonce)
        ON CONFLICT (outbox_id, idx) DO NOTHING`),
      chunkSent: p(`UPDATE discord_chunks SET message_id = @messageId, sent_at = @at WHERE outbox_id = @outboxId AND idx = @idx AND message_id IS NULL`),
      sent: p(`UPDATE discord_outbox SET state = 'sent', done_at = @at, next_at = 0 WHERE id = @id AND state = 'pending'`),
      failed: p(`UPDATE discord_outbox SET attempts = attempts + 1, next_at = @nextAt, last_error = @error WHERE id = @id AND state = 'pending'`),
      dead: p(`UPDATE discord_outbox SET state = 'dead', attempts = attempts + @attempt, last_error = @error, done_at = @at WHERE id = @id AND state = 'pending'`),
      retry: p(`UPDATE discord_outbox SET state = 'pending', attempts = 0, next_at = 0, done_at = NULL WHERE id = ? AND state = 'dead'`),
      list: p(`SELECT ${OUTBOX} FROM discord_outbox WHERE state = @state ORDER BY id DESC LIMIT @limit`),
      listAll: p(`SELECT ${OUTBOX} FROM discord_outbox ORDER BY id DESC LIMIT @limit`),
      resets: p(`SELECT type, data FROM task_events WHERE task_id = ? AND (type IN ('discord.session_reset', 'session_recovery')
        OR (type = 'queued' AND json_extract(data, '$.reason') = 'session_invalid')) ORDER BY seq`),
      openStatuses: p(`SELECT ${STATUS} FROM discord_status WHERE final = 0 ORDER BY created_at`),
      statusCreated: p(`UPDATE discord_status SET message_id = @messageId, rendered = @rendered, edited_at = @at WHERE task_id = @taskId AND message_id IS NULL`),
      statusEdited: p(`UPDATE discord_status SET rendered = @rendered, edited_at = @at, final = @final WHERE task_id = @taskId`),
      queuePlace: p(`SELECT COUNT(*) AS n FROM tasks WHERE status = 'queued' AND seq <= (SELECT seq FROM tasks WHERE id = ? AND status = 'queued')`),
      sentChunks: p(`SELECT COUNT(*) AS n FROM discord_chunks WHERE message_id IS NOT NULL`),
    };
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

  /** Channels with something pending in their outbox. */
  pendingChannels(): string[] {
    return (this.#o.channels.all() as Array<{ channelId: string }>).map((r) => r.channelId);
  }

  /** The oldest pending row of a channel (a channel's rows go out in id order). */
  nextPending(channelId: string): OutboxRow | undefined {
    return this.#o.head.get(channelId) as OutboxRow | undefined;
  }

  /** The chunk plan of an outbox row, in order (empty until its first attempt fixed it). */
  chunks(outboxId: number): ChunkRow[] {
    return this.#o.chunks.all(outboxId) as ChunkRow[];
  }

  /**
   * Fix the chunk plan of a row, all of it in one transaction, once: a plan already there stays (a resumed
   * delivery keeps the chunks and nonces it may already have sent). Returns the plan in force.
   */
  planChunks(outboxId: number, plan: Array<{ content: string; attachment: string | null; nonce: string }>): ChunkRow[] {
    this.db.transaction(() => {
      if (this.chunks(outboxId).length > 0) return;
      plan.forEach((c, idx) => this.#o.chunkAdd.run({ outboxId, idx, ...c }));
    })();
    return this.chunks(outboxId);
  }

  /** Record the Discord message id of an acknowledged chunk (its own commit: a crash after it never resends it). */
  chunkSent(outboxId: number, idx: number, messageId: string, at: number): void {
    this.#o.chunkSent.run({ outboxId, idx, messageId, at });
  }

  /** Every chunk of the row is acknowledged. */
  outboxSent(id: number, at: number): void {
    this.#o.sent.run({ id, at });
  }

  /** A failed attempt (5xx, timeout, network): counted, with its reason and the time of the next one. */
  outboxFailedAttempt(id: number, error: string, nextAt: number): void {
    this.#o.failed.run({ id, error, nextAt });
  }

  /** A dead letter: not sent, with the reason kept. `countAttempt`: this last failure was an attempt. */
  outboxDead(id: number, error: string, at: number, countAttempt = true): void {
    this.#o.dead.run({ id, error, at, attempt: countAttempt ? 1 : 0 });
  }

  /** Send a dead letter again (its chunk plan and the ids of chunks already sent stay). False when it is not dead. */
  outboxRetry(id: number): boolean {
    return this.#o.retry.run(id).changes === 1;
  }

  /** Outbox rows, newest first; all states when `state` is not given. */
  outboxList(state?: OutboxState, limit = 100): OutboxRow[] {
    return (state ? this.#o.list.all({ state, limit }) : this.#o.listAll.all({ limit })) as OutboxRow[];
  }

  /** Chunks acknowledged by Discord so far (all rows). */
  sentChunkCount(): number {
    return (this.#o.sentChunks.get() as { n: number }).n;
  }

  /**
   * Why a task's chat session was reset, if it was: `discord.session_reset` and `session_recovery` notes and
   * fresh-session retries (a `queued` event with reason `session_invalid`), oldest first.
   */
  sessionResets(taskId: string): string[] {
    return (this.#o.resets.all(taskId) as Array<{ type: string; data: string }>).map((r) => {
      let d: Record<string, unknown> = {};
      try {
        d = JSON.parse(r.data) as Record<string, unknown>;
      } catch {
        /* a note without data */
      }
      if (r.type === 'queued') return `the provider no longer knew the session${typeof d.message === 'string' && d.message ? `: ${d.message}` : ''}`;
      return typeof d.reason === 'string' && d.reason ? d.reason : 'the session could not be continued';
    });
  }

  /** A queued task's place in the queue (1 = next in arrival order), or undefined when it is not queued. */
  queuePlace(taskId: string): number | undefined {
    const n = (this.#o.queuePlace.get(taskId) as { n: number }).n;
    return n > 0 ? n : undefined;
  }

  /** Status messages whose final summary is not acknowledged yet. */
  openStatuses(): StatusRow[] {
    return this.#o.openStatuses.all() as StatusRow[];
  }

  /** The status message exists on Discord: its id and the text it was created with (first one wins). */
  statusCreated(taskId: string, messageId: string, rendered: string, at: number): void {
    this.#o.statusCreated.run({ taskId, messageId, rendered, at });
  }

  /** An edit of the status message was acknowledged; `final` when it was the end-of-task summary. */
  statusEdited(taskId: string, rendered: string, at: number, final: boolean): void {
    this.#o.statusEdited.run({ taskId, rendered, at, final: final ? 1 : 0 });
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
