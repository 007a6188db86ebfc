import type { Logger } from '../engine/logger.js';
import type { LeaseStore } from '../store/leases.js';

export interface DutyOptions {
  /** The duty's key, e.g. `discord:gateway`, `discord:deliver:<channelId>`, `schedule:<name>`. */
  duty: string;
  /** This daemon instance (the engine's instanceId). */
  owner: string;
  leases: LeaseStore;
  /** How long a lease lasts without renewal (default 30 s): what a crashed holder costs before another daemon takes over. */
  ttlMs?: number;
  /** How often the lease is renewed, or tried for when another daemon holds it (default ttl / 3). */
  everyMs?: number;
  now?: () => number;
  log: Logger;
  /** The duty is ours: start doing it. */
  onGain(): void | Promise<void>;
  /**
   * The duty is no longer ours: stop doing it. `stopping` is true for a clean stop (`stop()`, the daemon
   * shutting down), which is routine; false when the lease was lost while the daemon runs, worth a warning.
   */
  onLose(reason: string, stopping: boolean): void | Promise<void>;
}

/**
 * Holds one singleton duty through its lease row (DESIGN §3): tries to take it, renews it by heartbeat,
 * and tells its owner when it is gained and when it is lost (expired, taken over, or the store refused
 * the renewal for a whole lease period). With one daemon every lease is its own at the first try; nothing
 * here assumes that.
 */
export class DutyKeeper {
  readonly #o: Required<Omit<DutyOptions, 'now'>> & { now: () => number };
  #timer: NodeJS.Timeout | undefined;
  #held = false;
  #lastRenewed = 0;
  #stopped = false;
  #busy: Promise<void> = Promise.resolve();

  constructor(opts: DutyOptions) {
    const ttlMs = opts.ttlMs ?? 30_000;
    this.#o = { ...opts, ttlMs, everyMs: opts.everyMs ?? Math.max(50, Math.floor(ttlMs / 3)), now: opts.now ?? Date.now };
  }

  get held(): boolean {
    return this.#held;
  }

  get duty(): string {
    return this.#o.duty;
  }

  /** Try for the duty now, then keep trying or renewing on every tick. */
  start(): void {
    this.#stopped = false;
    this.#tick();
  }

  #tick(): void {
    this.#busy = this.#busy.then(() => this.#step()).catch((err) => this.#o.log.error({ err, duty: this.#o.duty }, 'duty: a gain or loss handler failed'));
    this.#busy.finally(() => {
      if (!this.#stopped) {
        this.#timer = setTimeout(() => this.#tick(), this.#o.everyMs);
        this.#timer.unref();
      }
    });
  }

  async #step(): Promise<void> {
    if (this.#stopped) return;
    const { duty, owner, ttlMs, leases, now } = this.#o;
    const t = now();
    if (this.#held) {
      let renewed: boolean;
      try {
        renewed = leases.renew(duty, owner, ttlMs, t);
      } catch (err) {
        // The store refuses writes: the lease still holds until it expires; past that, another daemon may take it.
        if (t - this.#lastRenewed < ttlMs) return;
        this.#o.log.warn({ err, duty }, `duty ${duty}: could not renew its lease for ${ttlMs} ms; giving it up`);
        renewed = false;
      }
      if (renewed) {
        this.#lastRenewed = t;
        return;
      }
      this.#held = false;
      await this.#o.onLose('its lease expired or another daemon took it over', false);
      return;
    }
    let taken = false;
    try {
      taken = leases.acquire(duty, owner, ttlMs, t);
    } catch (err) {
      this.#o.log.warn({ err, duty }, `duty ${duty}: could not take its lease (the store refuses writes); trying again`);
    }
    if (!taken) return;
    this.#held = true;
    this.#lastRenewed = t;
    await this.#o.onGain();
  }

  /** Stop doing the duty and give the lease up (a clean stop), so another daemon can take it at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#busy.catch(() => {});
    if (!this.#held) return;
    this.#held = false;
    try {
      await this.#o.onLose('the daemon is stopping', true);
    } finally {
      try {
        this.#o.leases.release(this.#o.duty, this.#o.owner);
      } catch {
        // The store is gone or refuses writes: the lease simply expires.
      }
    }
  }
}
