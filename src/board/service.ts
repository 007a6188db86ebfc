import type { ResolvedConfig, TaskBoardConfig } from '../config/types.js';
import { DEFAULT_PROMPT_LIMITS, resolveTaskBoard } from '../config/board.js';
import { DutyKeeper } from '../duties/keeper.js';
import type { Engine } from '../engine/engine.js';
import type { Logger } from '../engine/logger.js';
import { fullOutput } from '../engine/output.js';
import { TetoraError, messageOf } from '../errors.js';
import { BoardStore, type Ticket, type TicketComment, type TicketPatch, type TicketPriority, type TicketStatus, type TicketTaskKind } from '../store/board.js';
import { LeaseStore } from '../store/leases.js';
import type { TaskRow } from '../store/tasks.js';
import { dependencyCycle, type NewTicketRequest, type TicketEdit } from './input.js';
import { afterReview, afterRun, type Decision, type TaskEnd } from './outcome.js';
import { promptTooLarge, reviewPrompt, ticketPrompt } from './prompt.js';

/** The lease of the auto-dispatch scan (DESIGN §3): one scan at a time per store. */
export const BOARD_DUTY = 'board:scan';

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled', 'timed_out']);
/** A ticket's priority as its task's (the scheduler's order). */
const TASK_PRIORITY: Record<TicketPriority, number> = { low: -10, normal: 0, high: 10, urgent: 20 };

export interface BoardServiceOptions {
  engine: Engine;
  config: () => ResolvedConfig;
  log: Logger;
  now?: () => number;
  /** Lease of the scan's duty. @default 30000 */
  leaseTtlMs?: number;
}

/** Who runs a ticket: an agent of the config, a person (never dispatched), or nobody (no default agent). */
export type Runner = { agent: string } | { person: string } | { none: true };

export interface ClaimResult {
  ticket: Ticket;
  task?: TaskRow;
  /** Not claimed: someone else moved it first, or it failed a guard (the ticket says why). */
  claimed: boolean;
}

/**
 * The task board: tickets and their moves, the auto-dispatch scan (a singleton duty under `board:scan`),
 * the atomic claim (`todo → doing` with the engine task in one transaction) and a terminal hook that moves
 * a ticket in its task's terminal transaction. Findings pass whole (fullOutput, no cap).
 */
export class BoardService {
  readonly store: BoardStore;
  readonly #o: BoardServiceOptions;
  readonly #now: () => number;
  readonly #leases: LeaseStore;
  #keeper: DutyKeeper | undefined;
  #timer: NodeJS.Timeout | undefined;
  #pokeScheduled = false;
  #held = false;
  readonly #off: Array<() => void> = [];

  constructor(opts: BoardServiceOptions) {
    this.#o = opts;
    this.#now = opts.now ?? Date.now;
    this.store = new BoardStore(opts.engine.db);
    this.#leases = new LeaseStore(opts.engine.db);
    // Before engine.start(): the boot reconciler may end board tasks. Kept for the engine's whole life (a task
    // ending while the daemon drains still moves its ticket), so stop() does not remove it.
    opts.engine.onTerminal((task) => this.#onTerminal(task));
  }

  get #cfg(): TaskBoardConfig {
    const config = this.#o.config();
    return config.taskBoard ?? resolveTaskBoard(undefined, config.agents, config.defaultAgent, (path) => new Error(path));
  }

  // ---- the scan duty ---------------------------------------------------------------------------------

  /** Take up the scan duty (after engine.start()): every `autoDispatch.interval`, and when poked. */
  start(): void {
    this.#leases.releaseStopped('board:');
    this.#keeper = new DutyKeeper({
      duty: BOARD_DUTY,
      owner: this.#o.engine.instanceId,
      leases: this.#leases,
      log: this.#o.log,
      ...(this.#o.leaseTtlMs !== undefined ? { ttlMs: this.#o.leaseTtlMs } : {}),
      onGain: () => {
        this.#held = true;
        this.#arm();
        this.poke();
      },
      onLose: (reason) => {
        this.#held = false;
        clearTimeout(this.#timer);
        this.#o.log.info({ reason }, 'board: scan duty given up');
      },
    });
    this.#keeper.start();
    // A board task's end moved its ticket (maybe back to todo, or freed a slot): scan again.
    this.#off.push(
      this.#o.engine.subscribe((e) => {
        if (TERMINAL.has(e.type) && this.#o.engine.get(e.taskId)?.source === 'board') this.poke();
      }),
    );
  }

  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    for (const off of this.#off.splice(0)) off();
    await this.#keeper?.stop();
    this.#held = false;
  }

  /** SIGHUP: the interval may have changed. */
  reload(): void {
    if (this.#held) this.#arm();
    this.poke();
  }

  #arm(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.poke();
      this.#arm();
    }, this.#cfg.autoDispatch.intervalMs);
    this.#timer.unref();
  }

  /** Scan soon (coalesced), if this daemon holds the scan duty. */
  poke(): void {
    if (!this.#held || this.#pokeScheduled) return;
    this.#pokeScheduled = true;
    setImmediate(() => {
      this.#pokeScheduled = false;
      if (!this.#held) return;
      try {
        this.scan();
      } catch (err) {
        this.#o.log.error({ err: messageOf(err) }, 'board: the scan failed; it runs again at the next poke or interval');
      }
    });
  }

  /**
   * One scan: repair `doing` tickets whose task already ended (idempotent), then, with auto-dispatch on,
   * claim `todo` tickets in priority order within `maxConcurrentTasks`. Returns the tickets claimed.
   */
  scan(): string[] {
    this.repair();
    const cfg = this.#cfg;
    if (!cfg.enabled || !cfg.autoDispatch.enabled) return [];
    return this.dispatch(this.plan());
  }

  /** The `todo` tickets a scan would claim now, in order (agents only, dependencies done). Reads only. */
  plan(): Ticket[] {
    const out: Ticket[] = [];
    for (const t of this.store.withStatus('todo')) {
      if (!('agent' in this.runner(t))) continue;
      if (this.unmetDependencies(t).length > 0) continue;
      out.push(t);
    }
    return out;
  }

  /** Claim planned tickets while fewer than `maxConcurrentTasks` run. Each claim is its own transaction. */
  dispatch(planned: readonly Ticket[]): string[] {
    const claimed: string[] = [];
    let inFlight = this.store.running();
    for (const t of planned) {
      if (inFlight >= this.#cfg.autoDispatch.maxConcurrentTasks) break;
      let r: ClaimResult;
      try {
        r = this.#claim(t.id, 'todo', false);
      } catch (err) {
        this.#o.log.warn({ ticket: t.id, err: messageOf(err) }, 'board: claiming a ticket failed; the next scan tries again');
        continue;
      }
      if (r.claimed) {
        claimed.push(t.id);
        inFlight++;
      }
    }
    if (claimed.length) this.#o.log.info({ claimed }, 'board: tickets dispatched');
    return claimed;
  }

  /** `doing` tickets whose task ended (its hook missed, e.g. it failed) or vanished: moved as the end says. */
  repair(): void {
    for (const t of this.store.withStatus('doing')) {
      if (!t.currentTask) continue; // a person works on it
      const task = this.#o.engine.get(t.currentTask);
      try {
        this.#o.engine.atomically(() => {
          const now = this.#now();
          if (!task) {
            this.store.move(t.id, 'doing', 'todo', { currentTask: null, currentKind: null, statusReason: `its task ${t.currentTask} no longer exists; back to todo` }, now, t.currentTask as string);
            return;
          }
          if (TERMINAL.has(task.status)) this.#follow(t, task);
        });
      } catch (err) {
        this.#o.log.warn({ ticket: t.id, err: messageOf(err) }, 'board: repairing a ticket failed; the next scan tries again');
      }
    }
  }

  // ---- who, and dependencies -------------------------------------------------------------------------

  runner(t: Pick<Ticket, 'assignee'>): Runner {
    const config = this.#o.config();
    if (t.assignee === null) {
      const d = this.#cfg.autoDispatch.defaultAgent;
      return d !== undefined && Object.hasOwn(config.agents, d) ? { agent: d } : { none: true };
    }
    return Object.hasOwn(config.agents, t.assignee) ? { agent: t.assignee } : { person: t.assignee };
  }

  /** The dependencies of a ticket not `done` yet, with their status. */
  unmetDependencies(t: Pick<Ticket, 'dependsOn'>): Array<{ id: string; status: TicketStatus | 'missing' }> {
    const out: Array<{ id: string; status: TicketStatus | 'missing' }> = [];
    for (const id of t.dependsOn) {
      const d = this.store.get(id);
      if (d?.status !== 'done') out.push({ id, status: d?.status ?? 'missing' });
    }
    return out;
  }

  /** The prompt of a ticket's run, with every dependency's finding in full. */
  prompt(t: Ticket): string {
    const deps = t.dependsOn.map((id) => {
      const d = this.store.get(id) as Ticket;
      return { ticket: d, finding: d.finding ?? '' };
    });
    return ticketPrompt(t, this.store.comments(t.id), deps);
  }

  // ---- the claim -------------------------------------------------------------------------------------

  /**
   * `from → doing` and the engine task, in one transaction. The compare-and-set comes first (see
   * BoardStore.claim); then the guards: `maxExecutions` (automatic runs only) and the provider's prompt
   * limit fail the ticket with the reason; a task the engine refuses puts it back where it was.
   */
  #claim(id: string, from: TicketStatus, manual: boolean): ClaimResult {
    const engine = this.#o.engine;
    return engine.atomically(() => {
      const now = this.#now();
      if (!this.store.claim(id, from, now)) return { ticket: this.store.get(id) as Ticket, claimed: false };
      const t = this.store.get(id) as Ticket;
      const fail = (reason: string): ClaimResult => {
        this.store.move(id, 'doing', 'failed', { executions: t.executions - 1, statusReason: reason }, now);
        this.store.addComment({ ticketId: id, author: 'board', body: `[auto-flag] ${reason}`, kind: 'system' }, now);
        this.#o.log.warn({ ticket: id, reason }, 'board: ticket failed before its run');
        return { ticket: this.store.get(id) as Ticket, claimed: false };
      };
      const max = this.#cfg.autoDispatch.maxExecutions;
      if (!manual && t.executions - t.executionBase > max) {
        return fail(`the ticket ran ${t.executions - 1 - t.executionBase} times, the most taskBoard.autoDispatch.maxExecutions (${max}) allows; look at its comments and finding, then move it to todo (which starts the count again) or \`tetora board run\` it`);
      }
      const who = this.runner(t);
      if (!('agent' in who)) {
        // Reassigned to a person (or the default agent removed) since it was planned: it stays where it was.
        this.store.move(id, 'doing', from, { executions: t.executions - 1, statusReason: 'no agent runs it: the assignee is a person, or there is no default agent' }, now);
        return { ticket: this.store.get(id) as Ticket, claimed: false };
      }
      const config = this.#o.config();
      const agent = config.agents[who.agent];
      const provider = agent ? config.providers[agent.provider] : undefined;
      const prompt = this.prompt(t);
      const tooLarge = provider ? promptTooLarge(prompt, who.agent, provider, DEFAULT_PROMPT_LIMITS) : undefined;
      if (tooLarge) return fail(tooLarge);
      const task = this.#enqueue(t, who.agent, prompt, 'run', `board:${id}:${t.executions}`);
      if (task instanceof TetoraError) {
        this.store.move(id, 'doing', from, { executions: t.executions - 1, statusReason: `could not start: ${task.message}` }, now);
        this.#o.log.warn({ ticket: id, err: task.message }, 'board: the engine refused the ticket\'s task; it stays where it was');
        return { ticket: this.store.get(id) as Ticket, claimed: false };
      }
      this.store.edit(id, { currentTask: task.id, currentKind: 'run', statusReason: `${manual ? 'run by hand' : 'dispatched'}: task ${task.id} (agent ${who.agent}, execution ${t.executions})` }, now);
      return { ticket: this.store.get(id) as Ticket, task, claimed: true };
    });
  }

  /** Enqueue a board task (joins the caller's transaction); an engine refusal is returned, not thrown. */
  #enqueue(t: Ticket, agent: string, prompt: string, kind: TicketTaskKind, key: string): TaskRow | TetoraError {
    const worktree = t.worktree ?? (this.#cfg.gitWorktree ? true : undefined);
    const req: Record<string, unknown> = { prompt, agent, idempotencyKey: key, priority: TASK_PRIORITY[t.priority], name: `${t.id} ${kind}` };
    if (t.workdir) req.workdir = t.workdir;
    if (worktree !== undefined && kind === 'run') req.worktree = worktree;
    try {
      return this.#o.engine.enqueue(req, { source: 'board', origin: { ticket: t.id, kind, execution: t.executions } }).task;
    } catch (err) {
      if (err instanceof TetoraError) return err;
      throw err;
    }
  }

  // ---- a task's end ----------------------------------------------------------------------------------

  /** Inside the task's terminal transaction: the ticket follows its task. Never throws (that would undo the task's end). */
  #onTerminal(task: TaskRow): void {
    if (task.source !== 'board') return;
    const t = this.store.byTask(task.id);
    if (!t || t.status !== 'doing') return;
    try {
      // A savepoint: a failure here undoes only the ticket's move; the scan's repair tries again.
      this.#o.engine.db.transaction(() => this.#follow(t, task))();
    } catch (err) {
      this.#o.log.error({ ticket: t.id, task: task.id, err: messageOf(err) }, 'board: moving the ticket after its task failed; the next scan repairs it');
    }
    this.poke();
  }

  /** Apply what the task's end means for the ticket (the caller holds a transaction). Idempotent: guarded by the ticket's task. */
  #follow(t: Ticket, task: TaskRow): void {
    const now = this.#now();
    const cfg = this.#cfg;
    const end = task.status as TaskEnd;
    let output = '';
    let gone: string | undefined;
    try {
      output = fullOutput(task);
    } catch (err) {
      gone = messageOf(err);
    }
    const kind: TicketTaskKind = t.currentKind ?? 'run';
    let d: Decision;
    if (gone !== undefined && end === 'succeeded') d = { kind: 'move', to: 'failed', reason: `the output of task ${task.id} cannot be read: ${gone}` };
    else d = kind === 'run' ? afterRun(end, output, task.errorMessage, t, cfg, task.id) : afterReview(end, output, task.errorMessage, t, cfg, task.id);
    const finding: TicketPatch = kind === 'run' && end === 'succeeded' && gone === undefined ? { finding: output, findingTask: task.id } : {};
    const guard = task.id;

    if (d.kind === 'move') {
      const patch: TicketPatch = { ...finding, currentTask: null, currentKind: null, statusReason: d.reason };
      if (d.retry) patch.retries = t.retries + 1;
      if (d.to === 'done') patch.completedAt = now;
      if (d.escalate && cfg.escalateAssignee) patch.assignee = cfg.escalateAssignee;
      if (!this.store.move(t.id, 'doing', d.to, patch, now, guard)) return;
      if (d.comment) this.store.addComment({ ticketId: t.id, author: 'board', body: d.comment, kind: 'system', taskId: task.id }, now);
      return;
    }
    if (d.kind === 'review') {
      const reviewer = cfg.reviewAgent as string;
      const updated = { ...t, ...finding } as Ticket;
      const prompt = reviewPrompt(t, this.store.comments(t.id), output, task.id);
      const config = this.#o.config();
      const provider = config.agents[reviewer] ? config.providers[(config.agents[reviewer] as { provider: string }).provider] : undefined;
      const tooLarge = provider ? promptTooLarge(prompt, reviewer, provider, DEFAULT_PROMPT_LIMITS) : undefined;
      const review = tooLarge ? undefined : this.#enqueue(updated, reviewer, prompt, 'review', `board:${t.id}:${t.executions}:review`);
      // A stopping engine takes no task: the ticket stays on its ended run, and the next start's repair asks again.
      if (review instanceof TetoraError && review.code === 'TET_ERR_ENGINE_STOPPED') return;
      if (!review || review instanceof TetoraError) {
        const why = tooLarge ?? (review as TetoraError).message;
        const patch: TicketPatch = { ...finding, currentTask: null, currentKind: null, statusReason: `the review by ${reviewer} could not start: ${why}; a person decides` };
        if (cfg.escalateAssignee) patch.assignee = cfg.escalateAssignee;
        this.store.move(t.id, 'doing', 'review', patch, now, guard);
        return;
      }
      this.store.move(t.id, 'doing', 'doing', { ...finding, currentTask: review.id, currentKind: 'review', statusReason: `task ${task.id} succeeded; in review by ${reviewer} (task ${review.id})` }, now, guard);
      return;
    }
    // fix: the review becomes a comment, then one more run (the maxExecutions guard still holds).
    if (!this.store.move(t.id, 'doing', 'todo', { currentTask: null, currentKind: null, retries: t.retries + 1, statusReason: d.reason }, now, guard)) return;
    this.store.addComment({ ticketId: t.id, author: cfg.reviewAgent ?? 'review', body: d.comment, kind: 'review', taskId: task.id }, now);
    if ('agent' in this.runner(t) && this.unmetDependencies(t).length === 0) this.#claim(t.id, 'todo', false);
  }

  // ---- what CLI and HTTP call ------------------------------------------------------------------------

  #enabled(): void {
    if (!this.#cfg.enabled) {
      throw new TetoraError('TET_ERR_BOARD_DISABLED', `the task board is off (taskBoard.enabled is false in ${this.#o.config().configPath}); set it to true and reload the daemon (SIGHUP).`);
    }
  }

  require(id: string): Ticket {
    const t = this.store.get(id);
    if (!t) throw new TetoraError('TET_ERR_BOARD_NOT_FOUND', `no board ticket has id ${id}; list them with \`tetora board list\`.`, { id });
    return t;
  }

  list(filter: { status?: TicketStatus[]; project?: string; assignee?: string } = {}): Ticket[] {
    return this.store.list(filter);
  }

  show(id: string): { ticket: Ticket; comments: TicketComment[] } {
    const ticket = this.require(id);
    return { ticket, comments: this.store.comments(id) };
  }

  #checkDeps(id: string | undefined, deps: readonly string[]): void {
    deps.forEach((d, i) => {
      if (!this.store.get(d)) throw new TetoraError('TET_ERR_BOARD_INVALID', `dependsOn[${i}] is "${d}", which is no ticket; list them with \`tetora board list\`.`, { field: `dependsOn.${i}`, value: d });
    });
    if (id === undefined) return;
    const cycle = dependencyCycle(id, deps, (x) => this.store.get(x)?.dependsOn);
    if (cycle) throw new TetoraError('TET_ERR_BOARD_INVALID', `dependsOn would make a cycle: ${cycle.join(' → ')}; a ticket cannot wait for itself.`, { field: 'dependsOn', cycle });
  }

  add(req: NewTicketRequest): Ticket {
    this.#enabled();
    const deps = [...new Set(req.dependsOn ?? [])];
    this.#checkDeps(undefined, deps);
    const t = this.store.insert(
      {
        title: req.title,
        status: req.status ?? 'todo',
        priority: req.priority ?? 'normal',
        dependsOn: deps,
        ...(req.project !== undefined ? { project: req.project } : {}),
        ...(req.description !== undefined ? { description: req.description } : {}),
        ...(req.assignee !== undefined ? { assignee: req.assignee } : {}),
        ...(req.workdir !== undefined ? { workdir: req.workdir } : {}),
        ...(req.worktree !== undefined ? { worktree: req.worktree } : {}),
      },
      this.#now(),
    );
    if (t.status === 'todo') this.poke();
    return t;
  }

  edit(id: string, req: TicketEdit): Ticket {
    this.#enabled();
    this.require(id);
    const patch: TicketPatch = {};
    for (const [k, v] of Object.entries(req)) if (v !== undefined) (patch as Record<string, unknown>)[k] = v;
    if (patch.dependsOn) {
      patch.dependsOn = [...new Set(patch.dependsOn)];
      this.#checkDeps(id, patch.dependsOn);
    }
    this.store.edit(id, patch, this.#now());
    this.poke();
    return this.require(id);
  }

  remove(id: string): void {
    this.#enabled();
    const t = this.require(id);
    if (t.status === 'doing') throw this.#busy(t);
    const deps = this.store.dependents(id);
    if (deps.length) throw new TetoraError('TET_ERR_BOARD_TRANSITION', `ticket ${id} cannot be deleted: ${deps.join(', ')} depend${deps.length === 1 ? 's' : ''} on it; remove it from their dependsOn first.`, { id, dependents: deps });
    this.store.delete(id);
  }

  #busy(t: Ticket): TetoraError {
    return new TetoraError('TET_ERR_BOARD_TRANSITION', `ticket ${t.id} is doing: task ${t.currentTask} works on it; cancel it first (\`tetora task cancel ${t.currentTask}\`), then the ticket follows its task.`, { id: t.id, task: t.currentTask });
  }

  #unmet(t: Ticket, what: string): TetoraError | undefined {
    const unmet = this.unmetDependencies(t);
    if (!unmet.length) return undefined;
    return new TetoraError('TET_ERR_BOARD_TRANSITION', `ticket ${t.id} cannot ${what}: its dependencies are not done (${unmet.map((u) => `${u.id} is ${u.status}`).join(', ')}); finish them first.`, { id: t.id, unmet });
  }

  /**
   * Move a ticket by hand. `doing` needs its dependencies done; an agent's ticket moved to `doing` runs
   * (as `run`), a person's is only marked. A ticket whose task still runs cannot be moved (cancel the
   * task). A move to `todo` or `backlog` starts the execution and retry counts again.
   */
  move(id: string, to: TicketStatus, reason?: string): { ticket: Ticket; task?: TaskRow } {
    this.#enabled();
    const t = this.require(id);
    if (t.status === 'doing' && t.currentTask) {
      const task = this.#o.engine.get(t.currentTask);
      if (task && !TERMINAL.has(task.status)) throw this.#busy(t);
    }
    if (to === 'doing') {
      const unmet = this.#unmet(t, 'move to doing');
      if (unmet) throw unmet;
      if ('agent' in this.runner(t)) return this.run(id);
    }
    const now = this.#now();
    const patch: TicketPatch = { currentTask: null, currentKind: null, statusReason: reason ?? `moved to ${to} by hand` };
    // The counts start again; `executions` itself only grows (it names each run's task: board:<id>:<n>).
    if (to === 'todo' || to === 'backlog') Object.assign(patch, { executionBase: t.executions, retries: 0 });
    if (to === 'done') patch.completedAt = now;
    if (!this.store.move(id, t.status, to, patch, now)) {
      throw new TetoraError('TET_ERR_BOARD_TRANSITION', `ticket ${id} changed while it was being moved (it is now ${this.require(id).status}); look at it and try again.`, { id });
    }
    if (to === 'todo') this.poke();
    return { ticket: this.require(id) };
  }

  comment(id: string, body: string, author = 'user'): TicketComment {
    this.#enabled();
    this.require(id);
    return this.store.addComment({ ticketId: id, author, body, kind: 'comment' }, this.#now());
  }

  /** Run a ticket now, whatever auto-dispatch says; refuses unmet dependencies, people's tickets and a ticket already doing. */
  run(id: string): { ticket: Ticket; task?: TaskRow } {
    this.#enabled();
    const t = this.require(id);
    if (t.status === 'doing') throw this.#busy(t);
    if (t.status === 'done') throw new TetoraError('TET_ERR_BOARD_TRANSITION', `ticket ${id} is done; to run it again, move it to todo first (\`tetora board move ${id} todo\`).`, { id, status: t.status });
    const who = this.runner(t);
    if ('person' in who) throw new TetoraError('TET_ERR_BOARD_TRANSITION', `ticket ${id} is assigned to ${who.person}, a person (no agent of the config has that name); agents never run people's tickets. Assign it to an agent to run it.`, { id, assignee: who.person });
    if ('none' in who) throw new TetoraError('TET_ERR_BOARD_TRANSITION', `ticket ${id} has no assignee and there is no default agent (taskBoard.autoDispatch.defaultAgent or defaultAgent); assign it to an agent.`, { id });
    const unmet = this.#unmet(t, 'run');
    if (unmet) throw unmet;
    const r = this.#claim(id, t.status, true);
    if (!r.claimed && r.ticket.status !== 'failed') {
      throw new TetoraError('TET_ERR_BOARD_TRANSITION', `ticket ${id} was not started: ${r.ticket.statusReason ?? `it is ${r.ticket.status} now`}.`, { id, status: r.ticket.status });
    }
    return r.task ? { ticket: r.ticket, task: r.task } : { ticket: r.ticket };
  }
}
