import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { messageOf } from '../errors.js';
import type { WorktreeRow } from '../store/worktrees.js';
import { branchExists, gitOk, listGitWorktrees } from './git.js';
import { canonicalPath, findEntry } from './inspect.js';
import { readLockFile, removeLockFile } from './lock.js';
import type { ManagerContext } from './manager.js';
import { worktreesRoot } from './naming.js';

/**
 * At boot: release the leases (row and file) of tasks that are no longer running, settle rows left
 * `removing` by a prune that crashed, and mark rows whose folder is gone (dropping git's record of it).
 * A problem with one row is reported through `warn` and never stops the others.
 */
export async function reconcileWorktrees(ctx: ManagerContext, running: ReadonlySet<string>): Promise<void> {
  const rows = ctx.store.list(['active', 'removing', 'missing']);
  for (const row of rows) {
    try {
      await ctx.queue.run(row.gitDir, () => reconcileRow(ctx, row, running));
    } catch (err) {
      ctx.warn(`reconciling the worktree ${row.path} of task ${row.taskId} failed: ${messageOf(err)}`);
    }
  }
  const known = new Set(ctx.store.list().map((r) => canonicalPath(r.path)));
  const root = worktreesRoot(ctx.home);
  if (!existsSync(root)) return;
  for (const name of readdirSync(root)) {
    const path = join(root, name);
    if (known.has(canonicalPath(path))) continue;
    const file = readLockFile(path);
    if (file === 'unreadable' || (file && !running.has(file.taskId))) removeLockFile(path);
  }
}

async function reconcileRow(ctx: ManagerContext, row: WorktreeRow, running: ReadonlySet<string>): Promise<void> {
  if (row.lease && !running.has(row.lease.taskId)) ctx.store.clearLease(row.taskId, row.lockVersion);
  const file = existsSync(row.path) ? readLockFile(row.path) : undefined;
  if (file === 'unreadable' || (file && !running.has(file.taskId))) removeLockFile(row.path);

  if (existsSync(row.path)) {
    if (row.status !== 'active') ctx.store.setStatus(row.taskId, 'active', null);
    return;
  }
  if (!existsSync(row.gitDir)) {
    ctx.store.setStatus(row.taskId, 'missing', `the folder and the repository (${row.gitDir}) are gone`);
    return;
  }
  if (findEntry(await listGitWorktrees(row.gitDir), row.path)) {
    await gitOk(['worktree', 'remove', row.path], row.gitDir, `dropping git's record of the deleted folder ${row.path}`);
  }
  if (await branchExists(row.gitDir, row.branch)) {
    ctx.store.setStatus(row.taskId, 'missing', `folder was deleted by hand; branch ${row.branch} kept (prune deletes it once integrated)`);
  } else {
    ctx.store.setStatus(row.taskId, 'removed', 'folder and branch were already gone');
  }
}
