import type { Db } from './db.js';

export type WorktreeStatus = 'active' | 'removing' | 'missing' | 'removed';

/** A session lease as the store holds it (the lock file holds the same, plus the version). */
export interface StoredLease {
  taskId: string;
  instanceId: string;
  pid: number;
  host: string;
  heartbeatAt: number;
}

/** What creating a worktree records. */
export interface NewWorktree {
  taskId: string;
  agent: string | null;
  repo: string;
  gitDir: string;
  path: string;
  subdir: string;
  branch: string;
  baseBranch: string;
  baseCommit: string;
}

export interface WorktreeRow extends NewWorktree {
  status: WorktreeStatus;
  note: string | null;
  lockVersion: number;
  lease: StoredLease | null;
  createdAt: number;
  updatedAt: number;
  removedAt: number | null;
}

/** A row as SQLite returns it: the lease as five nullable columns. */
type RawRow = Omit<WorktreeRow, 'lease'> & {
  lockTaskId: string | null;
  lockInstanceId: string | null;
  lockPid: number | null;
  lockHost: string | null;
  lockHeartbeatAt: number | null;
};

const COLUMNS = `task_id AS taskId, agent, repo, git_dir AS gitDir, path, subdir, branch, base_branch AS baseBranch,
  base_commit AS baseCommit, status, note, lock_version AS lockVersion, lock_task_id AS lockTaskId,
  lock_instance_id AS lockInstanceId, lock_pid AS lockPid, lock_host AS lockHost, lock_heartbeat_at AS lockHeartbeatAt,
  created_at AS createdAt, updated_at AS updatedAt, removed_at AS removedAt`;

function toRow(r: RawRow): WorktreeRow {
  const { lockTaskId, lockInstanceId, lockPid, lockHost, lockHeartbeatAt, ...rest } = r;
  const lease =
    lockTaskId !== null && lockHeartbeatAt !== null
      ? { taskId: lockTaskId, instanceId: lockInstanceId ?? '', pid: lockPid ?? 0, host: lockHost ?? '', heartbeatAt: lockHeartbeatAt }
      : null;
  return { ...rest, lease };
}

/**
 * All SQL about worktrees. Lease changes are compare-and-set on `lock_version`, so a prune in another
 * process can never remove a worktree that a task has leased since the prune looked at it.
 */
export class WorktreeStore {
  readonly #get;
  readonly #list;
  readonly #insert;
  readonly #take;
  readonly #beat;
  readonly #clear;
  readonly #claim;
  readonly #setStatus;
  readonly #taskStatus;
  readonly #touchRemoval;
  readonly #finishRemoval;
  readonly #taskPgid;
  readonly #delete;

  constructor(
    db: Db,
    private readonly now: () => number = Date.now,
  ) {
    this.#get = db.prepare(`SELECT ${COLUMNS} FROM worktrees WHERE task_id = ?`);
    this.#list = db.prepare(`SELECT ${COLUMNS} FROM worktrees ORDER BY created_at, task_id`);
    this.#insert = db.prepare(
      `INSERT INTO worktrees (task_id, agent, repo, git_dir, path, subdir, branch, base_branch, base_commit, status,
         lock_version, lock_task_id, lock_instance_id, lock_pid, lock_host, lock_heartbeat_at, created_at, updated_at)
       VALUES (@taskId, @agent, @repo, @gitDir, @path, @subdir, @branch, @baseBranch, @baseCommit, 'active',
         1, @lockTaskId, @lockInstanceId, @lockPid, @lockHost, @lockHeartbeatAt, @at, @at)`,
    );
    this.#take = db.prepare(
      `UPDATE worktrees SET status = 'active', note = NULL, removed_at = NULL, base_commit = @baseCommit,
         lock_version = lock_version + 1, lock_task_id = @lockTaskId, lock_instance_id = @lockInstanceId,
         lock_pid = @lockPid, lock_host = @lockHost, lock_heartbeat_at = @lockHeartbeatAt, updated_at = @at
       WHERE task_id = @taskId AND lock_version = @expect AND (status <> 'removing' OR @override = 1)`,
    );
    this.#beat = db.prepare(
      `UPDATE worktrees SET lock_heartbeat_at = ?, updated_at = ? WHERE task_id = ? AND lock_version = ? AND lock_task_id IS NOT NULL`,
    );
    this.#clear = db.prepare(
      `UPDATE worktrees SET lock_task_id = NULL, lock_instance_id = NULL, lock_pid = NULL, lock_host = NULL,
         lock_heartbeat_at = NULL, updated_at = ? WHERE task_id = ? AND lock_version = ?`,
    );
    this.#claim = db.prepare(
      `UPDATE worktrees SET status = 'removing', updated_at = ? WHERE task_id = ? AND lock_version = ? AND status = ?`,
    );
    this.#setStatus = db.prepare(
      `UPDATE worktrees SET status = @status, note = @note, updated_at = @at,
         removed_at = CASE WHEN @status = 'removed' THEN @at ELSE removed_at END
       WHERE task_id = @taskId`,
    );
    this.#taskStatus = db.prepare(`SELECT status FROM tasks WHERE id = ?`);
    this.#touchRemoval = db.prepare(`UPDATE worktrees SET updated_at = ? WHERE task_id = ? AND lock_version = ? AND status = 'removing'`);
    this.#finishRemoval = db.prepare(
      `UPDATE worktrees SET status = @status, note = @note, updated_at = @at,
         removed_at = CASE WHEN @status = 'removed' THEN @at ELSE removed_at END
       WHERE task_id = @taskId AND lock_version = @version AND status = 'removing'`,
    );
    this.#taskPgid = db.prepare(`SELECT pgid FROM tasks WHERE id = ?`);
    this.#delete = db.prepare(`DELETE FROM worktrees WHERE task_id = ? AND lock_version = ?`);
  }

  get(taskId: string): WorktreeRow | undefined {
    const r = this.#get.get(taskId) as RawRow | undefined;
    return r ? toRow(r) : undefined;
  }

  /** Every row, oldest first; `statuses` narrows it. */
  list(statuses?: readonly WorktreeStatus[]): WorktreeRow[] {
    const rows = (this.#list.all() as RawRow[]).map(toRow);
    return statuses ? rows.filter((r) => statuses.includes(r.status)) : rows;
  }

  /** Record a worktree about to be made, already leased (version 1), so a prune elsewhere leaves it alone. */
  insertLeased(w: NewWorktree, lease: StoredLease): number {
    this.#insert.run({ ...w, ...leaseParams(lease), at: this.now() });
    return 1;
  }

  /**
   * Lease an existing row if its version is still `expect` and no prune is removing it (`overrideRemoving`:
   * the prune that marked it crashed long ago); the new version, or undefined.
   */
  takeLease(taskId: string, expect: number, lease: StoredLease, baseCommit: string, overrideRemoving = false): number | undefined {
    const params = { taskId, expect, baseCommit, override: overrideRemoving ? 1 : 0, ...leaseParams(lease), at: this.now() };
    const changed = this.#take.run(params).changes;
    return changed > 0 ? expect + 1 : undefined;
  }

  /** Refresh the heartbeat of lease `version`; false when the lease is no longer that one. */
  heartbeat(taskId: string, version: number, at: number): boolean {
    return this.#beat.run(at, this.now(), taskId, version).changes > 0;
  }

  /** Drop lease `version` (a release, or a dead lease at boot); false when the row moved on. */
  clearLease(taskId: string, version: number): boolean {
    return this.#clear.run(this.now(), taskId, version).changes > 0;
  }

  /** Mark the row `removing` if nothing changed since it was read as (`version`, `from`). */
  claimForRemoval(taskId: string, version: number, from: WorktreeStatus): boolean {
    return this.#claim.run(this.now(), taskId, version, from).changes > 0;
  }

  /** A prune still removing it says so (a removal whose row stops being touched is stale). */
  touchRemoval(taskId: string, version: number): void {
    this.#touchRemoval.run(this.now(), taskId, version);
  }

  /** End a removal claimed at `version`; false when a task took the row over meanwhile (left as it is). */
  finishRemoval(taskId: string, version: number, status: WorktreeStatus, note: string | null): boolean {
    return this.#finishRemoval.run({ taskId, version, status, note, at: this.now() }).changes > 0;
  }

  setStatus(taskId: string, status: WorktreeStatus, note: string | null): void {
    this.#setStatus.run({ taskId, status, note, at: this.now() });
  }

  /** Forget a row just inserted whose worktree was never made (creation failed before anything existed). */
  deleteUnmade(taskId: string, version: number): void {
    this.#delete.run(taskId, version);
  }

  /** The task's status in the ledger, or undefined when the task is not in this store. */
  taskStatus(taskId: string): string | undefined {
    const r = this.#taskStatus.get(taskId) as { status: string } | undefined;
    return r?.status;
  }

  /** The process group the task's current (or last) run was started in, if the ledger recorded one. */
  taskPgid(taskId: string): number | undefined {
    const r = this.#taskPgid.get(taskId) as { pgid: number | null } | undefined;
    return r?.pgid ?? undefined;
  }
}

function leaseParams(l: StoredLease): Record<string, string | number> {
  return { lockTaskId: l.taskId, lockInstanceId: l.instanceId, lockPid: l.pid, lockHost: l.host, lockHeartbeatAt: l.heartbeatAt };
}
