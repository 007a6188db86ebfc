import { lockReason, type LockVerdict } from './lock.js';
import { plural } from './naming.js';

/** Pure prune rules: from facts gathered about one worktree, what prune may do with it and why. */

export type Integration =
  | { state: 'integrated'; how: 'ancestor' | 'merge-noop'; ahead: number }
  | { state: 'not-integrated'; ahead: number }
  | { state: 'unknown'; why: string };

export interface PruneFacts {
  branch: string;
  base: string;
  lock: LockVerdict;
  folder: 'present' | 'missing';
  /** git lists the folder as a worktree of the repository. */
  gitKnows: boolean;
  /** The branch checked out in the folder (null: detached HEAD). Meaningful when present and known. */
  checkedOut: string | null;
  branchExists: boolean;
  /** Uncommitted and untracked files, the lock file excepted (0 when the folder is missing). */
  dirty: number;
  /** Of the folder's HEAD when present, of the branch when the folder is missing. */
  integration: Integration;
  /** The commit that was checked (the branch is deleted only if it still points there); null if none. */
  tip: string | null;
  /** Commits only a reflog of the worktree or branch reaches (reset or amended away), not integrated. */
  reflogOnly: number;
}

function reflogReason(n: number): string | undefined {
  return n > 0 ? `${plural(n, 'commit')} only in the reflog (reset, amended or rebased away; see git reflog)` : undefined;
}

export type PruneDecision =
  | { action: 'remove'; reasons: string[] }
  | { action: 'keep'; reasons: string[] }
  /** The folder is gone: drop git's record of it, and the branch too when nothing on it would be lost. */
  | { action: 'forget'; deleteBranch: boolean; reasons: string[] };

export function integrationReason(i: Integration, base: string): string | undefined {
  if (i.state === 'integrated') return undefined;
  if (i.state === 'unknown') return i.why;
  return `${plural(i.ahead, 'commit')} not in ${base}`;
}

/**
 * Remove only when all hold: no live lock; git knows the folder as this branch's worktree; no uncommitted
 * or untracked change; every commit integrated into the base (by ancestry, or merging would change nothing).
 */
export function decidePrune(f: PruneFacts): PruneDecision {
  if (f.lock.state === 'live') return { action: 'keep', reasons: [lockReason(f.lock)] };
  if (f.folder === 'missing') {
    const why = f.branchExists ? (integrationReason(f.integration, f.base) ?? reflogReason(f.reflogOnly)) : undefined;
    if (why === undefined) return { action: 'forget', deleteBranch: f.branchExists, reasons: [] };
    const reasons = [`folder was deleted by hand; branch ${f.branch} kept: ${why}`];
    // Once git's record is gone, only the branch is left, and it holds work: nothing to do.
    return f.gitKnows ? { action: 'forget', deleteBranch: false, reasons } : { action: 'keep', reasons };
  }
  if (!f.gitKnows) return { action: 'keep', reasons: ['git does not know this folder as a worktree; Tetora leaves it alone'] };
  const reasons: string[] = [];
  if (f.checkedOut !== f.branch) {
    reasons.push(f.checkedOut === null ? `HEAD is detached (Tetora made it on ${f.branch})` : `branch ${f.checkedOut} is checked out instead of ${f.branch}`);
  }
  if (f.dirty > 0) reasons.push(plural(f.dirty, 'uncommitted file'));
  const why = integrationReason(f.integration, f.base) ?? reflogReason(f.reflogOnly);
  if (why !== undefined) reasons.push(why);
  return reasons.length > 0 ? { action: 'keep', reasons } : { action: 'remove', reasons };
}
