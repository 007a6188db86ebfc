import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { ResolvedConfig, ResolvedProvider } from '../config/types.js';
import { TetoraError } from '../errors.js';
import { processStartedAt } from '../util/procgroup.js';
import { clampDelay } from '../util/timers.js';
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { openDb, type Db } from '../store/db.js';
import { storeError } from '../store/errors.js';
import { StoreHealth, type StoreHealthState } from '../store/health.js';
import { tryLockHome, type HomeLock } from '../store/lock.js';
import { SessionStore } from '../store/sessions.js';
import { TaskStore, type ListFilter, type NewTask, type TaskEvent, type TaskRow, type TaskRun } from '../store/tasks.js';
import { EventBus, Ledger, type TerminalHook } from './ledger.js';
import { silentLogger, type Logger } from './logger.js';
import type { ProviderAdapter } from './provider.js';
import { reconcile, type ReconcileReport } from './reconciler.js';
import { dailyBudgetProblem } from './budget.js';
import { buildTask, idempotencyMismatch, sameRequest, type EnqueueContext } from './request.js';
import { RouteStore } from '../store/routing.js';
import type { RouteRecord, TierDecision } from '../routing/tiers.js';
import { startRun, type ActiveRun } from './runner.js';
import { diskProblem, runsDiskError, type DiskProblem } from './spool-disk.js';
import { Scheduler } from './scheduler.js';
import { Delegation } from './delegation.js';
import { SmartDispatch } from './smart-dispatch.js';
import { TaskFamilyStore } from '../store/family.js';
import { isTerminal, type TaskStatus } from './states.js';
import type { WorkspaceManager } from './workspace.js';

export interface EngineOptions {
  config: ResolvedConfig;
  /** Builds the adapter for a provider name under the current config (e.g. a ProviderRegistry). */
  providers: {
    get(name: string): ProviderAdapter | undefined;
    reload?(config: ResolvedConfig): void;
    /** An adapter for provider settings that may no longer be in the config (a re-attached run's). */
    build?(cfg: ResolvedProvider): ProviderAdapter;
    /** Resolves once every process the providers are still killing is gone (a clean stop waits for it). */
    idle?(): Promise<void>;
  };
  workspaces?: WorkspaceManager;
  log?: Logger;
  now?: () => number;
  random?: () => number;
  instanceId?: string;
  /** Grace between SIGTERM and SIGKILL when the reconciler kills orphans. @default 2000 */
  killGraceMs?: number;
  /**
   * Runs once when the engine stops, after every run ended and before the store closes: the daemon ends
   * its HTTP streams and waits here, so nothing reads a closed store.
   */
  beforeClose?: () => Promise<void>;
  /** The store's lock, when the caller took it first (`lockHome`); the engine releases it when it stops. */
  homeLock?: HomeLock;
}

/**
 * Two engines on one store would each take the other's running tasks for orphans and kill them: the
 * kernel's lock on the store's lock file decides which one runs (atomically: two started together cannot
 * both pass). The refusal names the holder when its instance row says who it is.
 */
export function lockHome(dbPath: string): HomeLock | undefined {
  if (dbPath === ':memory:') return undefined;
  const lock = tryLockHome(dbPath);
  if (lock) return lock;
  let holder: { id: string; pid: number } | undefined;
  try {
    const db = openDb(dbPath, { readonly: true });
    try {
      const here = hostname();
      holder = new TaskStore(db).openInstances().find((i) => i.hostname === here && i.pid !== process.pid && processStartedAt(i.pid) !== undefined);
    } finally {
      db.close();
    }
  } catch {
    /* not readable yet (being created or migrated by the holder): the message says less */
  }
  const who = holder ? `pid ${holder.pid}, instance ${holder.id}` : 'its pid is not recorded yet';
  throw new TetoraError(
    'TET_ERR_HOME_IN_USE',
    `another Tetora daemon (${who}) is running on ${dbPath}; stop it first (\`tetora drain\`${holder ? `, or kill ${holder.pid}` : ''}), or give this one another TETORA_HOME.`,
    holder ? { pid: holder.pid, instance: holder.id } : {},
  );
}

/** The tasks of one request as committed: new ones, or those its idempotency keys already named. */
export type Accepted = Array<{ task: TaskRow; created: boolean }>;

export type EngineState = 'created' | 'running' | 'draining' | 'stopped';

export interface AgentStats {
  agent: string;
  running: number;
  queued: number;
  waiting: number;
  maxTasksPerAgent: number | null;
}

/**
 * The task engine: the programmatic API every source uses (enqueue, get, list, cancel, subscribe), the
 * scheduler that starts queued tasks under the caps, and the runner that drives providers.
 */
export class Engine {
  readonly instanceId: string;
  readonly store: TaskStore;
  readonly sessions: SessionStore;
  readonly bus = new EventBus();
  readonly #db: Db;
  readonly #health: StoreHealth;
  readonly #ledger: Ledger;
  readonly #scheduler: Scheduler;
  readonly #runs = new Map<string, ActiveRun>();
  readonly #delegation: Delegation;
  readonly #smart: SmartDispatch;
  readonly #family: TaskFamilyStore;
  readonly #log: Logger;
  readonly #now: () => number;
  #config: ResolvedConfig;
  #state: EngineState = 'created';
  readonly #lock: HomeLock | undefined;
  /** Set at start (see TaskStore.homeIdAt). */
  #homeId = '';
  lastReconcile: ReconcileReport | undefined;

  constructor(private readonly opts: EngineOptions) {
    this.#config = opts.config;
    this.#log = opts.log ?? silentLogger;
    this.#now = opts.now ?? Date.now;
    this.instanceId = opts.instanceId ?? randomUUID();
    // The lock first: two daemons started together must not both migrate the database.
    this.#lock = opts.homeLock ?? lockHome(opts.config.dbPath);
    try {
      this.#db = openDb(opts.config.dbPath);
    } catch (err) {
      this.#lock?.release();
      throw err;
    }
    this.store = new TaskStore(this.#db);
    this.sessions = new SessionStore(this.#db, this.#now);
    // Once a failing store takes writes again: buffered progress goes first, then waiting work starts.
    this.#health = new StoreHealth(this.#db, opts.config.dbPath, {
      now: this.#now,
      log: this.#log,
      onRecovered: () => {
        try {
          this.#ledger.flushProgress();
        } catch {
          /* kept for the next flush */
        }
        this.#scheduler.poke();
      },
    });
    this.#ledger = new Ledger(this.store, this.bus, this.#now, this.#health);
    // Delegation: a child's end may complete its waiting parent, in the child's terminal transaction.
    this.#family = new TaskFamilyStore(this.#db);
    this.#delegation = new Delegation({ ledger: this.#ledger, config: () => this.#config, now: this.#now, log: this.#log, spoolRoot: () => this.#spoolRoot() });
    this.#ledger.onTerminal((row) => this.#delegation.onTerminal(row));
    // Smart dispatch: a classifier task's end routes the task it classified, in the same transaction.
    this.#smart = new SmartDispatch({ ledger: this.#ledger, routes: new RouteStore(this.#db), config: () => this.#config, now: this.#now, log: this.#log, poke: () => this.#scheduler.poke() });
    this.#ledger.onTerminal((task) => this.#smart.onTerminal(task));
    const random = opts.random ?? Math.random;
    this.#scheduler = new Scheduler({
      store: this.store,
      ledger: this.#ledger,
      config: () => this.#config,
      now: this.#now,
      log: this.#log,
      instanceId: this.instanceId,
      running: this.#runs,
      storeFailed: (err) => this.#health.failed(err),
      start: (task, adopt) => {
        const deps = {
          homeId: this.#homeId,
          spoolRoot: this.#spoolRoot(),
          stopping: () => this.#stopping !== undefined || this.#state === 'stopped',
          // A result the store refused is tried again once it takes writes, or given up to the next start.
          storeRecovered: () => Promise.race([this.#health.recovered(), this.#stopRequested]),
          ledger: this.#ledger,
          sessions: this.sessions,
          provider: (name: string) => this.opts.providers.get(name),
          ...(this.opts.providers.build ? { providerFrom: (cfg: ResolvedProvider) => this.opts.providers.build!(cfg) } : {}),
          config: () => this.#config,
          instanceId: this.instanceId,
          now: this.#now,
          random,
          log: this.#log,
          ...(this.opts.workspaces ? { workspaces: this.opts.workspaces } : {}),
          delegation: this.#delegation,
          runsDisk: {
            blocked: (p: DiskProblem) => {
              if (!this.#runsDisk) this.#log.error({ code: p.kind === 'full' ? 'TET_ERR_RUNS_DISK_FULL' : 'TET_ERR_RUNS_DISK_READONLY', reason: p.reason, fix: p.fix }, 'runs cannot start: their disk refuses writes; new tasks are refused and due runs wait until it takes writes again');
              this.#runsDisk = p;
            },
            cleared: () => this.#runsDiskCleared(),
          },
        };
        return startRun(task, deps, adopt);
      },
    });
  }

  get state(): EngineState {
    return this.#state;
  }

  /** Whether the store accepts writes; while it does not, why, since when and what to do. */
  storeHealth(): StoreHealthState {
    return this.#health.state();
  }

  #onStopRequested!: () => void;
  /** Resolves when a stop begins. */
  readonly #stopRequested = new Promise<void>((r) => (this.#onStopRequested = r));

  get config(): ResolvedConfig {
    return this.#config;
  }

  #setState(s: EngineState): void {
    this.#log.info({ state: s, instance: this.instanceId }, 'engine state changed');
    this.#state = s;
  }

  /**
   * Take the home lock (one engine per store), register this instance, reconcile what a previous one left —
   * re-attaching to its runs that still go or ended unwatched —, and start scheduling.
   */
  async start(): Promise<ReconcileReport> {
    if (this.#state !== 'created') throw new TetoraError('TET_ERR_ENGINE_STOPPED', `the engine cannot start from state ${this.#state}.`);
    try {
      return await this.#start();
    } catch (err) {
      // A full disk or a read-only store at start: one catalogued line naming the file and the fix.
      throw storeError(err, this.#config.dbPath, 'cannot start: the store refuses writes') ?? err;
    }
  }

  async #start(): Promise<ReconcileReport> {
    this.#homeId = this.store.homeIdAt(this.#config.dbPath === ':memory:' ? ':memory:' : realpathSync(this.#config.dbPath));
    const here = hostname();
    this.store.registerInstance(this.instanceId, process.pid, here, this.#now());
    // We hold the lock: every other instance of this host that never recorded its stop is dead.
    this.store.closeOtherInstances(this.instanceId, here, this.#now());
    const { adopt, ...report } = await reconcile(this.store, this.#ledger, this.instanceId, this.#log, {
      homeId: this.#homeId,
      spoolRoot: this.#spoolRoot(),
      now: this.#now(),
      maxInterruptions: this.#config.retry.maxInterruptions,
      ...(this.opts.killGraceMs !== undefined ? { graceMs: this.opts.killGraceMs } : {}),
    });
    this.lastReconcile = report;
    // A waiting parent whose children all ended (they end in one transaction with it; this is a safety net).
    this.#delegation.sweep();
    // Locks held by an earlier instance's tasks are released, except those of the runs re-attached to.
    if (this.opts.workspaces) await this.opts.workspaces.reconcile(new Set(adopt.map((a) => a.task.id)));
    this.#setState('running');
    for (const a of adopt) this.#scheduler.adopt(a.task, a.run);
    this.#scheduler.start();
    return this.lastReconcile;
  }

  /** Set while a run cannot start because the spools' disk refuses writes (full, read-only). */
  #runsDisk: DiskProblem | undefined;

  #runsDiskCleared(): void {
    if (!this.#runsDisk) return;
    this.#log.info({ was: this.#runsDisk.reason }, "the runs' disk takes writes again");
    this.#runsDisk = undefined;
  }

  /** While runs cannot start for their disk, new work is refused (checked again first: the disk may have room now). */
  #assertRunsDisk(doing: string): void {
    if (!this.#runsDisk) return;
    const p = diskProblem(this.#spoolRoot());
    if (!p) return this.#runsDiskCleared();
    this.#runsDisk = p;
    throw runsDiskError(p, this.#spoolRoot(), doing);
  }

  #spoolRoot(): string {
    return join(this.#config.home, 'runtime', 'runs');
  }

  #assertAccepting(): void {
    if (this.#state !== 'running' && this.#state !== 'created') {
      throw new TetoraError('TET_ERR_ENGINE_STOPPED', `the engine is ${this.#state} and accepts no new tasks; retry once the daemon is back.`);
    }
  }

  /** Validate and durably record a task. When this returns, the task is committed. */
  enqueue(input: unknown, ctx: EnqueueContext): Accepted[number] {
    return this.enqueueMany([input], ctx)[0] as Accepted[number];
  }

  /**
   * Validate and record tasks in one transaction: one bad request records none. Returns once committed.
   * An idempotency key that names a task of another request: TET_ERR_IDEMPOTENCY_MISMATCH, nothing written.
   */
  enqueueMany(inputs: unknown[], ctx: EnqueueContext): Accepted {
    const [outcome] = this.#record([this.#build(inputs, ctx)]);
    if (outcome instanceof TetoraError) throw outcome;
    return outcome as Accepted;
  }

  /**
   * Like enqueueMany, for servers: the requests of one turn of the event loop share one commit (group
   * commit), so many concurrent clients cost one fsync, not one each. Resolves once committed; a bad
   * request is refused at once without touching the others, and so is one whose idempotency key was
   * taken by another request (also one of the same group): see #record.
   */
  enqueueGrouped(inputs: unknown[], ctx: EnqueueContext): Promise<Accepted> {
    let rows: NewTask[];
    try {
      rows = this.#build(inputs, ctx);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise((resolve, reject) => {
      if (!this.#group) {
        this.#group = [];
        setImmediate(() => this.#flushGroup());
      }
      this.#group.push({ rows, resolve, reject });
    });
  }

  #group: Array<{ rows: NewTask[]; resolve: (r: Accepted) => void; reject: (err: unknown) => void }> | undefined;

  #flushGroup(): void {
    const group = this.#group;
    if (!group) return;
    this.#group = undefined;
    let outcomes: Array<Accepted | TetoraError>;
    try {
      outcomes = this.#record(group.map((g) => g.rows));
    } catch (err) {
      for (const g of group) g.reject(err);
      return;
    }
    group.forEach((g, i) => {
      const outcome = outcomes[i] as Accepted | TetoraError;
      if (outcome instanceof TetoraError) g.reject(outcome);
      else g.resolve(outcome);
    });
  }

  #build(inputs: unknown[], ctx: EnqueueContext): NewTask[] {
    this.#assertAccepting();
    const now = this.#now();
    const rows = inputs.map((input, i) => buildTask(input, ctx, this.#config, now, inputs.length > 1 ? i : undefined, this.#smart.routingOf(input, ctx)));
    for (const agent of new Set(rows.map((r) => r.agent))) {
      const problem = dailyBudgetProblem(this.#config, agent, now, (since, a) => this.store.spentSince(since, a));
      if (problem) throw new TetoraError('TET_ERR_BUDGET_EXCEEDED', `${problem}.`, { field: 'agent', value: agent ?? null });
    }
    return rows;
  }

  /**
   * Commit the tasks of several requests in one transaction, each request in its own savepoint: a request
   * one of whose idempotency keys already names a task of a different request (committed before, or
   * written by an earlier request of this very transaction) is rolled back alone and answered with
   * TET_ERR_IDEMPOTENCY_MISMATCH (422); the comparison happens here, inside the commit, so two requests
   * racing with one key cannot both pass it. Returns each request's tasks or its refusal, in order.
   *
   * While the store refuses writes every request is refused with the store's catalogued error (503,
   * Retry-After): TET_ERR_STORE_FULL, _READONLY or _UNAVAILABLE. On a full disk the WAL is checkpointed
   * first and the write tried once more (the WAL may be what filled the disk).
   */
  #record(requests: NewTask[][]): Array<Accepted | TetoraError> {
    const one = (rows: NewTask[]): Accepted =>
      rows.map((row) => {
        const r = this.#ledger.accept(row);
        if (!r.created && row.idempotencyKey && !sameRequest(r.task, row)) throw idempotencyMismatch(row.idempotencyKey, r.task);
        // A task smart dispatch leaves to the model: its classifier task and their link, in this commit.
        if (r.created && r.task.status === 'routing') this.#smart.classify(r.task);
        return r;
      });
    const write = () =>
      this.#ledger.atomically(() =>
        requests.map((rows) => {
          try {
            return this.#ledger.savepoint(() => one(rows));
          } catch (err) {
            if (err instanceof TetoraError && err.code === 'TET_ERR_IDEMPOTENCY_MISMATCH') return err;
            throw err;
          }
        }),
      );
    const count = requests.reduce((n, rows) => n + rows.length, 0);
    this.#assertRunsDisk(`cannot accept the task${count > 1 ? 's' : ''}`);
    let outcomes: Array<Accepted | TetoraError>;
    try {
      outcomes = write();
    } catch (err) {
      if (!this.#health.failed(err)) throw err;
      if (!this.#health.probe()) throw this.#health.error(`cannot record the task${count > 1 ? 's' : ''}`);
      try {
        outcomes = write();
      } catch (again) {
        if (this.#health.failed(again)) throw this.#health.error(`cannot record the task${count > 1 ? 's' : ''}`);
        throw again;
      }
    }
    this.#scheduler.poke();
    return outcomes;
  }

  /** The tiers' decision for a request (undefined when smart dispatch is off or the request is invalid). Runs no model. */
  routeDecision(input: unknown, ctx: Pick<EnqueueContext, 'source' | 'routeHints'>): TierDecision | undefined {
    return this.#smart.decision(input, ctx);
  }

  /**
   * `tetora route` / `POST /api/route`: the agent smart dispatch would choose for a request, without
   * running it (see SmartDispatch.route; a classifier task may run, and this waits for it).
   */
  async route(input: unknown, ctx: Pick<EnqueueContext, 'source' | 'routeHints'>, signal?: AbortSignal): Promise<RouteRecord> {
    this.#assertAccepting();
    return await this.#smart.route(input, ctx, signal);
  }

  /** Resolves with the task once it has left `routing` (its agent chosen, or it ended). */
  routed(id: string, signal?: AbortSignal): Promise<TaskRow> {
    return this.#smart.routed(id, signal);
  }

  get(id: string): TaskRow | undefined {
    return this.store.get(id);
  }

  /**
   * The store's connection, for the stores of other modules (Discord outbox, workflow runs, leases):
   * their rows share this engine's transactions (see atomically), so a source's own row and its task,
   * or a sink's row and a task's terminal state, commit together.
   */
  get db(): Db {
    return this.#db;
  }

  /**
   * Run `fn` as one transaction on the store; enqueue() inside it joins it, so a source records its own
   * row (an inbound message, a workflow step) and its task in one commit. Task events are published
   * after the commit.
   */
  atomically<T>(fn: () => T): T {
    return this.#ledger.atomically(fn);
  }

  /** See Ledger.onTerminal: `hook` runs inside the transaction of every task's terminal state. */
  onTerminal(hook: TerminalHook): () => void {
    return this.#ledger.onTerminal(hook);
  }

  require(id: string): TaskRow {
    const t = this.store.get(id);
    if (!t) throw new TetoraError('TET_ERR_TASK_NOT_FOUND', `no task has id ${id}; list tasks with \`tetora task list\`.`, { id });
    return t;
  }

  list(filter: Partial<ListFilter> = {}): TaskRow[] {
    return this.store.list({ limit: 50, ...filter });
  }

  events(taskId: string, afterSeq = 0): TaskEvent[] {
    return this.store.events(taskId, afterSeq);
  }

  runs(taskId: string): TaskRun[] {
    return this.store.runs(taskId);
  }

  subscribe(fn: (e: TaskEvent) => void): () => void {
    return this.bus.subscribe(fn);
  }

  /**
   * Cancel a task: immediate when waiting; a running one has its process group killed first. A task that
   * already ended cannot be cancelled: TET_ERR_TASK_TRANSITION (409).
   */
  async cancel(id: string, by = 'user'): Promise<TaskRow> {
    return this.#cancel(id, `cancelled by ${by}`);
  }

  /**
   * Cancel `id`, then every task whose parent it is and that has not ended (delegated children, routing
   * classifiers), recursively. The parent goes first: a waiting parent is cancelled, not completed by
   * its children's cancellation. A child that cannot be cancelled (it ended meanwhile, it runs on
   * another instance) is logged and skipped.
   */
  async #cancel(id: string, message: string): Promise<TaskRow> {
    const t = this.require(id);
    if (isTerminal(t.status)) {
      throw new TetoraError('TET_ERR_TASK_TRANSITION', `task ${id} already ended (${t.status}); there is nothing to cancel. Dispatch it again to run it again.`, { id, status: t.status });
    }
    await this.#cancelOne(t, message);
    for (const child of this.#family.openChildren(id)) {
      try {
        await this.#cancel(child.id, `cancelled with its parent task ${id} (${message})`);
      } catch (err) {
        this.#log.warn({ taskId: child.id, parentId: id, err: (err as Error).message }, 'could not cancel a child of a cancelled task');
      }
    }
    return this.require(id);
  }

  async #cancelOne(t: TaskRow, message: string): Promise<void> {
    const id = t.id;
    if (t.status === 'running') {
      const run = this.#runs.get(id);
      if (!run) throw new TetoraError('TET_ERR_TASK_TRANSITION', `task ${id} is running on another daemon instance (${t.instanceId}); cancel it there.`, { id });
      run.abort({ kind: 'cancel', message });
      await run.done;
    } else {
      this.#ledger.move(t, t.status as TaskStatus, 'cancelled', { errorClass: 'cancelled', errorMessage: message }, { message });
      this.#scheduler.poke();
    }
  }

  /** A config reload: caps, agents and providers apply to the next start. */
  reload(config: ResolvedConfig): void {
    this.#config = config;
    this.opts.providers.reload?.(config);
    this.#scheduler.poke();
  }

  stats(): { running: number; queued: number; agents: AgentStats[]; byStatus: Record<string, number> } {
    const agents = new Map<string, AgentStats>();
    const byStatus: Record<string, number> = {};
    const get = (name: string) => {
      let a = agents.get(name);
      if (!a) {
        a = { agent: name, running: 0, queued: 0, waiting: 0, maxTasksPerAgent: this.#config.agents[name]?.maxTasksPerAgent ?? null };
        agents.set(name, a);
      }
      return a;
    };
    for (const name of Object.keys(this.#config.agents)) get(name);
    for (const { agent, status, n } of this.store.countsByAgentAndStatus()) {
      byStatus[status] = (byStatus[status] ?? 0) + n;
      if (!agent) continue;
      if (status === 'running') get(agent).running += n;
      else if (status === 'queued') get(agent).queued += n;
      else if (status === 'retry_wait' || status === 'rate_limited' || status === 'interrupted' || status === 'waiting') get(agent).waiting += n;
    }
    return { running: this.#runs.size, queued: byStatus.queued ?? 0, agents: [...agents.values()], byStatus };
  }

  /**
   * Stop taking work, give running tasks up to `timeoutMs` to finish, then interrupt the rest (they are
   * queued again at the next start without using an attempt) and close the store.
   */
  async drain(timeoutMs: number): Promise<void> {
    if (this.#state === 'stopped' || this.#stopping) return this.stop();
    this.#setState('draining');
    this.#scheduler.stop();
    const all = Promise.all([...this.#runs.values()].map((r) => r.done));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise((r) => (timer = setTimeout(r, clampDelay(timeoutMs))))]);
    if (timer) clearTimeout(timer);
    await this.stop();
  }

  /**
   * The first half of a handover (an upgrade's restart): stop starting tasks and taking new ones, and leave
   * every run going. Tasks keep being followed and recorded until `handOver()`.
   */
  pauseForHandover(): void {
    if (this.#state !== 'running') return;
    this.#setState('draining');
    this.#scheduler.stop();
  }

  /**
   * The second half of a handover: let go of the running agents without stopping them, for the next daemon
   * to adopt (its reconciler re-attaches to every run whose launcher still runs or wrote its exit). Writes
   * what is buffered, records this instance's stop, closes the store and releases the home lock — all in
   * this one synchronous call, so the caller can exit the process right after it, before any follower of a
   * run touches the closed store. Returns the ids of the tasks left running.
   */
  handOver(): string[] {
    if (this.#state === 'stopped' || this.#stopping) return [];
    this.#onStopRequested();
    this.#scheduler.stop();
    const left = [...this.#runs.keys()];
    this.#flushGroup();
    this.#stopStep('writing buffered progress', () => this.#ledger.flushProgress());
    this.#stopStep('recording the stop of this instance', () => this.store.stopInstance(this.instanceId, this.#now()));
    this.#health.stop();
    this.#setState('stopped');
    this.#stopping = Promise.resolve();
    this.#stopStep('closing the store', () => this.#db.close());
    this.#stopStep('releasing the home lock', () => this.#lock?.release());
    this.#log.info({ instance: this.instanceId, left: left.length }, 'handed over: running agents left for the next daemon to adopt');
    return left;
  }

  /** Interrupt whatever still runs and close. Calls made while a stop is in progress share it. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  #stopping: Promise<void> | undefined;

  /**
   * Stop, whatever the store says: a write it refuses is logged and left to the next start (a run's result
   * stays in its spool), and the store is closed and the home lock released in any case.
   */
  async #stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#onStopRequested();
    this.#scheduler.stop();
    for (const r of this.#runs.values()) r.abort({ kind: 'shutdown', message: 'the daemon is shutting down; the task resumes at the next start' });
    await Promise.allSettled([...this.#runs.values()].map((r) => r.done));
    // Nothing a task started outlives the daemon's clean stop: wait for the last kills.
    await this.opts.providers.idle?.().catch((err: unknown) => this.#log.warn({ err: (err as Error).message }, 'waiting for the last kills failed'));
    // Requests validated but not yet committed are committed now: their callers wait for the answer.
    this.#flushGroup();
    this.#stopStep('writing buffered progress', () => this.#ledger.flushProgress());
    try {
      await this.opts.beforeClose?.();
    } catch (err) {
      this.#log.error({ err: (err as Error).message }, 'shutting down the HTTP side failed; closing the store anyway');
    }
    this.#stopStep('recording the stop of this instance', () => this.store.stopInstance(this.instanceId, this.#now()));
    this.#health.stop();
    this.#setState('stopped');
    this.#stopStep('closing the store', () => this.#db.close());
    this.#stopStep('releasing the home lock', () => this.#lock?.release());
  }

  /** One step of a stop: a store failure is reported (the store's health says so) and the stop goes on. */
  #stopStep(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#health.failed(err);
      this.#log.error({ err: (err as Error).message }, `${what} failed while stopping; going on (the next start reconciles what was not recorded)`);
    }
  }
}
