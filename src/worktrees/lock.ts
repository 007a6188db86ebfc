import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { writePrivateFile } from '../util/fsx.js';
import type { StoredLease } from '../store/worktrees.js';
import { formatAge } from './naming.js';

/**
 * The session lock: `.tetora-session.lock` at the top of the worktree (kept out of commits through git's
 * info/exclude) plus the same lease in the store row. Judging a lock is pure; reading and writing the file
 * is the only I/O here.
 */

export const LOCK_FILE = '.tetora-session.lock';
export const DEFAULT_HEARTBEAT_WINDOW_MS = 60_000;

/** What the lock file holds. `version` matches the store row's `lock_version` of the same lease. */
export interface FileLease extends StoredLease {
  version: number;
}

export function lockPath(worktree: string): string {
  return join(worktree, LOCK_FILE);
}

/** The lease in the file; 'unreadable' for a file that is not a lease; undefined when there is none. */
export function readLockFile(worktree: string): FileLease | 'unreadable' | undefined {
  let text: string;
  try {
    text = readFileSync(lockPath(worktree), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    return 'unreadable';
  }
  try {
    const v = JSON.parse(text) as Partial<FileLease>;
    if (typeof v.taskId !== 'string' || typeof v.pid !== 'number' || typeof v.heartbeatAt !== 'number') return 'unreadable';
    return {
      taskId: v.taskId,
      instanceId: typeof v.instanceId === 'string' ? v.instanceId : '',
      pid: v.pid,
      host: typeof v.host === 'string' ? v.host : '',
      heartbeatAt: v.heartbeatAt,
      version: typeof v.version === 'number' ? v.version : 0,
    };
  } catch {
    return 'unreadable';
  }
}

/** Write the lease atomically, mode 0600. */
export function writeLockFile(worktree: string, lease: FileLease): void {
  writePrivateFile(lockPath(worktree), `${JSON.stringify(lease)}\n`);
}

/** Remove the lock file; when `onlyVersion` is given, only if the file still holds that lease. */
export function removeLockFile(worktree: string, onlyVersion?: { taskId: string; version: number }): boolean {
  const cur = readLockFile(worktree);
  if (cur === undefined) return false;
  if (onlyVersion && (cur === 'unreadable' || cur.taskId !== onlyVersion.taskId || cur.version !== onlyVersion.version)) return false;
  try {
    unlinkSync(lockPath(worktree));
    return true;
  } catch {
    return !existsSync(lockPath(worktree));
  }
}

/** Facts a judgement needs, gathered by the caller (the clock, whether the pid still runs). */
export interface LockContext {
  now: number;
  windowMs: number;
  /** This machine's host name: a pid is only checked on the host that wrote it. */
  host: string;
  pidAlive: (pid: number) => boolean;
  /** The holding task's status in the ledger; undefined when the task is not in this store. */
  taskStatus: string | undefined;
  /** Does the holding task's agent still run (its recorded process group, carrying the task's marker)? */
  agentAlive?: boolean;
}

export type LockVerdict =
  | { state: 'none' }
  | { state: 'live'; lease: StoredLease; detail: string }
  | { state: 'dead'; lease: StoredLease | null; detail: string };

const ENDED = new Set(['succeeded', 'failed', 'cancelled', 'timed_out']);

/**
 * A lock is live while its task has not ended and either its heartbeat is fresh or (heartbeat stale) its
 * process still runs on this host. It is dead when its task ended, or when its heartbeat is stale and its
 * process is gone, whatever the file says. Pure apart from the injected `pidAlive`.
 */
export function judgeLease(lease: StoredLease, ctx: LockContext): LockVerdict {
  const age = ctx.now - lease.heartbeatAt;
  const beat = `heartbeat ${age >= 0 ? `${formatAge(age)} ago` : 'in the future'}`;
  const who = `instance ${lease.instanceId || '?'}, pid ${lease.pid}${lease.host && lease.host !== ctx.host ? ` on ${lease.host}` : ''}`;
  if (ctx.taskStatus !== undefined && ENDED.has(ctx.taskStatus)) {
    return { state: 'dead', lease, detail: `task ${lease.taskId} ended (${ctx.taskStatus}); ${beat}` };
  }
  if (age <= ctx.windowMs) return { state: 'live', lease, detail: `${who}, ${beat}` };
  const sameHost = !lease.host || lease.host === ctx.host;
  if (sameHost && lease.pid > 0 && ctx.pidAlive(lease.pid)) {
    return { state: 'live', lease, detail: `${who}, ${beat} (stale, but process ${lease.pid} still runs)` };
  }
  // The daemon may be gone while the agent it started still works in the worktree (a SIGKILLed daemon
  // leaves its agents running until the next boot kills them): the worktree is still in use.
  if (sameHost && ctx.agentAlive) {
    return { state: 'live', lease, detail: `${who}, ${beat} (its process is gone, but the task's agent still runs)` };
  }
  const gone = sameHost ? `process ${lease.pid} is gone` : `written on ${lease.host}`;
  return { state: 'dead', lease, detail: `${beat} and ${gone}` };
}

/** Judge the row's lease and the file's together: live if either is live. */
export function judgeLock(
  rowLease: StoredLease | null,
  fileLease: FileLease | 'unreadable' | undefined,
  ctx: (taskId: string) => LockContext,
): LockVerdict {
  const verdicts: LockVerdict[] = [];
  if (rowLease) verdicts.push(judgeLease(rowLease, ctx(rowLease.taskId)));
  if (fileLease === 'unreadable') verdicts.push({ state: 'dead', lease: null, detail: `the lock file ${LOCK_FILE} is unreadable` });
  else if (fileLease) verdicts.push(judgeLease(fileLease, ctx(fileLease.taskId)));
  return verdicts.find((v) => v.state === 'live') ?? verdicts[0] ?? { state: 'none' };
}

/** `locked by task X (…)`: the reason prune and list give for a live lock. */
export function lockReason(v: LockVerdict & { state: 'live' }): string {
  return `locked by task ${v.lease.taskId} (${v.detail})`;
}

/** Does a process with this pid exist (EPERM: it exists but is someone else's)? */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
