import { existsSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkspaceTask } from '../engine/workspace.js';
import { TetoraError } from '../errors.js';
import type { StoredLease, WorktreeRow } from '../store/worktrees.js';
import { ensureLockExcluded } from './exclude.js';
import { branchExists, gitOk, listGitWorktrees, resolveCommit, type RepoInfo } from './git.js';
import { checkIndexLocks } from './indexlock.js';
import { canonicalPath, findEntry, lockVerdict } from './inspect.js';
import { writeLockFile } from './lock.js';
import type { ManagerContext } from './manager.js';
import { alternativeBranch, branchName, formatAge, worktreeDir } from './naming.js';

/** Making (or, for a retry of the same task, reusing) a task's worktree and leasing it. Runs inside the repository's queue. */

export interface Made {
  row: WorktreeRow;
  version: number;
  lease: StoredLease;
}

export async function createOrReuse(ctx: ManagerContext, task: WorkspaceTask, instanceId: string, repo: RepoInfo): Promise<Made> {
  const path = worktreeDir(ctx.home, task.id);
  const lease: StoredLease = { taskId: task.id, instanceId, pid: ctx.pid, host: ctx.host, heartbeatAt: ctx.now() };
  for (let attempt = 0; attempt < 5; attempt++) {
    const { row, staleRemoving } = await waitWhileRemoving(ctx, task.id);
    if (!row) {
      const base = await resolveBase(repo, task.baseBranch);
      const branch = await freeBranch(repo.commonDir, branchName(task.id, task.prompt, task.agent));
      const fields = { taskId: task.id, agent: task.agent ?? null, repo: repo.mainWorktree, gitDir: repo.commonDir, path, subdir: repo.prefix, branch, baseBranch: base.name, baseCommit: base.commit };
      const version = ctx.store.insertLeased(fields, lease);
      try {
        await materialise(ctx, { path, commonDir: repo.commonDir, repo: repo.mainWorktree, branch, baseCommit: base.commit });
      } catch (err) {
        ctx.store.deleteUnmade(task.id, version);
        throw err;
      }
      return finish(ctx, task.id, version, lease, repo.commonDir);
    }
    if (canonicalPath(row.gitDir) !== canonicalPath(repo.commonDir)) {
      throw new TetoraError(
        'TET_ERR_WORKTREE',
        `task ${task.id} already has a worktree of another repository (${row.repo}, at ${row.path}); its retries must use that repository. Set the task's workdir back to ${row.repo}, or submit a new task.`,
        { taskId: task.id, repo: row.repo },
      );
    }
    const held = lockVerdict(row.lease, row.path, ctx.liveness);
    const takingOver = held.state === 'live' && task.takeOverFrom !== undefined && held.lease.taskId === task.id && held.lease.instanceId === task.takeOverFrom;
    // A fresh heartbeat keeps a lease live for prune (conservative), but for this same task, the holder's
    // process being gone on this host with no agent of the task running means its daemon died (SIGKILL
    // after the lease, before the agent started): the re-queued task takes its worktree back at once.
    const orphaned =
      held.state === 'live' &&
      held.lease.taskId === task.id &&
      (!held.lease.host || held.lease.host === ctx.host) &&
      held.lease.pid > 0 &&
      held.lease.pid !== ctx.pid &&
      !ctx.liveness.pidAlive(held.lease.pid) &&
      !(ctx.liveness.agentAlive?.(task.id) ?? false);
    if (held.state === 'live' && !takingOver && !orphaned && (held.lease.pid !== ctx.pid || (held.lease.host && held.lease.host !== ctx.host))) {
      throw new TetoraError(
        'TET_ERR_WORKTREE_LOCKED',
        `the worktree ${row.path} of task ${task.id} is held by another live session (${held.detail}): another Tetora process runs this task. Stop that process, or wait until its heartbeat is older than ${formatAge(ctx.liveness.windowMs)}, then retry.`,
        { taskId: task.id, path: row.path },
      );
    }
    const keepBranch = await branchExists(row.gitDir, row.branch);
    const baseCommit = keepBranch ? row.baseCommit : (await resolveBase(repo, row.baseBranch)).commit;
    const version = ctx.store.takeLease(task.id, row.lockVersion, lease, baseCommit, staleRemoving);
    if (version === undefined) continue;
    try {
      await materialise(ctx, { path: row.path, commonDir: row.gitDir, repo: row.repo, branch: row.branch, baseCommit });
    } catch (err) {
      ctx.store.clearLease(task.id, version);
      if (!existsSync(row.path)) ctx.store.setStatus(task.id, 'missing', `re-creating it failed: ${(err as Error).message}`);
      throw err;
    }
    return finish(ctx, task.id, version, lease, row.gitDir);
  }
  throw new TetoraError('TET_ERR_WORKTREE', `could not lease the worktree of task ${task.id}: its row kept changing under us (another process?). Retry the task.`, { taskId: task.id });
}

function finish(ctx: ManagerContext, taskId: string, version: number, lease: StoredLease, commonDir: string): Made {
  const row = ctx.store.get(taskId) as WorktreeRow;
  // A prune in another process may have removed the folder while it was being made: never lease (and
  // re-create as an empty folder) something that is no longer a worktree.
  if (!existsSync(join(row.path, '.git'))) {
    ctx.store.clearLease(taskId, version);
    throw new TetoraError('TET_ERR_WORKTREE', `the worktree ${row.path} of task ${taskId} disappeared while it was being created (a prune running at the same time?); retry the task.`, { taskId, path: row.path });
  }
  ensureLockExcluded(commonDir);
  writeLockFile(row.path, { ...lease, version });
  return { row, version, lease };
}

/** A prune in another process may be removing this task's worktree right now: wait for it (bounded). */
async function waitWhileRemoving(ctx: ManagerContext, taskId: string): Promise<{ row: WorktreeRow | undefined; staleRemoving: boolean }> {
  let row = ctx.store.get(taskId);
  let waited = 0;
  while (row?.status === 'removing' && waited < ctx.removingWaitMs) {
    await ctx.sleep(200);
    waited += 200;
    row = ctx.store.get(taskId);
  }
  if (row?.status !== 'removing') return { row, staleRemoving: false };
  if (ctx.now() - row.updatedAt > ctx.removingWaitMs) return { row, staleRemoving: true };
  throw new TetoraError(
    'TET_ERR_WORKTREE_LOCKED',
    `a prune is removing the worktree ${row.path} of task ${taskId} right now; retry the task in a moment.`,
    { taskId, path: row.path },
  );
}

async function resolveBase(repo: RepoInfo, requested: string | undefined): Promise<{ name: string; commit: string }> {
  if (requested === undefined) return { name: repo.headBranch ?? repo.head, commit: repo.head };
  const commit = await resolveCommit(repo.commonDir, requested);
  if (!commit) {
    throw new TetoraError(
      'TET_ERR_WORKTREE',
      `base branch "${requested}" does not exist in ${repo.mainWorktree}: create it (\`git branch ${requested}\`) or fix baseBranch in the agent's config.`,
      { repo: repo.mainWorktree, baseBranch: requested },
    );
  }
  return { name: requested, commit };
}

/** The branch name, or `<name>-2`, `-3`, … when something else already uses it. */
async function freeBranch(commonDir: string, name: string): Promise<string> {
  if (!(await branchExists(commonDir, name))) return name;
  for (let n = 2; n < 100; n++) {
    const alt = alternativeBranch(name, n);
    if (!(await branchExists(commonDir, alt))) return alt;
  }
  throw new TetoraError('TET_ERR_WORKTREE', `branches ${name} to ${name}-99 all exist in ${commonDir}; delete old ones with \`git branch -D\` or \`tetora worktree prune\`.`, { branch: name });
}

interface Want {
  path: string;
  commonDir: string;
  repo: string;
  branch: string;
  baseCommit: string;
}

/** Make the folder a worktree on the branch, reusing one that is already there. */
async function materialise(ctx: ManagerContext, w: Want): Promise<void> {
  const entry = findEntry(await listGitWorktrees(w.commonDir), w.path);
  if (existsSync(w.path)) {
    if (entry) {
      const own = (await gitOk(['rev-parse', '--absolute-git-dir'], w.path, `reading the git dir of worktree ${w.path}`)).trim();
      await checkIndexLocks([own], w.path, { now: ctx.now, staleMs: ctx.indexLockStaleMs, sleep: ctx.sleep });
      return;
    }
    if (readdirSync(w.path).length > 0) {
      throw new TetoraError(
        'TET_ERR_WORKTREE',
        `folder ${w.path} exists but is not a git worktree of ${w.repo}; Tetora will not touch it. Move it away or delete it, then retry the task.`,
        { path: w.path },
      );
    }
    rmdirSync(w.path);
  } else if (entry) {
    await gitOk(['worktree', 'remove', w.path], w.commonDir, `dropping git's record of the deleted folder ${w.path}`);
  }
  const args = (await branchExists(w.commonDir, w.branch)) ? ['worktree', 'add', w.path, w.branch] : ['worktree', 'add', '-b', w.branch, w.path, w.baseCommit];
  await gitOk(args, w.commonDir, `creating the worktree ${w.path} of ${w.repo}`);
}
