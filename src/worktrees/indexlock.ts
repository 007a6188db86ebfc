import { statSync } from 'node:fs';
import { join } from 'node:path';
import { TetoraError } from '../errors.js';
import { formatAge } from './naming.js';

/**
 * git's `index.lock`: a live git command holds it for a moment; one left by a killed git blocks every later
 * git command in that work tree. The original lost an agent's work to a 5-day-old one that made git fail
 * silently. We wait a little for a fresh one and report an old one clearly, never delete it ourselves.
 */

export const DEFAULT_INDEX_LOCK_STALE_MS = 30_000;

/** The message for a stale lock: the file, its age, and how to remove it. Pure. */
export function staleIndexLockMessage(lockPath: string, ageMs: number, where: string): string {
  return (
    `git's lock file ${lockPath} is ${formatAge(ageMs)} old: a git command in ${where} was killed or crashed and left it ` +
    `behind, and git refuses to work there until it is gone. If no git command is running in ${where} ` +
    `(check with \`ps aux | grep git\`), remove it with \`rm '${lockPath}'\` and retry.`
  );
}

export function indexLockError(lockPath: string, ageMs: number, where: string): TetoraError {
  return new TetoraError('TET_ERR_WORKTREE_INDEX_LOCK', staleIndexLockMessage(lockPath, ageMs, where), { lockPath, ageMs, where });
}

/** Age of a file in ms at `now`, or undefined when it does not exist. */
export function fileAge(path: string, now: number): number | undefined {
  try {
    return Math.max(0, now - statSync(path).mtimeMs);
  } catch {
    return undefined;
  }
}

/** Turn git's "Unable to create '…/index.lock': File exists" into the clear error; undefined for other messages. */
export function indexLockErrorFrom(stderr: string, where: string, now: number = Date.now()): TetoraError | undefined {
  const m = /Unable to create '([^']*\.lock)': File exists/.exec(stderr);
  if (!m) return undefined;
  const lockPath = m[1] as string;
  return indexLockError(lockPath, fileAge(lockPath, now) ?? 0, where);
}

export interface IndexLockOptions {
  now: () => number;
  /** Older than this, a lock is reported as stale. */
  staleMs: number;
  sleep: (ms: number) => Promise<void>;
}

/**
 * Before touching a repository: wait (with backoff, at most `staleMs`) while a fresh `index.lock` exists in
 * any of `gitDirs`; throw TET_ERR_WORKTREE_INDEX_LOCK for one older than `staleMs` or one that outlives the wait.
 */
export async function checkIndexLocks(gitDirs: readonly string[], where: string, opts: IndexLockOptions): Promise<void> {
  const paths = [...new Set(gitDirs)].map((d) => join(d, 'index.lock'));
  let waited = 0;
  for (let attempt = 0; ; attempt++) {
    const now = opts.now();
    const present = paths.map((p) => ({ p, age: fileAge(p, now) })).filter((x): x is { p: string; age: number } => x.age !== undefined);
    if (present.length === 0) return;
    const oldest = present.reduce((a, b) => (b.age > a.age ? b : a));
    if (oldest.age >= opts.staleMs || waited >= opts.staleMs) throw indexLockError(oldest.p, oldest.age, where);
    const delay = Math.min(100 * 2 ** attempt, 2_000);
    await opts.sleep(delay);
    waited += delay;
  }
}
