import type { Db } from './db.js';

/** One singleton duty's lease as stored. */
export interface LeaseRow {
  duty: string;
  owner: string;
  expiresAt: number;
  acquiredAt: number;
  renewedAt: number;
}

/**
 * All SQL about leases (DESIGN §3): a duty is held by the owner its row names until `expires_at`; the
 * holder renews it by heartbeat; anyone may take it once it has expired. Each call is one statement, so
 * two daemons racing for a duty cannot both win (SQLite serialises writers; the WHERE clause is the
 * compare-and-set).
 */
export class LeaseStore {
  readonly #s;

  constructor(db: Db) {
    const p = (sql: string) => db.prepare(sql);
    this.#s = {
      take: p(`INSERT INTO leases (duty, owner, expires_at, acquired_at, renewed_at) VALUES (@duty, @owner, @expires, @now, @now)
        ON CONFLICT (duty) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at,
          acquired_at = CASE WHEN leases.owner = excluded.owner THEN leases.acquired_at ELSE excluded.acquired_at END,
          renewed_at = excluded.renewed_at
        WHERE leases.owner = excluded.owner OR leases.expires_at <= @now`),
      renew: p(`UPDATE leases SET expires_at = @expires, renewed_at = @now WHERE duty = @duty AND owner = @owner AND expires_at > @now`),
      release: p(`DELETE FROM leases WHERE duty = ? AND owner = ?`),
      releaseAll: p(`DELETE FROM leases WHERE owner = ?`),
      releaseStopped: p(`DELETE FROM leases WHERE duty LIKE ? ESCAPE '\\' AND owner IN (SELECT id FROM instances WHERE stopped_at IS NOT NULL)`),
      get: p(`SELECT duty, owner, expires_at AS expiresAt, acquired_at AS acquiredAt, renewed_at AS renewedAt FROM leases WHERE duty = ?`),
      list: p(`SELECT duty, owner, expires_at AS expiresAt, acquired_at AS acquiredAt, renewed_at AS renewedAt FROM leases WHERE duty LIKE ? ESCAPE '\\' ORDER BY duty`),
    };
  }

  /** Take (or keep) `duty` for `owner` until `now + ttlMs`. False when another owner holds a live lease. */
  acquire(duty: string, owner: string, ttlMs: number, now: number): boolean {
    return this.#s.take.run({ duty, owner, expires: now + ttlMs, now }).changes === 1;
  }

  /** Extend a lease this owner still holds. False when it expired or was taken over: the duty is lost and must stop. */
  renew(duty: string, owner: string, ttlMs: number, now: number): boolean {
    return this.#s.renew.run({ duty, owner, expires: now + ttlMs, now }).changes === 1;
  }

  /** Give up a duty (a clean stop), so another daemon need not wait for the expiry. */
  release(duty: string, owner: string): void {
    this.#s.release.run(duty, owner);
  }

  /** Give up every duty of an owner (its daemon stops). */
  releaseAll(owner: string): void {
    this.#s.releaseAll.run(owner);
  }

  /**
   * Give up the leases (of duties starting with `prefix`) whose owners are instances recorded as stopped:
   * the engine marks this host's dead instances stopped at start, holding the home lock, so a restarted
   * daemon takes their duties back at once instead of waiting for the leases to expire. Returns how many.
   */
  releaseStopped(prefix = ''): number {
    return this.#s.releaseStopped.run(likePrefix(prefix)).changes;
  }

  get(duty: string): LeaseRow | undefined {
    return this.#s.get.get(duty) as LeaseRow | undefined;
  }

  /** Leases whose duty starts with `prefix` (e.g. `discord:`). */
  list(prefix = ''): LeaseRow[] {
    return this.#s.list.all(likePrefix(prefix)) as LeaseRow[];
  }
}

/** A LIKE pattern (escape character `\`) matching what starts with `prefix`. */
function likePrefix(prefix: string): string {
  return `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
