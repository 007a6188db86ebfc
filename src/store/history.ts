import type { Db } from './db.js';

/**
 * All SQL of the operations commands that read or trim the task history (`tetora history`, `tetora data`,
 * the daily retention duty). Read-only queries work on a read-only connection.
 */

export type CostBy = 'agent' | 'provider' | 'day';

export interface CostRow {
  key: string;
  tasks: number;
  costUsd: number;
  tokensIn: number;
  tokensOut: number;
}

export interface HistoryRow {
  id: string;
  agent: string | null;
  provider: string | null;
  model: string | null;
  status: string;
  source: string;
  costUsd: number;
  tokensIn: number;
  tokensOut: number;
  runs: number;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  prompt: string;
  errorMessage: string | null;
}

const TERMINAL = `('succeeded', 'failed', 'cancelled', 'timed_out')`;

/**
 * A finished task whose events, output or runs nothing still needs: it ended before `@cutoff`, and no
 * workflow run in progress, no unfinished parent (delegation, routing) and no unfinished linked task
 * (delegate, handoff) can still read it.
 */
const PRUNABLE = `t.status IN ${TERMINAL} AND t.finished_at < @cutoff
  AND (t.workflow_run_id IS NULL OR EXISTS (SELECT 1 FROM workflow_runs w WHERE w.id = t.workflow_run_id AND w.finished_at IS NOT NULL))
  AND (t.parent_id IS NULL OR NOT EXISTS (SELECT 1 FROM tasks p WHERE p.id = t.parent_id AND p.status NOT IN ${TERMINAL}))
  AND NOT EXISTS (SELECT 1 FROM task_links l JOIN tasks o ON o.id = CASE WHEN l.to_task = t.id THEN l.from_task ELSE l.to_task END
                  WHERE (l.to_task = t.id OR l.from_task = t.id) AND o.status NOT IN ${TERMINAL})`;

export type PruneKind = 'events' | 'outputs' | 'runs';

export interface KindCount {
  /** Rows (events, runs) or outputs (tasks with one) in the store. */
  total: number;
  /** Of those, how many belong to prunable tasks older than the cutoff. */
  prunable: number;
  /** Tasks concerned. */
  tasks: number;
}

export class HistoryStore {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  /** Costs of the tasks that ended (or, unfinished, were created) at or after `since`, grouped. */
  cost(by: CostBy, since: number | undefined): CostRow[] {
    const key =
      by === 'agent'
        ? `COALESCE(agent, '(none)')`
        : by === 'provider'
          ? `COALESCE(provider, '(none)')`
          : `strftime('%Y-%m-%d', COALESCE(finished_at, created_at) / 1000, 'unixepoch', 'localtime')`;
    return this.#db
      .prepare(
        `SELECT ${key} AS key, COUNT(*) AS tasks, COALESCE(SUM(cost_usd), 0) AS costUsd, COALESCE(SUM(tokens_in), 0) AS tokensIn, COALESCE(SUM(tokens_out), 0) AS tokensOut
         FROM tasks WHERE COALESCE(finished_at, created_at) >= @since GROUP BY 1 ORDER BY 1`,
      )
      .all({ since: since ?? 0 }) as CostRow[];
  }

  /** Finished tasks, newest first. */
  list(q: { since?: number; agent?: string; status?: string; limit: number }): HistoryRow[] {
    return this.#db
      .prepare(
        `SELECT id, agent, provider, model, status, source, cost_usd AS costUsd, tokens_in AS tokensIn, tokens_out AS tokensOut, runs,
                created_at AS createdAt, started_at AS startedAt, finished_at AS finishedAt, substr(prompt, 1, 200) AS prompt, error_message AS errorMessage
         FROM tasks
         WHERE status IN ${TERMINAL} AND finished_at >= @since AND (@agent IS NULL OR agent = @agent) AND (@status IS NULL OR status = @status)
         ORDER BY finished_at DESC, seq DESC LIMIT @limit`,
      )
      .all({ since: q.since ?? 0, agent: q.agent ?? null, status: q.status ?? null, limit: q.limit }) as HistoryRow[];
  }

  /** What the store holds of `kind`, and how much of it is prunable at `cutoff` (epoch ms). */
  count(kind: PruneKind, cutoff: number): KindCount {
    const sql = {
      events: `SELECT (SELECT COUNT(*) FROM task_events) AS total,
                      (SELECT COUNT(*) FROM task_events e JOIN tasks t ON t.id = e.task_id WHERE ${PRUNABLE}) AS prunable,
                      (SELECT COUNT(*) FROM tasks t WHERE ${PRUNABLE} AND EXISTS (SELECT 1 FROM task_events e WHERE e.task_id = t.id)) AS tasks`,
      runs: `SELECT (SELECT COUNT(*) FROM task_runs) AS total,
                    (SELECT COUNT(*) FROM task_runs r JOIN tasks t ON t.id = r.task_id WHERE ${PRUNABLE} AND r.ended_at IS NOT NULL) AS prunable,
                    (SELECT COUNT(*) FROM tasks t WHERE ${PRUNABLE} AND EXISTS (SELECT 1 FROM task_runs r WHERE r.task_id = t.id AND r.ended_at IS NOT NULL)) AS tasks`,
      outputs: `SELECT (SELECT COUNT(*) FROM tasks WHERE output IS NOT NULL OR output_file IS NOT NULL) AS total,
                       (SELECT COUNT(*) FROM tasks t WHERE ${PRUNABLE} AND (t.output IS NOT NULL OR t.output_file IS NOT NULL)) AS prunable,
                       (SELECT COUNT(*) FROM tasks t WHERE ${PRUNABLE} AND (t.output IS NOT NULL OR t.output_file IS NOT NULL)) AS tasks`,
    }[kind];
    return this.#db.prepare(sql).get({ cutoff }) as KindCount;
  }

  /**
   * Remove `kind` of the prunable tasks older than `cutoff`, at most `batch` tasks per transaction (a
   * daemon's writers wait for one batch at most). Returns the rows removed, the tasks concerned and the
   * files the rows referred to (output spool files, run spool folders) for the caller to delete.
   */
  prune(kind: PruneKind, cutoff: number, batch = 200): { rows: number; tasks: number; files: string[] } {
    const pick = {
      events: `SELECT t.id FROM tasks t WHERE ${PRUNABLE} AND EXISTS (SELECT 1 FROM task_events e WHERE e.task_id = t.id) LIMIT @batch`,
      runs: `SELECT t.id FROM tasks t WHERE ${PRUNABLE} AND EXISTS (SELECT 1 FROM task_runs r WHERE r.task_id = t.id AND r.ended_at IS NOT NULL) LIMIT @batch`,
      outputs: `SELECT t.id FROM tasks t WHERE ${PRUNABLE} AND (t.output IS NOT NULL OR t.output_file IS NOT NULL) LIMIT @batch`,
    }[kind];
    const ids = this.#db.prepare(pick);
    const delEvents = this.#db.prepare(`DELETE FROM task_events WHERE task_id = ?`);
    const runDirs = this.#db.prepare(
      `SELECT r.spool_dir AS dir, t.output_file AS outputFile FROM task_runs r JOIN tasks t ON t.id = r.task_id WHERE r.task_id = ? AND r.ended_at IS NOT NULL AND r.spool_dir IS NOT NULL`,
    );
    const delRuns = this.#db.prepare(`DELETE FROM task_runs WHERE task_id = ? AND ended_at IS NOT NULL`);
    const outFile = this.#db.prepare(`SELECT output_file AS f FROM tasks WHERE id = ?`);
    const clearOut = this.#db.prepare(`UPDATE tasks SET output = NULL, output_file = NULL, output_bytes = NULL WHERE id = ?`);
    const total = { rows: 0, tasks: 0, files: [] as string[] };
    const step = this.#db.transaction(() => {
      const list = (ids.all({ cutoff, batch }) as Array<{ id: string }>).map((r) => r.id);
      for (const id of list) {
        if (kind === 'events') total.rows += delEvents.run(id).changes;
        else if (kind === 'runs') {
          for (const r of runDirs.all(id) as Array<{ dir: string; outputFile: string | null }>) {
            // A spool folder that still holds the task's whole output stays (outputs have their own setting).
            if (!r.outputFile || !r.outputFile.startsWith(r.dir)) total.files.push(r.dir);
          }
          total.rows += delRuns.run(id).changes;
        } else {
          const f = (outFile.get(id) as { f: string | null } | undefined)?.f;
          if (f) total.files.push(f);
          total.rows += clearOut.run(id).changes;
        }
      }
      total.tasks += list.length;
      return list.length;
    });
    while (step() === batch) {
      /* next batch */
    }
    return total;
  }

  /** A value of the `meta` table (e.g. when retention last ran). */
  meta(key: string): string | undefined {
    return (this.#db.prepare(`SELECT value FROM meta WHERE key = ?`).get(key) as { value: string } | undefined)?.value;
  }

  setMeta(key: string, value: string): void {
    this.#db.prepare(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`).run(key, value);
  }

  /** Compare-and-set of a `meta` value: true when it was `expected` (undefined: absent) and is now `value`. */
  swapMeta(key: string, expected: string | undefined, value: string): boolean {
    if (expected === undefined) return this.#db.prepare(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`).run(key, value).changes === 1;
    return this.#db.prepare(`UPDATE meta SET value = ? WHERE key = ? AND value = ?`).run(value, key, expected).changes === 1;
  }
}

/** Counts of the whole store for `tetora data status`. */
export function storeCounts(db: Db): { tasks: number; finished: number; unfinished: number; pageSize: number; pages: number; freePages: number } {
  const t = db.prepare(`SELECT COUNT(*) AS tasks, COALESCE(SUM(status IN ${TERMINAL}), 0) AS finished FROM tasks`).get() as { tasks: number; finished: number };
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const pages = db.pragma('page_count', { simple: true }) as number;
  const freePages = db.pragma('freelist_count', { simple: true }) as number;
  return { tasks: t.tasks, finished: t.finished, unfinished: t.tasks - t.finished, pageSize, pages, freePages };
}
