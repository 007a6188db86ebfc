import type { ResolvedConfig } from '../config/types.js';
import type { Logger } from '../engine/logger.js';
import type { Lease, WorkspaceManager, WorkspaceTask } from '../engine/workspace.js';
import { openDb } from '../store/db.js';
import { WorktreeStore } from '../store/worktrees.js';
import { GitWorktreeManager, type PruneReport } from '../worktrees/index.js';

/** The daemon's worktree manager, with the scheduled prune it runs; `close()` stops the schedule. */
export interface DaemonWorkspaces extends WorkspaceManager {
  readonly manager: GitWorktreeManager;
  /** Stop the prune schedule, wait for a prune in progress, close the store connection. */
  close(): Promise<void>;
}

/** Log what a scheduled prune did: removals at info, what it kept (and why) at debug. */
export function logPruneReport(log: Logger, r: PruneReport): void {
  for (const e of r.entries) {
    const fields = { taskId: e.taskId, path: e.path, branch: e.branch, action: e.action, reasons: e.reasons, ...(e.error ? { err: e.error } : {}) };
    if (e.error) log.warn(fields, 'worktree prune could not finish one worktree');
    else if (e.applied) log.info({ ...fields, branchDeleted: e.branchDeleted }, e.action === 'remove' ? 'worktree pruned' : "dropped git's record of a deleted worktree folder");
    else log.debug(fields, 'worktree kept by prune');
  }
}

/**
 * The worktree manager the daemon gives its engine: its own connection to the store, worktrees under
 * `<home>/runtime/worktrees`, and a prune every `worktreePruneInterval` (0 turns the schedule off).
 */
export function workspaceFactory(config: ResolvedConfig, log: Logger): DaemonWorkspaces {
  const db = openDb(config.dbPath);
  const manager = new GitWorktreeManager({
    store: new WorktreeStore(db),
    home: config.home,
    onWarning: (message) => log.warn({ component: 'worktrees' }, message),
  });
  const stopTimer = config.worktreePruneIntervalMs > 0 ? manager.startPruneTimer(config.worktreePruneIntervalMs, (r) => logPruneReport(log, r)) : () => {};
  let closed: Promise<void> | undefined;
  return {
    manager,
    acquire: (task: WorkspaceTask, instanceId: string): Promise<Lease> => manager.acquire(task, instanceId),
    reconcile: (running: ReadonlySet<string>): Promise<void> => manager.reconcile(running),
    close(): Promise<void> {
      closed ??= (async () => {
        stopTimer();
        await manager.idle();
        db.close();
      })();
      return closed;
    },
  };
}
