import type { Logger } from '../../engine/logger.js';
import type { DiscordStore, StatusRow } from '../../store/discord.js';
import type { TaskEvent, TaskRow } from '../../store/tasks.js';
import { formatDuration } from '../../util/duration.js';
import type { RateGate } from './deliver.js';
import type { DiscordRest } from './rest.js';

/** What the live status message shows, gathered from the task row and its events. */
export interface StatusFacts {
  taskId: string;
  status: string;
  agent: string | null;
  now: number;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  costUsd: number;
  attempt: number;
  maxAttempts: number;
  notBefore: number | null;
  errorClass: string | null;
  /** Place in the queue (1 = next), while queued. */
  queuePlace?: number;
  tool?: string;
  lastLine?: string;
  /** The task lived through a daemon restart (an `adopted` or `interrupted` event). */
  resumed: boolean;
}

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled', 'timed_out']);
const ICON: Record<string, string> = { succeeded: '✅', failed: '❌', cancelled: '🚫', timed_out: '⌛' };

function clip(s: string, n: number): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > n ? `${one.slice(0, n - 1)}…` : one;
}

function utc(ms: number): string {
  return `${new Date(ms).toISOString().slice(11, 16)} UTC`;
}

/** The text of the status message (pure): a few lines while the task lives, one summary line at the end. */
export function renderStatus(f: StatusFacts): string {
  if (TERMINAL.has(f.status)) {
    const took = formatDuration(Math.max(0, (f.finishedAt ?? f.now) - (f.startedAt ?? f.createdAt)));
    const cls = f.status !== 'succeeded' && f.status !== 'cancelled' && f.errorClass ? ` (${f.errorClass})` : '';
    return `${ICON[f.status] ?? '•'} ${f.status.replace('_', ' ')}${cls} · ${took} · $${f.costUsd.toFixed(4)} · task ${f.taskId}`;
  }
  const elapsed = formatDuration(Math.max(0, f.now - f.createdAt));
  const lines = [`⏳ Working… · agent ${f.agent ?? 'default'} · ${elapsed}`];
  if (f.resumed) lines.push('♻️ resuming after a daemon restart');
  if (f.status === 'queued') lines.push(`🕒 queued${f.queuePlace ? ` (place ${f.queuePlace})` : ''}`);
  else if (f.status === 'rate_limited') lines.push(`⏸ waiting for the provider's limit to reset${f.notBefore ? ` at ${utc(f.notBefore)}` : ''}`);
  else if (f.status === 'retry_wait') lines.push(`🔁 retrying (attempt ${f.attempt + 1} of ${f.maxAttempts})${f.notBefore ? ` at ${utc(f.notBefore)}` : ''}`);
  else if (f.status === 'interrupted') lines.push('♻️ interrupted by a daemon restart; resuming');
  if (f.tool) lines.push(`🔧 ${clip(f.tool, 80)}`);
  if (f.lastLine) lines.push(`💬 ${clip(f.lastLine, 300)}`);
  return lines.join('\n');
}

/** The Cancel button of a task's status message (discord-in handles the press). */
export function cancelButton(taskId: string): unknown[] {
  return [{ type: 1, components: [{ type: 2, style: 4, label: 'Cancel', custom_id: `tetora:cancel:${taskId}` }] }];
}

/** Per-task progress seen on the event bus (tool, last line of text, restart). */
interface Live {
  tool?: string;
  lastLine?: string;
  resumed: boolean;
  timer?: NodeJS.Timeout;
  /** `timer` is only the idle refresh (any news replaces it). */
  idle?: boolean;
  busy: boolean;
  dirty: boolean;
  lastEditAt: number;
  failures: number;
}

export interface StatusDeps {
  store: DiscordStore;
  rest: Pick<DiscordRest, 'createMessage' | 'editMessage'>;
  gate: RateGate;
  task: (id: string) => TaskRow | undefined;
  events: (id: string) => TaskEvent[];
  subscribe: (fn: (e: TaskEvent) => void) => () => void;
  queuePlace: (id: string) => number | undefined;
  log: Logger;
  now?: () => number;
  /** Minimum time between two edits of one message. @default 2000 */
  editEveryMs?: number;
  /** With no event, the elapsed time is refreshed this often. @default 10000 */
  idleRefreshMs?: number;
}

function lastLineOf(text: string): string | undefined {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.at(-1);
}

/**
 * The live status messages (`showProgress`). Each is created from its `discord_status` row with the row's
 * nonce (a crash or a retry never makes a second one; its id is recorded), edited at most every 2 s within
 * the channel's rate limit, and finally edited to a one-line summary recorded as `final`. An edit lost in a
 * crash is redone at the next start, since every open row is looked at again.
 */
export class StatusMessages {
  readonly #live = new Map<string, Live>();
  readonly #now: () => number;
  readonly #every: number;
  readonly #idle: number;
  #off: (() => void) | undefined;
  #running = false;

  constructor(private readonly d: StatusDeps) {
    this.#now = d.now ?? Date.now;
    this.#every = d.editEveryMs ?? 2000;
    this.#idle = d.idleRefreshMs ?? 10_000;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#off = this.d.subscribe((e) => this.#onEvent(e));
    for (const row of this.d.store.openStatuses()) this.#track(row.taskId, true);
  }

  stop(): void {
    this.#running = false;
    this.#off?.();
    for (const l of this.#live.values()) clearTimeout(l.timer);
    this.#live.clear();
  }

  #track(taskId: string, fromStore: boolean): Live {
    let l = this.#live.get(taskId);
    if (!l) {
      l = { resumed: false, busy: false, dirty: false, lastEditAt: 0, failures: 0 };
      this.#live.set(taskId, l);
      if (fromStore) {
        for (const e of this.d.events(taskId)) this.#learn(l, e);
      }
    }
    this.#schedule(taskId, l);
    return l;
  }

  #learn(l: Live, e: TaskEvent): void {
    if (e.type === 'provider.tool_call') l.tool = String(e.data.name ?? 'tool');
    else if (e.type === 'provider.tool_result') l.tool = l.tool ? `${l.tool} (done)` : undefined;
    else if (e.type === 'provider.text' && typeof e.data.text === 'string') l.lastLine = lastLineOf(e.data.text) ?? l.lastLine;
    else if (e.type === 'adopted' || e.type === 'interrupted') l.resumed = true;
  }

  #onEvent(e: TaskEvent): void {
    if (!this.#running) return;
    let l = this.#live.get(e.taskId);
    if (!l) {
      // A new Discord task: its status row commits with it (discord-in's transaction).
      if (e.type !== 'queued' || e.data.source !== 'discord') return;
      const row = this.d.store.status(e.taskId);
      if (!row || row.final) return;
      l = this.#track(e.taskId, false);
    }
    this.#learn(l, e);
    this.#schedule(e.taskId, l);
  }

  /** Update soon: at once for the first message and the final edit, else no sooner than 2 s after the last edit. */
  #schedule(taskId: string, l: Live): void {
    l.dirty = true;
    if (l.timer && l.idle) {
      clearTimeout(l.timer);
      l.timer = undefined;
      l.idle = false;
    }
    if (l.busy || l.timer) return;
    const row = this.d.store.status(taskId);
    const task = this.d.task(taskId);
    const urgent = !row?.messageId || (task !== undefined && TERMINAL.has(task.status));
    const wait = Math.max(urgent ? 0 : l.lastEditAt + this.#every - this.#now(), row ? this.d.gate.waitFor(row.channelId) : 0);
    l.timer = setTimeout(() => {
      l.timer = undefined;
      void this.#update(taskId, l);
    }, Math.max(0, wait));
  }

  async #update(taskId: string, l: Live): Promise<void> {
    if (!this.#running) return;
    const row = this.d.store.status(taskId);
    const task = this.d.task(taskId);
    if (!row || row.final || !task) {
      this.#live.delete(taskId);
      return;
    }
    l.dirty = false;
    l.busy = true;
    let retryIn: number | undefined;
    try {
      retryIn = await this.#push(row, task, l);
    } finally {
      l.busy = false;
    }
    if (!this.#running) return;
    if (this.d.store.status(taskId)?.final) {
      this.#live.delete(taskId);
      return;
    }
    if (retryIn !== undefined) {
      l.timer = setTimeout(() => {
        l.timer = undefined;
        void this.#update(taskId, l);
      }, retryIn);
    } else if (l.dirty || TERMINAL.has(this.d.task(taskId)?.status ?? '')) this.#schedule(taskId, l);
    else {
      // No news: refresh the elapsed time now and then, sparing the channel's rate limit.
      l.idle = true;
      l.timer = setTimeout(() => {
        l.timer = undefined;
        l.idle = false;
        this.#schedule(taskId, l);
      }, this.#idle);
    }
  }

  /** One create or edit. Returns a delay to try again after (rate limit, failure), or undefined. */
  async #push(row: StatusRow, task: TaskRow, l: Live): Promise<number | undefined> {
    const wait = this.d.gate.waitFor(row.channelId);
    if (wait > 0) return wait;
    const final = TERMINAL.has(task.status);
    const text = renderStatus({
      taskId: task.id,
      status: task.status,
      agent: task.agent,
      now: this.#now(),
      createdAt: task.createdAt,
      startedAt: task.startedAt,
      finishedAt: task.finishedAt,
      costUsd: task.costUsd,
      attempt: task.attempt,
      maxAttempts: task.maxAttempts,
      notBefore: task.notBefore,
      errorClass: task.errorClass,
      ...(task.status === 'queued' ? { queuePlace: this.d.queuePlace(task.id) } : {}),
      ...(l.tool ? { tool: l.tool } : {}),
      ...(l.lastLine ? { lastLine: l.lastLine } : {}),
      resumed: l.resumed,
    });
    const components = final ? [] : cancelButton(task.id);
    const o = row.messageId
      ? text === row.rendered && !final
        ? undefined
        : await this.d.rest.editMessage(row.channelId, row.messageId, { content: text, components })
      : await this.d.rest.createMessage(row.channelId, { content: text, nonce: row.nonce, replyTo: row.replyTo, components });
    if (!o) return undefined;
    this.d.gate.learn(row.channelId, o);
    const at = this.#now();
    if (o.kind === 'ok') {
      l.lastEditAt = at;
      l.failures = 0;
      if (!row.messageId) {
        const id = (o.body as { id?: unknown } | null)?.id;
        this.d.store.statusCreated(row.taskId, typeof id === 'string' ? id : `unknown-${row.nonce}`, text, at);
        // Created already finished (the task ended before its first message): one more edit is not needed.
        if (final) this.d.store.statusEdited(row.taskId, text, at, true);
      } else this.d.store.statusEdited(row.taskId, text, at, final);
      return undefined;
    }
    if (o.kind === 'rate_limited') return o.waitMs;
    if (o.kind === 'retry') {
      l.failures++;
      this.d.log.warn({ taskId: row.taskId, channelId: row.channelId, attempt: l.failures }, `discord: status message update failed (${o.reason}); trying again`);
      return Math.min(60_000, 1000 * 2 ** Math.min(6, l.failures));
    }
    // 403/404 (message deleted, permission missing): stop updating this one; the reply still goes out.
    this.d.log.warn({ taskId: row.taskId, channelId: row.channelId }, `discord: status message given up (${o.reason})`);
    this.d.store.statusEdited(row.taskId, row.rendered ?? text, at, true);
    return undefined;
  }
}
