import { gateButtons } from './gate.js';
import type { DiscordConfig } from '../../config/types.js';
import type { Logger } from '../../engine/logger.js';
import { backoffDelay } from '../../engine/policy.js';
import type { ChunkRow, DiscordStore, OutboxRow } from '../../store/discord.js';
import { clampDelay } from '../../util/timers.js';
import { attachmentName, planReply } from './chunk.js';
import { chunkNonce } from './nonce.js';
import type { DiscordRest, SendOutcome } from './rest.js';

/** The chunk plan of an outbox row (pure): its messages with their deterministic nonces. */
export function chunkPlan(row: Pick<OutboxRow, 'id' | 'body' | 'taskId'>, maxChunks: number): Array<{ content: string; attachment: string | null; nonce: string }> {
  return planReply(row.body, { maxChunks, fileName: attachmentName(row.taskId, row.id) }).map((c, idx) => ({ ...c, nonce: chunkNonce(row.id, idx) }));
}

/** Counters of the deliverer, read by /metrics. */
export class DeliveryStats {
  replies = 0;
  chunks = 0;
  /** Failed or rate-limited sends by reason: rate_limit, rate_limit_global, server_error, timeout, network. */
  retries: Record<string, number> = {};
  deadLetters = 0;
  retry(reason: string): void {
    this.retries[reason] = (this.retries[reason] ?? 0) + 1;
  }
}

export interface DelivererDeps {
  store: DiscordStore;
  rest: Pick<DiscordRest, 'createMessage' | 'editMessage' | 'addReaction'>;
  config: () => Pick<DiscordConfig, 'maxChunks' | 'sendRetry'>;
  log: Logger;
  now?: () => number;
  random?: () => number;
  stats?: DeliveryStats;
}

/** A sleep that a wake or the stop cuts short. */
class Waiter {
  #wake: (() => void) | undefined;
  #woken = false;
  wait(ms: number): Promise<void> {
    if (this.#woken) {
      this.#woken = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const t = setTimeout(done, clampDelay(Math.max(0, ms)));
      const self = this;
      function done() {
        clearTimeout(t);
        self.#wake = undefined;
        resolve();
      }
      this.#wake = done;
    });
  }
  wake(): void {
    if (this.#wake) this.#wake();
    else this.#woken = true;
  }
}

/**
 * Channel rate limits shared by the deliverer and the status messages: the global limit (all channels)
 * and each channel's bucket as Discord last reported it.
 */
export class RateGate {
  globalUntil = 0;
  readonly #channelUntil = new Map<string, number>();
  constructor(private readonly now: () => number) {}
  /** How long to wait before the next call on `channelId`. */
  waitFor(channelId: string): number {
    return Math.max(0, this.globalUntil - this.now(), (this.#channelUntil.get(channelId) ?? 0) - this.now());
  }
  /** Learn from an answer. */
  learn(channelId: string, o: SendOutcome): void {
    if (o.kind === 'rate_limited') {
      const until = this.now() + o.waitMs;
      if (o.global) this.globalUntil = Math.max(this.globalUntil, until);
      else this.#channelUntil.set(channelId, Math.max(this.#channelUntil.get(channelId) ?? 0, until));
    } else if (o.kind === 'ok' && o.bucket) {
      if (o.bucket.remaining <= 0) this.#channelUntil.set(channelId, this.now() + o.bucket.resetAfterMs);
      else this.#channelUntil.delete(channelId);
    }
  }
}

/**
 * Drains `discord_outbox`, each channel in its own loop (a slow or dead channel never holds up another),
 * rows of a channel in id order. At a row's first attempt its chunk plan is fixed in `discord_chunks` (one
 * transaction); each chunk is sent with its nonce and its Discord id recorded when acknowledged (a commit
 * per chunk), so after a crash delivery resumes at the first chunk without an id, and a chunk that was in
 * flight is sent again with the same nonce (Discord answers with the first message: never posted twice).
 * 429s wait (never an attempt); 5xx, timeouts and network errors back off with full jitter per
 * `sendRetry`, then dead-letter; other 4xx dead-letter at once. Woken by `wake(channel)` after a commit
 * and by a timer for a row's `next_at`.
 */
export class Deliverer {
  readonly stats: DeliveryStats;
  readonly gate: RateGate;
  readonly #loops = new Map<string, { waiter: Waiter; done: Promise<void> }>();
  readonly #now: () => number;
  readonly #random: () => number;
  #running = false;

  constructor(private readonly d: DelivererDeps, gate?: RateGate) {
    this.#now = d.now ?? Date.now;
    this.#random = d.random ?? Math.random;
    this.stats = d.stats ?? new DeliveryStats();
    this.gate = gate ?? new RateGate(this.#now);
  }

  /** Start: every channel with something pending gets its loop. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    for (const ch of this.d.store.pendingChannels()) this.wake(ch);
  }

  /** Something new (or due again) in `channelId`'s outbox. */
  wake(channelId: string): void {
    if (!this.#running) return;
    const loop = this.#loops.get(channelId);
    if (loop) {
      loop.waiter.wake();
      return;
    }
    const waiter = new Waiter();
    const entry = { waiter, done: Promise.resolve() };
    this.#loops.set(channelId, entry);
    entry.done = this.#loop(channelId, waiter).catch((err: unknown) => {
      this.d.log.error({ err: (err as Error).message, channelId }, 'discord: the delivery loop of a channel failed; it starts again at the next wake');
      this.#loops.delete(channelId);
    });
  }

  /** Stop every loop (a send in flight finishes; its chunk id is recorded if it was acknowledged). */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    for (const l of this.#loops.values()) l.waiter.wake();
    await Promise.allSettled([...this.#loops.values()].map((l) => l.done));
    this.#loops.clear();
  }

  async #loop(channelId: string, waiter: Waiter): Promise<void> {
    while (this.#running) {
      const row = this.d.store.nextPending(channelId);
      if (!row) {
        this.#loops.delete(channelId);
        return;
      }
      const due = row.nextAt - this.#now();
      if (due > 0) {
        await waiter.wait(due);
        continue;
      }
      await this.#deliver(row, waiter);
    }
  }

  #plan(row: OutboxRow): ChunkRow[] {
    const have = this.d.store.chunks(row.id);
    if (have.length > 0) return have;
    return this.d.store.planChunks(row.id, chunkPlan(row, this.d.config().maxChunks));
  }

  /**
   * One REST call of a row, waiting out rate limits (never an attempt). Returns true when acknowledged;
   * false when the row must wait (backoff, next_at recorded) or died (dead letter recorded).
   */
  async #send(row: OutboxRow, waiter: Waiter, what: string, call: () => Promise<SendOutcome>, onOk: (o: Extract<SendOutcome, { kind: 'ok' }>) => void): Promise<boolean> {
    for (;;) {
      if (!this.#running) return false;
      const wait = this.gate.waitFor(row.channelId);
      if (wait > 0) {
        await waiter.wait(wait);
        continue;
      }
      const o = await call();
      this.gate.learn(row.channelId, o);
      if (o.kind === 'ok') {
        onOk(o);
        return true;
      }
      if (o.kind === 'rate_limited') {
        // Never an attempt: wait as asked, then the same call again.
        this.stats.retry(o.global ? 'rate_limit_global' : 'rate_limit');
        this.d.log.info({ outboxId: row.id, channelId: row.channelId, what, waitMs: o.waitMs, global: o.global }, `discord: send rate limited (${o.reason}); waiting`);
        continue;
      }
      if (o.kind === 'retry') {
        const attempt = row.attempts + 1;
        const { baseMs, capMs, maxAttempts } = this.d.config().sendRetry;
        this.stats.retry(o.label);
        if (attempt >= maxAttempts) {
          this.#dead(row, `${o.reason} — gave up after ${attempt} attempts; send it again with \`tetora discord outbox retry ${row.id}\``);
          return false;
        }
        const delay = backoffDelay(attempt, { baseMs, capMs }, this.#random);
        this.d.store.outboxFailedAttempt(row.id, o.reason, this.#now() + delay);
        this.d.log.warn(
          { outboxId: row.id, channelId: row.channelId, what, attempt, maxAttempts, retryInMs: delay },
          `discord: send failed (${o.reason}); attempt ${attempt} of ${maxAttempts}, retrying in ${delay} ms`,
        );
        return false; // the loop waits for next_at, then resumes here
      }
      this.#dead(row, `${o.reason}; then \`tetora discord outbox retry ${row.id}\``);
      return false;
    }
  }

  async #deliver(row: OutboxRow, waiter: Waiter): Promise<void> {
    if (row.key.startsWith('react:')) {
      // A reaction (PUT is idempotent on Discord's side: doing it again after a crash changes nothing).
      const ok = row.replyTo
        ? await this.#send(row, waiter, 'reaction', () => this.d.rest.addReaction(row.channelId, row.replyTo as string, row.body), () => {})
        : true;
      if (ok) this.d.store.outboxSent(row.id, this.#now());
      return;
    }
    const chunks = this.#plan(row);
    const buttons = gateButtons(row.key);
    for (const c of chunks) {
      if (c.messageId) continue;
      const ok = await this.#send(
        row,
        waiter,
        `chunk ${c.idx}`,
        () =>
          this.d.rest.createMessage(row.channelId, {
            content: c.content,
            nonce: c.nonce,
            replyTo: c.idx === 0 ? row.replyTo : null,
            ...(c.attachment ? { file: { name: c.attachment, content: row.body } } : {}),
            ...(c.idx === chunks.length - 1 && buttons ? { components: buttons } : {}),
          }),
        (o) => {
          const id = (o.body as { id?: unknown } | null)?.id;
          this.d.store.chunkSent(row.id, c.idx, typeof id === 'string' ? id : `unknown-${c.nonce}`, this.#now());
          this.stats.chunks++;
        },
      );
      if (!ok) return;
    }
    this.d.store.outboxSent(row.id, this.#now());
    this.stats.replies++;
  }

  #dead(row: OutboxRow, reason: string): void {
    this.d.store.outboxDead(row.id, reason, this.#now(), true);
    this.stats.deadLetters++;
    this.d.log.error({ outboxId: row.id, channelId: row.channelId, key: row.key, taskId: row.taskId }, `discord: dead letter ${row.id} (${row.key}): ${reason}`);
  }
}
