import type { Lease, WorkspaceTask, WorktreeSummary } from '../engine/workspace.js';
import { messageOf, TetoraError } from '../errors.js';
import type { WorktreeRow } from '../store/worktrees.js';
import type { Made } from './create.js';
import { resolveCommit } from './git.js';
import { commitsAhead, dirtyFiles } from './inspect.js';
import { removeLockFile, writeLockFile } from './lock.js';
import type { ManagerContext } from './manager.js';
import { pruneOne } from './prune.js';

/** The lease the runner holds while a task runs in its worktree. */
export function makeLease(ctx: ManagerContext, task: WorkspaceTask, made: Made, workdir: string): Lease {
  const { row, version } = made;
  let released: Promise<WorktreeSummary> | undefined;
  let lost = false;
  return {
    workdir,
    heartbeat(): void {
      if (released || lost) return;
      try {
        const at = ctx.now();
        if (!ctx.store.heartbeat(row.taskId, version, at)) {
          lost = true;
          ctx.warn(`the lease on worktree ${row.path} (task ${row.taskId}) was released elsewhere (boot reconcile of another process?); heartbeats stop`);
          return;
        }
        writeLockFile(row.path, { ...made.lease, heartbeatAt: at, version });
      } catch (err) {
        ctx.warn(`heartbeat of worktree ${row.path} (task ${row.taskId}) failed: ${messageOf(err)}`);
      }
    },
    release(): Promise<WorktreeSummary> {
      released ??= release(ctx, task, row, version);
      return released;
    },
  };
}

async function release(ctx: ManagerContext, task: WorkspaceTask, row: WorktreeRow, version: number): Promise<WorktreeSummary> {
  let state: { commits: number; dirty: boolean } | undefined;
  let failure: unknown;
  try {
    state = await summarise(row);
  } catch (err) {
    failure = err;
  } finally {
    removeLockFile(row.path, { taskId: row.taskId, version });
    ctx.store.clearLease(row.taskId, version);
  }
  if (!state) {
    throw new TetoraError(
      'TET_ERR_WORKTREE',
      `the run of task ${task.id} ended but its worktree ${row.path} could not be read (${messageOf(failure)}); its lock was released. Check the folder with \`tetora worktree show ${task.id}\`.`,
      { taskId: task.id, path: row.path },
      { cause: failure },
    );
  }
  let removed = false;
  if (task.cleanup === 'remove-if-integrated' && !state.dirty) {
    const entry = await ctx.queue.run(row.gitDir, async () => {
      const fresh = ctx.store.get(row.taskId);
      return fresh ? pruneOne(fresh, { store: ctx.store, home: ctx.home, liveness: ctx.liveness }, false) : undefined;
    });
    removed = entry?.action === 'remove' && entry.applied;
    if (entry?.error) ctx.warn(`cleanup of worktree ${row.path} (task ${row.taskId}) failed: ${entry.error}`);
  }
  return { path: row.path, branch: row.branch, baseBranch: row.baseBranch, commits: state.commits, dirty: state.dirty, removed };
}

/** Commits on the worktree's HEAD that its base lacks, and whether it has uncommitted or untracked files. */
async function summarise(row: WorktreeRow): Promise<{ commits: number; dirty: boolean }> {
  const dirty = (await dirtyFiles(row.path)).length > 0;
  const head = await resolveCommit(row.path, 'HEAD');
  const base = (await resolveCommit(row.gitDir, row.baseBranch)) ?? row.baseCommit;
  const commits = head ? await commitsAhead(row.gitDir, base, head) : 0;
  return { commits, dirty };
}
