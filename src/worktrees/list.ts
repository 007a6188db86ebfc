import { existsSync, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { messageOf, TetoraError } from '../errors.js';
import type { WorktreeRow, WorktreeStatus, WorktreeStore } from '../store/worktrees.js';
import { decidePrune, type Integration, type PruneDecision } from './decide.js';
import { dirtyFiles, gatherFacts, lockVerdict, type Liveness } from './inspect.js';

/** Read-only views of the worktrees for `tetora worktree list|show` and the API. */

export type WorktreeState = 'locked' | 'idle' | 'stale-lock' | 'missing' | 'removing' | 'removed';

export interface WorktreeView {
  taskId: string;
  agent: string | null;
  repo: string;
  path: string;
  branch: string;
  baseBranch: string;
  status: WorktreeStatus;
  /** locked: a live session holds it; stale-lock: a dead lease is still recorded; idle: nobody holds it. */
  state: WorktreeState;
  lockHolder: string | null;
  lockDetail: string | null;
  sizeBytes: number | null;
  note: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface WorktreeDetail extends WorktreeView {
  baseCommit: string;
  dirtyFiles: string[];
  commitsAhead: number | null;
  integration: Integration | null;
  /** What `tetora worktree prune` would do with it now. */
  prune: PruneDecision | null;
  error?: string;
}

/** Bytes on disk under a folder (allocated blocks; symlinks not followed). */
export function diskUsage(dir: string): number {
  let total = 0;
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop() as string;
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      continue;
    }
    for (const n of names) {
      const p = join(d, n);
      try {
        const st = lstatSync(p);
        total += st.blocks * 512;
        if (st.isDirectory()) stack.push(p);
      } catch {
        /* vanished while walking */
      }
    }
  }
  return total;
}

export function viewOf(row: WorktreeRow, live: Liveness, opts: { size?: boolean } = {}): WorktreeView {
  const present = existsSync(row.path);
  const lock = present || row.lease ? lockVerdict(row.lease, row.path, live) : ({ state: 'none' } as const);
  let state: WorktreeState;
  if (row.status !== 'active') state = row.status;
  else if (!present) state = 'missing';
  else state = lock.state === 'live' ? 'locked' : lock.state === 'dead' ? 'stale-lock' : 'idle';
  return {
    taskId: row.taskId,
    agent: row.agent,
    repo: row.repo,
    path: row.path,
    branch: row.branch,
    baseBranch: row.baseBranch,
    status: row.status,
    state,
    lockHolder: lock.state !== 'none' && lock.lease ? `task ${lock.lease.taskId}` : null,
    lockDetail: lock.state === 'none' ? null : lock.detail,
    sizeBytes: present && opts.size !== false ? diskUsage(row.path) : null,
    note: row.note,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

/** Worktrees in the store, oldest first; removed ones only with `all`. */
export function listWorktrees(store: WorktreeStore, live: Liveness, opts: { all?: boolean } = {}): WorktreeView[] {
  return store
    .list()
    .filter((r) => opts.all || r.status !== 'removed')
    .map((r) => viewOf(r, live));
}

/** The row with this task id, or the only one whose id starts with it. */
export function findWorktree(store: WorktreeStore, id: string): WorktreeRow {
  const exact = store.get(id);
  if (exact) return exact;
  const matches = id.length >= 4 ? store.list().filter((r) => r.taskId.startsWith(id)) : [];
  if (matches.length === 1) return matches[0] as WorktreeRow;
  const why = matches.length > 1 ? `${matches.length} worktrees have ids starting with "${id}"; give more of the id` : `no worktree is recorded for "${id}"`;
  throw new TetoraError('TET_ERR_WORKTREE_NOT_FOUND', `${why}. Run \`tetora worktree list --all\` to see the task ids.`, { id });
}

export async function showWorktree(store: WorktreeStore, live: Liveness, id: string): Promise<WorktreeDetail> {
  const row = findWorktree(store, id);
  const detail: WorktreeDetail = { ...viewOf(row, live), baseCommit: row.baseCommit, dirtyFiles: [], commitsAhead: null, integration: null, prune: null };
  if (row.status === 'removed' || !existsSync(row.gitDir)) return detail;
  try {
    const lock = lockVerdict(row.lease, row.path, live);
    // Read-only even beside a running agent (git runs with optional locks off).
    const facts = await gatherFacts({ path: row.path, commonDir: row.gitDir, branch: row.branch, base: row.baseBranch }, { state: 'none' });
    if (facts.folder === 'present' && facts.gitKnows) detail.dirtyFiles = (await dirtyFiles(row.path)).map((e) => `${e.code} ${e.path}`);
    detail.integration = facts.integration;
    detail.commitsAhead = facts.integration.state === 'unknown' ? null : facts.integration.ahead;
    detail.prune = decidePrune({ ...facts, lock });
  } catch (err) {
    detail.error = messageOf(err);
  }
  return detail;
}
