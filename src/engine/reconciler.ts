import type { TaskRow, TaskRun, TaskStore } from '../store/tasks.js';
import { isTaskGroup, killGroup, killMarked, launcherAlive, runMarker, terminateGroup } from '../util/procgroup.js';
import { readExitStatus, removeSpool, spoolStarted } from '../util/spool.js';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Ledger } from './ledger.js';
import type { Logger } from './logger.js';

export interface ReconcileReport {
  /** Runs an earlier daemon started that this one re-attaches to (still going, or ended while no daemon watched). */
  adopted: string[];
  interrupted: string[];
  requeued: string[];
  failed: string[];
  killedGroups: number[];
  /** Processes of this store's runs killed by the boot sweep (marked, but no run of theirs goes on). */
  sweptPids: number[];
}

export interface ReconcileOptions {
  /** This store's id (the first part of every run marker). */
  homeId: string;
  /** This home's spool root: a run spooled elsewhere (the original of a copied home) is never adopted. */
  spoolRoot: string;
  now: number;
  /** A task interrupted by this many daemon crashes fails instead of being queued again. */
  maxInterruptions: number;
  /** @default 2000 */
  graceMs?: number;
}

/** Can this run be re-attached to: its agent was started (`started` in its spool) and either still runs or left its exit status? */
export function adoptable(task: Pick<TaskRow, 'id' | 'runs'>, run: TaskRun | undefined, homeId: string, spoolRoot: string): run is TaskRun & { pid: number; spoolDir: string } {
  if (!run || run.pid === null || run.spoolDir === null || run.endedAt !== null) return false;
  if (!run.spoolDir.startsWith(`${spoolRoot}/`)) return false;
  if (!spoolStarted(run.spoolDir)) return false;
  return readExitStatus(run.spoolDir) !== undefined || launcherAlive(run.pid, runMarker(homeId, task.id, run.run));
}

/**
 * Boot reconciliation: no task stays `running` with nobody running it, and nothing runs twice.
 * - A task `running` under another (dead) instance whose run can be re-attached to is adopted by this
 *   instance: the caller follows it to its end. No attempt is used, no second copy starts.
 * - Any other such task is `interrupted` (its old process groups killed first) and goes back to the queue
 *   — keeping its provider session — without using an attempt, counted as an interruption; once it has
 *   been interrupted `maxInterruptions` times it fails with the reason (a task that crashes the daemon
 *   must not loop).
 * - Then every process of this store's runs (by their marker) whose run is not adopted is killed, whatever
 *   its task's status: nothing a task started outlives it.
 * - Tasks left `interrupted` by a drain go back to the queue.
 */
export async function reconcile(store: TaskStore, ledger: Ledger, instanceId: string, log: Logger, opts: ReconcileOptions): Promise<ReconcileReport & { adopt: Array<{ task: TaskRow; run: TaskRun }> }> {
  const graceMs = opts.graceMs ?? 2000;
  const report: ReconcileReport = { adopted: [], interrupted: [], requeued: [], failed: [], killedGroups: [], sweptPids: [] };
  const adopt: Array<{ task: TaskRow; run: TaskRun }> = [];
  const keep = new Set<string>();
  for (const t of store.withStatus('running')) {
    if (t.instanceId === instanceId) continue;
    const run = store.run(t.id, t.runs);
    if (adoptable(t, run, opts.homeId, opts.spoolRoot) && store.adoptRun(t.id, t.runs, instanceId, opts.now)) {
      keep.add(runMarker(opts.homeId, t.id, run.run));
      adopt.push({ task: store.get(t.id) as TaskRow, run });
      report.adopted.push(t.id);
      ledger.note(t.id, 'adopted', { run: run.run, fromInstance: t.instanceId, pid: run.pid, ended: readExitStatus(run.spoolDir) !== undefined });
      log.info({ taskId: t.id, run: run.run, pid: run.pid }, 're-attached to a run an earlier daemon started');
      continue;
    }
    // Runs recorded before runs were spooled (no spool folder, no run marker): kill only a group whose
    // processes carry this task's id. Spooled runs are found by their run marker in the sweep below.
    for (const r of store.runs(t.id)) {
      if (r.spoolDir === null && r.pgid && isTaskGroup(r.pgid, t.id)) {
        await terminateGroup(r.pgid, graceMs);
        killGroup(r.pgid, 'SIGKILL');
        report.killedGroups.push(r.pgid);
      }
    }
    const n = t.interruptions + 1;
    const why = `the daemon running it (instance ${t.instanceId ?? 'unknown'}) stopped before the task ended and its run cannot be re-attached to`;
    if (n >= opts.maxInterruptions) {
      const message = `interrupted ${n} times by daemon crashes or restarts (retry.maxInterruptions is ${opts.maxInterruptions}); the task may be crashing the daemon: check the daemon log, then dispatch it again`;
      if (ledger.move(t, 'running', 'failed', { interruptions: n, errorClass: 'interrupted', errorMessage: message }, { message, interruptions: n }, { run: t.runs, outcome: 'interrupted', message: why })) {
        report.failed.push(t.id);
        log.error({ taskId: t.id }, message);
      }
      continue;
    }
    // The interruption uses no attempt (the claim took one: it is given back).
    if (ledger.move(t, 'running', 'interrupted', { interruptions: n, attempt: Math.max(0, t.attempt - 1) }, { reason: why, interruptions: n }, { run: t.runs, outcome: 'interrupted', message: why })) {
      report.interrupted.push(t.id);
      log.warn({ taskId: t.id, interruptions: n }, `task interrupted: ${why}`);
    }
  }
  const home = `${opts.homeId}/`;
  report.sweptPids = await killMarked((m) => m.startsWith(home) && !keep.has(m), graceMs);
  if (report.sweptPids.length) log.warn({ pids: report.sweptPids }, 'killed processes of runs that no longer run');
  // Spools nothing will read any more (their processes are gone now): runs given up here, and runs whose
  // result was recorded by a daemon that died before it removed their spool.
  collectSpools(store, opts.spoolRoot, keep, opts.homeId);
  for (const t of store.withStatus('interrupted')) {
    if (t.attempt < t.maxAttempts) {
      if (ledger.move(t, 'interrupted', 'queued', {}, { reason: 'requeued after an interruption', attempt: t.attempt, providerSessionId: t.providerSessionId })) {
        report.requeued.push(t.id);
      }
    } else {
      const message = `interrupted while running and all ${t.maxAttempts} attempts are spent; dispatch it again to retry`;
      if (ledger.move(t, 'interrupted', 'failed', { errorClass: 'interrupted', errorMessage: message }, { message })) report.failed.push(t.id);
    }
  }
  return { ...report, adopt };
}

/**
 * Remove every run spool under `root` that is neither a run adopted now (`keep`, by marker) nor the file
 * holding a task's output; then task folders left empty.
 */
function collectSpools(store: TaskStore, root: string, keep: ReadonlySet<string>, homeId: string): void {
  let tasks: string[];
  try {
    tasks = readdirSync(root);
  } catch {
    return;
  }
  for (const taskId of tasks) {
    const task = store.get(taskId);
    let runs: string[];
    try {
      runs = readdirSync(join(root, taskId));
    } catch {
      continue;
    }
    for (const run of runs) {
      const dir = join(root, taskId, run);
      if (keep.has(runMarker(homeId, taskId, Number(run)))) continue;
      if (task?.outputFile?.startsWith(`${dir}/`)) continue;
      removeSpool(dir);
    }
    if (runs.length === 0) rmSync(join(root, taskId), { recursive: true, force: true });
  }
}
