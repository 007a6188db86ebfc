import type { ErrorCode, TetoraError } from '../errors.js';
import type { Db } from './db.js';
import { isStoreUnavailable, refineKind, storeFailureCode, storeFailureError, storeFailureKind, storeFailureReason, storeFix, type StoreFailureKind } from './errors.js';

/** @default 2000: how often a failing store is probed with a small write. */
const PROBE_MS = 2000;

export interface StoreHealthState {
  ok: boolean;
  /** While failing: the catalog code (TET_ERR_STORE_FULL, _READONLY, _UNAVAILABLE), the reason and the fix. */
  code?: ErrorCode;
  reason?: string;
  fix?: string;
  /** Epoch ms of the first failed write of this failure. */
  since?: number;
  /** Epoch ms of the last probe. */
  lastProbeAt?: number;
  /** How many failures the store recovered from since the daemon started. */
  recoveries: number;
}

interface Logger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * Whether the store accepts writes. Every writer reports here: a write that fails because the store is
 * unavailable (a full disk, a read-only file, an I/O error) marks it failing; the next write that succeeds
 * clears it. While failing, a small write is tried every `probeMs` (after a WAL checkpoint, which gives back
 * the WAL's space when the WAL itself filled the disk), so recovery is noticed with no traffic at all. On
 * recovery the WAL is checkpointed and truncated, waiters are woken and `onRecovered` runs.
 */
export class StoreHealth {
  #failure: { kind: StoreFailureKind; reason: string; since: number } | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastProbeAt: number | undefined;
  #recoveries = 0;
  #waiters: Array<() => void> = [];
  #stopped = false;

  constructor(
    private readonly db: Db,
    readonly path: string,
    private readonly o: { now(): number; log: Logger; probeMs?: number; onRecovered?: () => void },
  ) {}

  get ok(): boolean {
    return this.#failure === undefined;
  }

  state(): StoreHealthState {
    const f = this.#failure;
    const base = { ok: !f, recoveries: this.#recoveries, ...(this.#lastProbeAt !== undefined ? { lastProbeAt: this.#lastProbeAt } : {}) };
    return f ? { ...base, code: storeFailureCode(f.kind), reason: f.reason, fix: storeFix(f.kind, this.path), since: f.since } : base;
  }

  /**
   * A write failed. True when the store is unavailable (now reported as failing, probed until it recovers);
   * false for any other error (a bug, a constraint), which says nothing about the store's health.
   */
  failed(err: unknown): boolean {
    const found = storeFailureKind(err);
    if (!found || !isStoreUnavailable(err)) return false;
    const kind = refineKind(found, this.path);
    const reason = kind === found ? storeFailureReason(err) : `the disk holding the database is full (${(err as Error).message})`;
    if (this.#failure) {
      this.#failure.kind = kind;
      this.#failure.reason = reason;
      return true;
    }
    this.#failure = { kind, reason, since: this.o.now() };
    this.o.log.error({ code: storeFailureCode(kind), reason, db: this.path, fix: storeFix(kind, this.path) }, 'the store refuses writes: new tasks are refused and results wait until it accepts writes again');
    // A first probe at once: when the WAL itself filled the disk, its checkpoint gives the space back.
    this.#arm(0);
    return true;
  }

  /** A write succeeded: a failing store has recovered. */
  succeeded(): void {
    if (!this.#failure) return;
    const f = this.#failure;
    this.#failure = undefined;
    this.#recoveries++;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.o.log.info({ downMs: this.o.now() - f.since, was: f.reason, db: this.path }, 'the store accepts writes again');
    // Outside whatever transaction reported the success: give the WAL's space back, then wake the waiters.
    setImmediate(() => {
      if (this.#stopped) return;
      this.checkpoint();
      for (const w of this.#waiters.splice(0)) w();
      this.o.onRecovered?.();
    });
  }

  /** Resolves once the store accepts writes (at once when it does now). */
  recovered(): Promise<void> {
    if (!this.#failure) return Promise.resolve();
    return new Promise((r) => this.#waiters.push(r));
  }

  /** The catalogued error for the current failure, for a request refused because of it. */
  error(doing: string): TetoraError {
    const f = this.#failure ?? { kind: 'unavailable' as const, reason: 'the store refuses writes' };
    return storeFailureError(f.kind, f.reason, this.path, doing, 'retry later: the daemon recovers on its own once the store accepts writes');
  }

  /**
   * Checkpoint the WAL into the database and truncate it (best effort: it fails harmlessly while the disk
   * has no room for the pages it copies, or while a reader holds the WAL).
   */
  checkpoint(): boolean {
    try {
      const r = this.db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>;
      return r[0]?.busy === 0;
    } catch {
      return false;
    }
  }

  /** One small write (after a checkpoint): true, and the failure is cleared, when the store takes it. */
  probe(): boolean {
    this.#lastProbeAt = this.o.now();
    this.checkpoint();
    try {
      this.db.prepare(`INSERT INTO meta (key, value) VALUES ('store_probe', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`).run(String(this.#lastProbeAt));
    } catch (err) {
      this.failed(err);
      return false;
    }
    this.succeeded();
    return true;
  }

  #arm(ms: number): void {
    if (this.#timer || this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#failure && !this.#stopped && !this.probe()) this.#arm(this.o.probeMs ?? PROBE_MS);
    }, ms);
  }

  /** No more probes (the store is closing); waiters are released. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const w of this.#waiters.splice(0)) w();
  }
}
