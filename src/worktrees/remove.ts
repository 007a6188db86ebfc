import { existsSync } from 'node:fs';
import { git, gitOk, listGitWorktrees } from './git.js';
import { findEntry } from './inspect.js';

/**
 * Removing a worktree Tetora made, after the caller decided it may (decidePrune). git itself is the last
 * guard: `git worktree remove` without --force refuses a folder with changes, and the branch is deleted only
 * if it still points at the commit that was checked.
 */

export interface RemovalTarget {
  path: string;
  commonDir: string;
  branch: string;
  /** Delete the branch too (only when every commit on it is integrated). */
  deleteBranch: boolean;
  /** The commit the integration check looked at; the branch is deleted only if it still points there. */
  tip: string | null;
}

export interface RemovalResult {
  /** The folder (or, for a folder deleted by hand, git's record of it) is gone. */
  worktreeRemoved: boolean;
  branchDeleted: boolean;
  /** Why the branch stayed although asked to go. */
  branchNote?: string;
}

export async function removeWorktree(t: RemovalTarget): Promise<RemovalResult> {
  const entries = await listGitWorktrees(t.commonDir);
  if (existsSync(t.path)) {
    await gitOk(
      ['worktree', 'remove', t.path],
      t.commonDir,
      `removing worktree ${t.path}`,
      `look at \`git -C '${t.path}' status\`: Tetora only removes clean worktrees, and leaves this one as it is`,
    );
  } else if (findEntry(entries, t.path)) {
    // Only this worktree's record: `git worktree prune` would also drop records of worktrees Tetora did not make.
    await gitOk(['worktree', 'remove', t.path], t.commonDir, `dropping git's record of the deleted folder ${t.path}`);
  }
  const result: RemovalResult = { worktreeRemoved: true, branchDeleted: false };
  if (!t.deleteBranch) return result;
  const after = await listGitWorktrees(t.commonDir);
  const holder = after.find((e) => e.branch === t.branch);
  if (holder) {
    result.branchNote = `branch ${t.branch} kept: it is checked out in ${holder.path}`;
    return result;
  }
  const args = ['update-ref', '-d', `refs/heads/${t.branch}`];
  if (t.tip) args.push(t.tip);
  const r = await git(args, t.commonDir);
  if (r.code === 0) result.branchDeleted = true;
  else result.branchNote = `branch ${t.branch} kept: it moved since it was checked, or git refused (${r.stderr.trim() || `exit ${r.code}`})`;
  return result;
}
