import type { Db } from './db.js';

/** One dashboard login as stored (see migration 013): the session id only as its hash. */
export interface DashboardSessionRow {
  idHash: string;
  tokenFp: string;
  createdAt: number;
  expiresAt: number;
  remote: string | null;
}

/** A task that ended without success, for the overview. */
export interface FailureRow {
  id: string;
  agent: string | null;
  status: string;
  error: string | null;
  errorClass: string | null;
  endedAt: number | null;
}

/** Cost and tokens of one UTC day, one agent and one provider. */
export interface DailyCostRow {
  day: string;
  agent: string | null;
  provider: string | null;
  costUsd: number;
  tokensIn: number;
  tokensOut: number;
}

/**
 * All SQL of the dashboard: its login sessions (hashed ids, fixed expiry, revoked at logout) and the
 * read-only queries of its pages that no other store answers (recent failures, cost per day).
 */
export class DashboardStore {
  readonly #s;

  constructor(db: Db) {
    const p = (sql: string) => db.prepare(sql);
    this.#s = {
      insert: p(`INSERT INTO dashboard_sessions (id_hash, token_fp, created_at, expires_at, remote) VALUES (?, ?, ?, ?, ?)`),
      get: p(`SELECT id_hash AS idHash, token_fp AS tokenFp, created_at AS createdAt, expires_at AS expiresAt, remote FROM dashboard_sessions WHERE id_hash = ?`),
      remove: p(`DELETE FROM dashboard_sessions WHERE id_hash = ?`),
      expire: p(`DELETE FROM dashboard_sessions WHERE expires_at <= ?`),
      count: p(`SELECT COUNT(*) AS n FROM dashboard_sessions`),
      failures: p(`SELECT id, agent, status, error_message AS error, error_class AS errorClass, COALESCE(finished_at, updated_at) AS endedAt
        FROM tasks WHERE status IN ('failed', 'timed_out') ORDER BY COALESCE(finished_at, updated_at) DESC, seq DESC LIMIT ?`),
      // Money is counted by the day each run ended (as the daily budgets count it: migration 004).
      runCost: p(`SELECT strftime('%Y-%m-%d', r.ended_at / 1000, 'unixepoch') AS day, t.agent AS agent, COALESCE(r.provider, t.provider) AS provider,
          SUM(r.cost_usd) AS costUsd
        FROM task_runs r JOIN tasks t ON t.id = r.task_id
        WHERE r.ended_at IS NOT NULL AND r.ended_at >= ?
        GROUP BY day, t.agent, COALESCE(r.provider, t.provider)`),
      // Tokens are kept per task only: counted on the day the task ended.
      taskTokens: p(`SELECT strftime('%Y-%m-%d', t.finished_at / 1000, 'unixepoch') AS day, t.agent AS agent, t.provider AS provider,
          SUM(t.tokens_in) AS tokensIn, SUM(t.tokens_out) AS tokensOut
        FROM tasks t
        WHERE t.finished_at IS NOT NULL AND t.finished_at >= ? AND (t.tokens_in > 0 OR t.tokens_out > 0)
        GROUP BY day, t.agent, t.provider`),
    };
  }

  createSession(row: DashboardSessionRow): void {
    this.#s.insert.run(row.idHash, row.tokenFp, row.createdAt, row.expiresAt, row.remote);
  }

  session(idHash: string): DashboardSessionRow | undefined {
    return this.#s.get.get(idHash) as DashboardSessionRow | undefined;
  }

  /** Logout: the session no longer counts. True when there was one. */
  revokeSession(idHash: string): boolean {
    return this.#s.remove.run(idHash).changes > 0;
  }

  /** Delete sessions that expired by `now`; returns how many. */
  expireSessions(now: number): number {
    return this.#s.expire.run(now).changes;
  }

  sessionCount(): number {
    return (this.#s.count.get() as { n: number }).n;
  }

  /** The newest tasks that failed or timed out (cancelled is a person's choice, not a failure). */
  recentFailures(limit: number): FailureRow[] {
    return this.#s.failures.all(limit) as FailureRow[];
  }

  /**
   * Cost per UTC day, agent and provider since `since` (epoch ms): money from each run on the day it
   * ended, tokens from each task on the day it ended. Only days with data; sorted by day, agent, provider.
   */
  dailyCost(since: number): DailyCostRow[] {
    const rows = new Map<string, DailyCostRow>();
    const at = (day: string, agent: string | null, provider: string | null): DailyCostRow => {
      const key = JSON.stringify([day, agent, provider]);
      let r = rows.get(key);
      if (!r) rows.set(key, (r = { day, agent, provider, costUsd: 0, tokensIn: 0, tokensOut: 0 }));
      return r;
    };
    for (const c of this.#s.runCost.all(since) as Array<{ day: string; agent: string | null; provider: string | null; costUsd: number }>) {
      if (c.costUsd > 0) at(c.day, c.agent, c.provider).costUsd += c.costUsd;
    }
    for (const t of this.#s.taskTokens.all(since) as Array<{ day: string; agent: string | null; provider: string | null; tokensIn: number; tokensOut: number }>) {
      const r = at(t.day, t.agent, t.provider);
      r.tokensIn += t.tokensIn;
      r.tokensOut += t.tokensOut;
    }
    const key = (r: DailyCostRow) => `${r.day}\u0000${r.agent ?? ''}\u0000${r.provider ?? ''}`;
    return [...rows.values()].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  }
}
