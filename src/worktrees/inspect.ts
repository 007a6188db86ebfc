import { existsSync, realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { StoredLease } from '../store/worktrees.js';
import type { Integration, PruneFacts } from './decide.js';
import { git, gitOk, listGitWorktrees, resolveCommit } from './git.js';
import { judgeLock, LOCK_FILE, readLockFile, type LockVerdict } from './lock.js';
import { parseStatusZ, userChanges, type GitWorktreeEntry, type StatusEntry } from './parse.js';

/** Gathering the facts prune and list decide on: git I/O, read-only (git runs with optional locks off). */

/** How lock liveness is judged: the clock, the heartbeat window, and how to ask about pids and tasks. */
export interface Liveness {
  now: () => number;
  windowMs: number;
  host: string;
  pidAlive: (pid: number) => boolean;
  taskStatus: (taskId: string) => string | undefined;
  agentAlive?: (taskId: string) => boolean;
}

export function lockVerdict(rowLease: StoredLease | null, worktree: string, live: Liveness): LockVerdict {
  const now = live.now();
  return judgeLock(rowLease, existsSync(worktree) ? readLockFile(worktree) : undefined, (taskId) => ({
    now,
    windowMs: live.windowMs,
    host: live.host,
    pidAlive: live.pidAlive,
    taskStatus: live.taskStatus(taskId),
    agentAlive: live.agentAlive?.(taskId) ?? false,
  }));
}

/** A path in the form git prints it (symlinks resolved), also for a folder that no longer exists. */
export function canonicalPath(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    try {
      return join(realpathSync(dirname(p)), basename(p));
    } catch {
      return resolve(p);
    }
  }
}

export function findEntry(entries: readonly GitWorktreeEntry[], path: string): GitWorktreeEntry | undefined {
  const want = canonicalPath(path);
  return entries.find((e) => e.path === want || canonicalPath(e.path) === want);
}

/** Uncommitted and untracked files in a worktree (ignored files and Tetora's lock file do not count). */
export async function dirtyFiles(worktree: string): Promise<StatusEntry[]> {
  const out = await gitOk(
    ['status', '--porcelain=v1', '-z', '--untracked-files=all', '--ignore-submodules=none'],
    worktree,
    `reading the status of worktree ${worktree}`,
  );
  return userChanges(parseStatusZ(out), LOCK_FILE);
}

/**
 * Changes git status does not show: files flagged assume-unchanged or skip-worktree whose content on
 * disk differs from the index (an edit hidden that way is still the user's work).
 */
export async function hiddenChanges(worktree: string): Promise<number> {
  const flagged = (await gitOk(['ls-files', '-v', '-z'], worktree, `listing the files of worktree ${worktree}`))
    .split('\0')
    .filter((l) => l.length > 2 && (l[0] === 'S' || (l[0] !== undefined && l[0] >= 'a' && l[0] <= 'z')))
    .map((l) => l.slice(2))
    .filter((f) => existsSync(join(worktree, f)));
  if (flagged.length === 0) return 0;
  const staged = new Map(
    (await gitOk(['ls-files', '-s', '-z', '--', ...flagged], worktree, 'reading the index'))
      .split('\0')
      .filter(Boolean)
      .map((l) => [l.slice(l.indexOf('\t') + 1), l.split(' ')[1]] as const),
  );
  const onDisk = (await gitOk(['hash-object', '--', ...flagged], worktree, 'hashing flagged files')).trim().split('\n');
  return flagged.filter((f, i) => staged.get(f) !== onDisk[i]).length;
}

/**
 * Commits that only a reflog still reaches — reset, amended or rebased away in the worktree — and that
 * are not integrated into `base`. Removing the worktree and its branch deletes those reflogs, so these
 * commits would be lost.
 */
export async function reflogOnlyCommits(commonDir: string, worktree: string | undefined, branch: string, base: string, tip: string | null): Promise<number> {
  const logs = async (cwd: string, ref: string) => {
    const r = await git(['reflog', 'show', '--format=%H', ref, '--'], cwd);
    return r.code === 0 ? r.stdout.split('\n').filter(Boolean) : [];
  };
  const entries = [...new Set([...(worktree ? await logs(worktree, 'HEAD') : []), ...(await logs(commonDir, `refs/heads/${branch}`))])];
  const baseCommit = await resolveCommit(commonDir, base);
  if (entries.length === 0 || !baseCommit) return 0;
  const known = [baseCommit, ...(tip ? [tip] : [])];
  const only = new Set((await gitOk(['rev-list', ...entries, '--not', ...known], commonDir, 'listing commits reachable only from reflogs')).split('\n').filter(Boolean));
  // A reflog entry no branch reaches is work, unless merging it into the base would change nothing.
  const lost: string[] = [];
  for (const c of entries.filter((e) => only.has(e))) {
    if ((await checkIntegration(commonDir, c, base)).state !== 'integrated') lost.push(c);
  }
  if (lost.length === 0) return 0;
  return Number((await gitOk(['rev-list', '--count', ...lost, '--not', ...known], commonDir, 'counting commits reachable only from reflogs')).trim());
}

/** Commits reachable from `tip` and not from `base`. */
export async function commitsAhead(commonDir: string, base: string, tip: string): Promise<number> {
  const out = await gitOk(['rev-list', '--count', `${base}..${tip}`], commonDir, `counting the commits of ${tip} not in ${base}`);
  return Number(out.trim());
}

/**
 * Is every commit of `tip` integrated into `base`? By ancestry (`merge-base --is-ancestor`), or because
 * merging it would change nothing (`merge-tree --write-tree` gives base's own tree: squash-merged or cherry-picked).
 */
export async function checkIntegration(commonDir: string, tip: string, base: string): Promise<Integration> {
  const baseCommit = await resolveCommit(commonDir, base);
  if (!baseCommit) return { state: 'unknown', why: `base ${base} no longer exists, so integration cannot be checked` };
  const ahead = await commitsAhead(commonDir, baseCommit, tip);
  const anc = await git(['merge-base', '--is-ancestor', tip, baseCommit], commonDir);
  if (anc.code === 0) return { state: 'integrated', how: 'ancestor', ahead };
  if (anc.code !== 1) return { state: 'unknown', why: `git merge-base --is-ancestor failed: ${anc.stderr.trim() || `exit ${anc.code}`}` };
  const mt = await git(['merge-tree', '--write-tree', baseCommit, tip], commonDir);
  if (mt.code === 1) return { state: 'not-integrated', ahead };
  if (mt.code !== 0) {
    const old = /unknown option|usage: git merge-tree/.test(mt.stderr) ? ' (git 2.38 or newer is needed to see squash merges)' : '';
    return { state: 'unknown', why: `git merge-tree failed${old}: ${mt.stderr.trim().split('\n')[0] ?? ''}; ${ahead} commits not checked` };
  }
  const merged = mt.stdout.split('\n')[0]?.trim();
  const baseTree = (await gitOk(['rev-parse', `${baseCommit}^{tree}`], commonDir, `reading the tree of ${base}`)).trim();
  return merged === baseTree ? { state: 'integrated', how: 'merge-noop', ahead } : { state: 'not-integrated', ahead };
}

export interface Target {
  path: string;
  commonDir: string;
  branch: string;
  base: string;
}

/** Everything decidePrune needs about one worktree. Runs no git in a folder whose lock is live. */
export async function gatherFacts(t: Target, lock: LockVerdict, entries?: readonly GitWorktreeEntry[]): Promise<PruneFacts> {
  const folder = existsSync(t.path) ? 'present' : 'missing';
  const list = entries ?? (await listGitWorktrees(t.commonDir));
  const entry = findEntry(list, t.path);
  const facts: PruneFacts = {
    branch: t.branch,
    base: t.base,
    lock,
    folder,
    gitKnows: entry !== undefined,
    checkedOut: entry?.branch ?? null,
    branchExists: false,
    dirty: 0,
    integration: { state: 'unknown', why: 'not checked' },
    tip: null,
    reflogOnly: 0,
  };
  if (lock.state === 'live') return facts;
  const branchTip = await resolveCommit(t.commonDir, `refs/heads/${t.branch}`);
  facts.branchExists = branchTip !== undefined;
  if (folder === 'present') {
    if (!entry) return facts;
    facts.dirty = (await dirtyFiles(t.path)).length + (await hiddenChanges(t.path));
    facts.tip = entry.head ?? (await resolveCommit(t.path, 'HEAD')) ?? null;
  } else {
    facts.tip = branchTip ?? null;
  }
  if (facts.tip) facts.integration = await checkIntegration(t.commonDir, facts.tip, t.base);
  else if (folder === 'present') facts.integration = { state: 'unknown', why: 'the worktree has no HEAD commit' };
  if (facts.integration.state === 'integrated' || !facts.tip) {
    facts.reflogOnly = await reflogOnlyCommits(t.commonDir, folder === 'present' ? t.path : undefined, t.branch, t.base, facts.tip);
  }
  return facts;
}
