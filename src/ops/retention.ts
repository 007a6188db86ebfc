import { rmSync } from 'node:fs';
import { relative, isAbsolute } from 'node:path';
import type { ResolvedConfig } from '../config/types.js';
import { DutyKeeper } from '../duties/keeper.js';
import type { Engine } from '../engine/engine.js';
import type { Logger } from '../engine/logger.js';
import { messageOf } from '../errors.js';
import type { Db } from '../store/db.js';
import { HistoryStore, type KindCount, type PruneKind } from '../store/history.js';
import { LeaseStore } from '../store/leases.js';
import { removeSpool } from '../util/spool.js';

/**
 * Retention (config `retention`, days): finished tasks lose their events, outputs and runs once they ended
 * longer ago than the setting; the task rows stay (they are the cost history). Never touched: unfinished
 * tasks, tasks of a workflow run in progress, tasks an unfinished parent or linked task may still read
 * (see PRUNABLE in src/store/history.ts).
 */

const DAY = 86_400_000;
export const KINDS: readonly PruneKind[] = ['events', 'outputs', 'runs'];

export interface KindPlan {
  kind: PruneKind;
  /** 0: kept for ever. */
  days: number;
  /** Epoch ms: what ended before it goes; undefined when kept for ever. */
  cutoff?: number;
}

/** Each kind's setting and cutoff at `now`. Pure. */
export function retentionPlan(r: ResolvedConfig['retention'], now: number): KindPlan[] {
  const days = { events: r.eventsDays, outputs: r.outputsDays, runs: r.runsDays };
  return KINDS.map((kind) => (days[kind] > 0 ? { kind, days: days[kind], cutoff: now - days[kind] * DAY } : { kind, days: 0 }));
}

export interface KindReport extends KindPlan {
  /** Rows removed (events, runs) or outputs cleared; with dryRun, what would be. */
  removed: number;
  tasks: number;
  files: number;
  /** What the store holds of this kind (before the prune). */
  total: number;
}

export interface PruneReport {
  dryRun: boolean;
  at: number;
  kinds: KindReport[];
}

/** Is `p` inside `root`? (Files the store names are removed only under the home.) Pure. */
export function inside(root: string, p: string): boolean {
  const rel = relative(root, p);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/** Apply (or, with dryRun, count) the retention settings on the store `db`. */
export function pruneHistory(db: Db, config: Pick<ResolvedConfig, 'retention' | 'home'>, opts: { now: number; dryRun: boolean }): PruneReport {
  const store = new HistoryStore(db);
  const kinds = retentionPlan(config.retention, opts.now).map((plan): KindReport => {
    const count: KindCount = store.count(plan.kind, plan.cutoff ?? -1);
    if (plan.cutoff === undefined) return { ...plan, removed: 0, tasks: 0, files: 0, total: count.total };
    if (opts.dryRun) return { ...plan, removed: count.prunable, tasks: count.tasks, files: 0, total: count.total };
    const r = store.prune(plan.kind, plan.cutoff);
    let files = 0;
    for (const f of r.files) {
      if (!inside(config.home, f)) continue;
      try {
        if (plan.kind === 'runs') removeSpool(f);
        else rmSync(f, { force: true });
        files++;
      } catch {
        /* gone already, or not ours to remove: the row no longer refers to it */
      }
    }
    return { ...plan, removed: r.rows, tasks: r.tasks, files, total: count.total };
  });
  return { dryRun: opts.dryRun, at: opts.now, kinds };
}

/** One line per kind: what was (or would be) removed. Pure. */
export function reportLines(r: PruneReport): string[] {
  const noun = { events: 'events', outputs: 'outputs', runs: 'run records' } as const;
  return r.kinds.map((k) => {
    if (k.cutoff === undefined) return `${k.kind.padEnd(8)} kept for ever (retention.${k.kind === 'outputs' ? 'outputs' : `${k.kind} or retention.history`} is not set)`;
    const verb = r.dryRun ? 'would remove' : 'removed';
    return `${k.kind.padEnd(8)} ${verb} ${k.removed} ${noun[k.kind]} of ${k.tasks} finished task(s) that ended before ${new Date(k.cutoff).toISOString()} (${k.days} days)${k.files ? `, ${k.files} file(s)` : ''}; ${k.total} in the store before`;
  });
}

export const RETENTION_DUTY = 'retention:prune';
const LAST_RUN = 'retention_last_run';

export interface RetentionDuty {
  stop(): Promise<void>;
}

/**
 * The daily cleanup: a leased duty (one daemon among those sharing the store does it). While held, it
 * checks every `checkEveryMs` (default an hour) whether the last cleanup (`meta.retention_last_run`,
 * shared by every daemon) is a day old, claims the next one with a compare-and-set and prunes.
 */
export function startRetention(opts: { engine: Engine; config: () => ResolvedConfig; log: Logger; checkEveryMs?: number; now?: () => number }): RetentionDuty {
  const now = opts.now ?? Date.now;
  const every = opts.checkEveryMs ?? 3_600_000;
  const history = new HistoryStore(opts.engine.db);
  let timer: NodeJS.Timeout | undefined;
  const check = () => {
    const config = opts.config();
    if (retentionPlan(config.retention, 0).every((k) => k.cutoff === undefined)) return;
    try {
      const t = now();
      const last = history.meta(LAST_RUN);
      if (last !== undefined && t - Number(last) < DAY) return;
      if (!history.swapMeta(LAST_RUN, last, String(t))) return;
      const report = pruneHistory(opts.engine.db, config, { now: t, dryRun: false });
      const removed = Object.fromEntries(report.kinds.map((k) => [k.kind, k.removed]));
      opts.log.info({ removed, tasks: Object.fromEntries(report.kinds.map((k) => [k.kind, k.tasks])) }, 'retention: removed what finished tasks no longer need');
    } catch (err) {
      opts.log.warn({ err: messageOf(err) }, 'retention: the cleanup failed; it is tried again within the hour');
    }
  };
  const keeper = new DutyKeeper({
    duty: RETENTION_DUTY,
    owner: opts.engine.instanceId,
    leases: new LeaseStore(opts.engine.db),
    log: opts.log,
    onGain: () => {
      check();
      timer = setInterval(check, every);
      timer.unref();
    },
    onLose: () => clearInterval(timer),
  });
  keeper.start();
  return { stop: () => keeper.stop() };
}
