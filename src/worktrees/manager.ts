import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Lease, WorkspaceManager, WorkspaceTask } from '../engine/workspace.js';
import { messageOf } from '../errors.js';
import type { WorktreeStore } from '../store/worktrees.js';
import { ensurePrivateDir } from '../util/fsx.js';
import { createOrReuse } from './create.js';
import { checkIndexLocks, DEFAULT_INDEX_LOCK_STALE_MS } from './indexlock.js';
import type { Liveness } from './inspect.js';
import { makeLease } from './lease.js';
import { DEFAULT_HEARTBEAT_WINDOW_MS, pidAlive as defaultPidAlive } from './lock.js';
import { assertSafeTaskId, worktreesRoot } from './naming.js';
import { pruneWorktrees, type PruneReport } from './prune.js';
import { KeyedQueue } from './queue.js';
import { reconcileWorktrees } from './reconcile.js';
import { resolveRepo } from './git.js';
import { isTaskGroup } from '../util/procgroup.js';

export interface WorktreeManagerOptions {
  store: WorktreeStore;
  /** $TETORA_HOME (config.home): worktrees live in `<home>/runtime/worktrees/<taskId>`. */
  home: string;
  /** @default Date.now */
  now?: () => number;
  /** A lease whose heartbeat is older than this (and whose process is gone) is dead. @default 60000 */
  heartbeatWindowMs?: number;
  /** An index.lock older than this is reported as stale. @default 30000 */
  indexLockStaleMs?: number;
  /** How long acquire waits for a prune in another process that is removing this task's worktree. @default 30000 */
  removingWaitMs?: number;
  pidAlive?: (pid: number) => boolean;
  sleep?: (ms: number) => Promise<void>;
  /** Problems that must not fail a run (a heartbeat that could not be written, a cleanup that failed). */
  onWarning?: (message: string) => void;
}

/** Everything a lease, creation, prune and reconcile share: settings, clock, queue, store. */
export interface ManagerContext {
  store: WorktreeStore;
  home: string;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  queue: KeyedQueue;
  liveness: Liveness;
  pid: number;
  host: string;
  indexLockStaleMs: number;
  removingWaitMs: number;
  warn: (message: string) => void;
}

/**
 * The engine's WorkspaceManager on git worktrees: one worktree per task on its own `tetora/…` branch,
 * creation serialised per repository, a session lease (lock file + store row) while the task runs,
 * release with the cleanup policy, prune that never removes work, and the boot-time reconcile.
 */
export class GitWorktreeManager implements WorkspaceManager {
  readonly ctx: ManagerContext;
  #pruning: Promise<PruneReport> | undefined;

  constructor(opts: WorktreeManagerOptions) {
    const now = opts.now ?? Date.now;
    const host = hostname();
    const store = opts.store;
    this.ctx = {
      store,
      home: opts.home,
      now,
      sleep: opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
      queue: new KeyedQueue(),
      liveness: {
        now,
        windowMs: opts.heartbeatWindowMs ?? DEFAULT_HEARTBEAT_WINDOW_MS,
        host,
        pidAlive: opts.pidAlive ?? defaultPidAlive,
        taskStatus: (id) => store.taskStatus(id),
        agentAlive: (id) => {
          const pgid = store.taskPgid(id);
          return pgid !== undefined && isTaskGroup(pgid, id);
        },
      },
      pid: process.pid,
      host,
      indexLockStaleMs: opts.indexLockStaleMs ?? DEFAULT_INDEX_LOCK_STALE_MS,
      removingWaitMs: opts.removingWaitMs ?? 30_000,
      warn: opts.onWarning ?? ((m) => process.stderr.write(`tetora worktrees: ${m}\n`)),
    };
  }

  async acquire(task: WorkspaceTask, instanceId: string): Promise<Lease> {
    assertSafeTaskId(task.id);
    const repo = await resolveRepo(task.workdir);
    ensurePrivateDir(worktreesRoot(this.ctx.home));
    return this.ctx.queue.run(repo.commonDir, async () => {
      await checkIndexLocks([repo.gitDir, repo.commonDir], repo.toplevel, {
        now: this.ctx.now,
        staleMs: this.ctx.indexLockStaleMs,
        sleep: this.ctx.sleep,
      });
      const made = await createOrReuse(this.ctx, task, instanceId, repo);
      return makeLease(this.ctx, task, made, join(made.row.path, made.row.subdir));
    });
  }

  async reconcile(runningTaskIds: ReadonlySet<string>): Promise<void> {
    await reconcileWorktrees(this.ctx, runningTaskIds);
  }

  /** One prune pass; concurrent calls share the pass that is running. */
  prune(opts: { dryRun?: boolean } = {}): Promise<PruneReport> {
    if (this.#pruning && !opts.dryRun) return this.#pruning;
    const run = pruneWorktrees({ store: this.ctx.store, home: this.ctx.home, liveness: this.ctx.liveness, dryRun: opts.dryRun ?? false, queue: this.ctx.queue });
    if (opts.dryRun) return run;
    this.#pruning = run.finally(() => {
      this.#pruning = undefined;
    });
    return this.#pruning;
  }

  /** Resolves once no scheduled or requested prune is running. */
  async idle(): Promise<void> {
    await this.#pruning?.catch(() => undefined);
  }

  /**
   * Prune every `intervalMs` (config.worktreePruneIntervalMs) until the returned function is called. A tick
   * that comes while the previous tick's pass still runs is skipped: a pass longer than the interval (many
   * worktrees to remove) is reported once, not once per tick that joined it.
   */
  startPruneTimer(intervalMs: number, onReport?: (r: PruneReport) => void): () => void {
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      this.prune()
        .then(
          (r) => onReport?.(r),
          (err) => this.ctx.warn(`scheduled worktree prune failed: ${messageOf(err)}`),
        )
        .finally(() => {
          busy = false;
        });
    }, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }
}
