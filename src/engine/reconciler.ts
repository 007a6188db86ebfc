import type { TaskStore } from '../store/tasks.js';
import { isTaskGroup, killGroup, terminateGroup } from '../util/procgroup.js';
import type { Ledger } from './ledger.js';
import type { Logger } from './logger.js';

export interface ReconcileReport {
  interrupted: string[];
  requeued: string[];
  failed: string[];
  killedGroups: number[];
}

/**
 * Boot reconciliation: no task stays `running` with nobody running it. Tasks left running by a previous
 * instance become `interrupted` (their process groups are killed first, so nothing runs twice at once),
 * then go back to `queued` — keeping the provider session id so the next attempt can continue it — or
 * fail with the reason once their attempts are spent.
 */
export async function reconcile(store: TaskStore, ledger: Ledger, instanceId: string, log: Logger, graceMs = 2000): Promise<ReconcileReport> {
  const report: ReconcileReport = { interrupted: [], requeued: [], failed: [], killedGroups: [] };
  for (const t of store.withStatus('running')) {
    if (t.instanceId === instanceId) continue;
    // Kill only a group whose processes carry this task's marker: a recycled pgid is someone else's.
    for (const run of store.runs(t.id)) {
      const pgid = run.pgid;
      if (pgid && isTaskGroup(pgid, t.id)) {
        await terminateGroup(pgid, graceMs);
        killGroup(pgid, 'SIGKILL');
        report.killedGroups.push(pgid);
      }
    }
    const reason = `the daemon running it (instance ${t.instanceId ?? 'unknown'}) stopped before the task ended`;
    if (ledger.move(t, 'running', 'interrupted', {}, { reason }, { run: t.runs, outcome: 'interrupted', message: reason })) {
      report.interrupted.push(t.id);
      log.warn({ taskId: t.id }, `task interrupted: ${reason}`);
    }
  }
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
  return report;
}
