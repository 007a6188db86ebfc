import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { messageOf } from '../errors.js';
import type { WorktreeRow, WorktreeStore } from '../store/worktrees.js';
import { decidePrune, type PruneDecision, type PruneFacts } from './decide.js';
import { git, listGitWorktrees } from './git.js';
import { canonicalPath, findEntry, gatherFacts, lockVerdict, type Liveness } from './inspect.js';
import { BRANCH_PREFIX, worktreesRoot } from './naming.js';
import { KeyedQueue } from './queue.js';
import { removeWorktree } from './remove.js';

/**
 * Prune: for every worktree Tetora made (rows in the store, and folders under runtime/worktrees that git
 * knows on a `tetora/` branch), remove it and its branch only when decidePrune allows; report every skip
 * with its reason. Usable from the CLI (no daemon) and from a daemon timer.
 */

export interface PruneOptions {
  store: WorktreeStore;
  home: string;
  liveness: Liveness;
  dryRun?: boolean;
  /** The daemon passes its per-repository queue so prune never overlaps a worktree being created. */
  queue?: KeyedQueue;
}

export interface PruneEntry {
  /** The task that made it; null for a folder the store does not know. */
  taskId: string | null;
  path: string;
  repo: string | null;
  branch: string | null;
  base: string | null;
  /** remove: folder and branch; keep: left alone (see reasons); forget: the folder was already gone. */
  action: PruneDecision['action'];
  /** False in a dry run, for a keep, or when the action failed (see error). */
  applied: boolean;
  branchDeleted: boolean;
  reasons: string[];
  note?: string;
  error?: string;
}

export interface PruneReport {
  dryRun: boolean;
  entries: PruneEntry[];
}

export async function pruneWorktrees(o: PruneOptions): Promise<PruneReport> {
  const queue = o.queue ?? new KeyedQueue();
  const dryRun = o.dryRun ?? false;
  const all = o.store.list();
  const rows = all.filter((r) => r.status !== 'removed');
  const jobs = rows.map((row) => queue.run(row.gitDir, () => pruneOne(row, o, dryRun)));
  const entries = await Promise.all(jobs);
  const known = new Set(all.map((r) => canonicalPath(r.path)));
  for (const path of orphanFolders(o.home, known)) entries.push(await pruneOrphan(path, o, queue, dryRun));
  return { dryRun, entries };
}

function entryOf(row: WorktreeRow, action: PruneDecision['action'], reasons: string[]): PruneEntry {
  return { taskId: row.taskId, path: row.path, repo: row.repo, branch: row.branch, base: row.baseBranch, action, applied: false, branchDeleted: false, reasons };
}

/** Decide and (unless a dry run) act on one recorded worktree. Call it inside the repository's queue. */
export async function pruneOne(row: WorktreeRow, o: Pick<PruneOptions, 'store' | 'home' | 'liveness'>, dryRun: boolean): Promise<PruneEntry> {
  if (!existsSync(row.gitDir)) {
    return entryOf(row, 'keep', [`repository ${row.repo} is gone (${row.gitDir} does not exist); nothing to check against`]);
  }
  let facts: PruneFacts;
  try {
    facts = await gatherFacts({ path: row.path, commonDir: row.gitDir, branch: row.branch, base: row.baseBranch }, lockVerdict(row.lease, row.path, o.liveness));
  } catch (err) {
    return { ...entryOf(row, 'keep', [`could not be checked: ${messageOf(err)}`]), error: messageOf(err) };
  }
  const decision = decidePrune(facts);
  const entry = entryOf(row, decision.action, decision.reasons);
  if (decision.action === 'keep') {
    if (!dryRun && row.status === 'removing') o.store.setStatus(row.taskId, 'active', null);
    return entry;
  }
  if (dryRun) return entry;
  if (!o.store.claimForRemoval(row.taskId, row.lockVersion, row.status)) {
    return { ...entry, action: 'keep', reasons: ['a task leased it while prune was looking; left alone'] };
  }
  const restore = () => o.store.finishRemoval(row.taskId, row.lockVersion, row.status === 'removing' ? 'active' : row.status, row.note);
  const again = lockVerdict(null, row.path, o.liveness);
  if (again.state === 'live') {
    restore();
    return { ...entry, action: 'keep', reasons: [`locked by task ${again.lease.taskId} (${again.detail})`] };
  }
  // While git removes it (a large tree takes a while), keep the claim fresh: a task waiting for this
  // worktree treats only a claim nobody touches any more (a prune that died) as stale.
  const touching = setInterval(() => o.store.touchRemoval(row.taskId, row.lockVersion), 5_000);
  try {
    return await apply(entry, facts, decision, {
      done: (branchGone, note) => {
        if (decision.action === 'forget' && !branchGone && facts.branchExists) o.store.finishRemoval(row.taskId, row.lockVersion, 'missing', note ?? entry.reasons[0] ?? 'folder was deleted by hand');
        else o.store.finishRemoval(row.taskId, row.lockVersion, 'removed', note ?? (decision.action === 'forget' ? 'folder was deleted by hand' : 'pruned'));
      },
      failed: restore,
      commonDir: row.gitDir,
    });
  } finally {
    clearInterval(touching);
  }
}

async function apply(
  entry: PruneEntry,
  facts: PruneFacts,
  decision: PruneDecision,
  how: { done: (branchDeleted: boolean, note?: string) => void; failed: () => void; commonDir: string },
): Promise<PruneEntry> {
  try {
    const deleteBranch = decision.action === 'remove' || (decision.action === 'forget' && decision.deleteBranch);
    const r = await removeWorktree({ path: entry.path, commonDir: how.commonDir, branch: facts.branch, deleteBranch, tip: facts.tip });
    how.done(r.branchDeleted, r.branchNote);
    const out: PruneEntry = { ...entry, applied: true, branchDeleted: r.branchDeleted };
    if (r.branchNote) out.note = r.branchNote;
    return out;
  } catch (err) {
    how.failed();
    return { ...entry, action: 'keep', applied: false, reasons: [`removal failed: ${messageOf(err)}`], error: messageOf(err) };
  }
}

/** Folders under runtime/worktrees that no row (of any status) names. */
function orphanFolders(home: string, known: ReadonlySet<string>): string[] {
  const root = worktreesRoot(home);
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .map((name) => join(root, name))
    .filter((p) => {
      try {
        return statSync(p).isDirectory() && !known.has(canonicalPath(p));
      } catch {
        return false;
      }
    });
}

/** A folder the store does not know: only touched when git knows it as a worktree on a `tetora/` branch. */
async function pruneOrphan(path: string, o: PruneOptions, queue: KeyedQueue, dryRun: boolean): Promise<PruneEntry> {
  const leave = (reason: string, extra: Partial<PruneEntry> = {}): PruneEntry => ({
    taskId: null, path, repo: null, branch: null, base: null, action: 'keep', applied: false, branchDeleted: false, reasons: [reason], ...extra,
  });
  const r = await git(['rev-parse', '--path-format=absolute', '--show-toplevel', '--git-common-dir'], path);
  const [top, commonDir] = r.stdout.split('\n');
  if (r.code !== 0 || !top || !commonDir || canonicalPath(top) !== canonicalPath(path)) {
    return leave('not a git worktree and not in the store; Tetora leaves it alone');
  }
  return queue.run(commonDir, async () => {
    // The list of known folders was read when prune started: a task may have recorded this one since
    // (another process creating its worktree right now). Its row, not this scan, decides.
    if (o.store.get(basename(path))) return leave('recorded in the store while prune ran (a worktree being created); checked at the next prune');
    const list = await listGitWorktrees(commonDir);
    const entry = findEntry(list, path);
    const main = list[0];
    const repo = main && !main.bare ? main.path : commonDir;
    if (!entry) return leave('git does not know this folder as a worktree; Tetora leaves it alone', { repo });
    if (!entry.branch?.startsWith(BRANCH_PREFIX)) {
      return leave(`not in the store and on ${entry.branch ? `branch ${entry.branch}` : 'a detached HEAD'}, not a ${BRANCH_PREFIX} branch; Tetora leaves it alone`, { repo });
    }
    const base = main?.branch;
    if (!base) return leave('not in the store, and the main worktree is not on a branch to compare with; left alone', { repo, branch: entry.branch });
    const facts = await gatherFacts({ path, commonDir, branch: entry.branch, base }, lockVerdict(null, path, o.liveness), list);
    const decision = decidePrune(facts);
    const out: PruneEntry = {
      taskId: null, path, repo, branch: entry.branch, base, action: decision.action, applied: false, branchDeleted: false,
      reasons: decision.reasons, note: `not in the store; compared with ${base}, the branch of the main worktree`,
    };
    if (dryRun || decision.action === 'keep') return out;
    return apply(out, facts, decision, { done: () => undefined, failed: () => undefined, commonDir });
  });
}
