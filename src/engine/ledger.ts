import { EventEmitter } from 'node:events';
import type { NewTask, TaskEvent, TaskPatch, TaskRow, TaskStore } from '../store/tasks.js';
import { checkTransition, type TaskStatus, type TransitionFacts } from './states.js';

/** Progress events held while the store refuses writes. */
const MAX_BUFFERED = 2_000;

/** In-process fan-out of appended events (the store is the source of truth; SSE replays from it). */
export class EventBus {
  readonly #ee = new EventEmitter();
  constructor() {
    this.#ee.setMaxListeners(0);
  }
  emit(e: TaskEvent): void {
    this.#ee.emit('event', e);
  }
  /** Every event; returns an unsubscribe function. */
  subscribe(fn: (e: TaskEvent) => void): () => void {
    this.#ee.on('event', fn);
    return () => this.#ee.off('event', fn);
  }
}

/**
 * The one owner of task state changes: checks the state machine, writes through the store (one
 * transaction per change, guarded by the expected current status) and publishes the event.
 */
/**
 * Told of a task's terminal state inside the transaction that records it (a sink's durable row, such as
 * a chat reply in the outbox or a workflow step's result, commits with the state or not at all). It must
 * only write through the store, never do I/O; a hook that throws rolls the whole change back.
 */
export type TerminalHook = (task: TaskRow) => void;

export class Ledger {
  /** Events of the transaction in progress, published only once it commits. */
  #pending: TaskEvent[] | undefined;
  readonly #terminalHooks: TerminalHook[] = [];

  constructor(
    readonly store: TaskStore,
    readonly bus: EventBus,
    private readonly now: () => number,
    /** Told of every committed write and every failed one (the store's health, see StoreHealth). */
    private readonly health?: { failed(err: unknown): boolean; succeeded(): void },
  ) {}

  /** A write outside any transaction of this ledger: its failure or success tells the store's health. */
  #observe<T>(write: () => T): T {
    if (this.#pending) return write();
    let out: T;
    try {
      out = write();
    } catch (err) {
      this.health?.failed(err);
      throw err;
    }
    this.health?.succeeded();
    return out;
  }

  /** Register a hook run in the same transaction as every terminal transition (see TerminalHook); returns its removal. */
  onTerminal(hook: TerminalHook): () => void {
    this.#terminalHooks.push(hook);
    return () => {
      const i = this.#terminalHooks.indexOf(hook);
      if (i >= 0) this.#terminalHooks.splice(i, 1);
    };
  }

  /**
   * Returns false when the task was no longer in `from` (someone else moved it first): the caller must
   * treat the change as not made.
   */
  move(
    task: Pick<TaskRow, 'id'>,
    from: TaskStatus,
    to: TaskStatus,
    patch: TaskPatch,
    data: Record<string, unknown>,
    endRun?: { run: number; outcome: string; message: string | null; costUsd?: number },
  ): boolean {
    const facts: TransitionFacts = {};
    if (patch.errorMessage !== undefined) facts.message = patch.errorMessage;
    if (patch.output !== undefined) facts.output = patch.output;
    if (patch.notBefore !== undefined) facts.notBefore = patch.notBefore;
    checkTransition(task.id, from, to, facts);
    this.flushProgress(); // progress recorded before this change comes before it in the log
    const terminal = to === 'succeeded' || to === 'failed' || to === 'cancelled' || to === 'timed_out';
    const fullPatch: TaskPatch = terminal ? { finishedAt: this.now(), ...patch } : patch;
    const write = () => this.store.transition(task.id, from, to, fullPatch, { at: this.now(), data }, endRun);
    if (terminal && this.#terminalHooks.length > 0) {
      return this.atomically(() => {
        const ev = write();
        if (!ev) return false;
        this.#publish(ev);
        const row = this.store.get(task.id);
        if (row) for (const hook of [...this.#terminalHooks]) hook(row);
        return true;
      });
    }
    const ev = this.#observe(write);
    if (!ev) return false;
    this.#publish(ev);
    return true;
  }

  /**
   * Run `fn` as one transaction (one commit for several changes); its events are published after the
   * commit, and dropped if it rolls back. Nested calls join the outer transaction.
   */
  atomically<T>(fn: () => T): T {
    if (this.#pending) return fn();
    this.flushProgress();
    this.#pending = [];
    try {
      let out: T;
      try {
        out = this.store.atomically(fn);
      } catch (err) {
        this.health?.failed(err);
        throw err;
      }
      this.health?.succeeded();
      const events = this.#pending;
      this.#pending = undefined;
      for (const e of events) this.bus.emit(e);
      return out;
    } finally {
      this.#pending = undefined;
    }
  }

  /**
   * Run `fn` as a savepoint of the transaction in progress (a transaction of its own outside one): when
   * `fn` throws, its writes and its events are undone and the enclosing transaction goes on.
   */
  savepoint<T>(fn: () => T): T {
    const pending = this.#pending;
    if (!pending) return this.atomically(fn);
    const mark = pending.length;
    try {
      return this.store.atomically(fn);
    } catch (err) {
      pending.length = mark;
      throw err;
    }
  }

  #publish(ev: TaskEvent): void {
    if (this.#pending) this.#pending.push(ev);
    else this.bus.emit(ev);
  }

  /** Record a new task (or find the one with its idempotency key) and publish its `queued` event. */
  accept(row: NewTask): { task: TaskRow; created: boolean } {
    const r = this.store.insert(row, { type: 'queued', data: { source: row.source, agent: row.agent ?? null, provider: row.provider ?? null } });
    if (r.event) this.#publish(r.event);
    return { task: r.task, created: r.created };
  }

  /** Provider progress waiting for the next flush (see progress()). */
  #progress: Array<{ taskId: string; type: string; data: Record<string, unknown>; at: number }> = [];

  /**
   * Record a provider progress event (text, tool calls): buffered and written with the others of the
   * same turn of the event loop in one transaction (a chatty provider costs one commit per turn, not
   * one per line). Any state change flushes the buffer first, so the log keeps its order.
   */
  progress(taskId: string, type: string, data: Record<string, unknown>): void {
    this.#scheduleFlush();
    this.#progress.push({ taskId, type, data, at: this.now() });
  }

  /**
   * How far a run's spool has been turned into events: written in the same transaction as those events,
   * so a daemon that re-attaches to the run after a crash records each event once.
   */
  cursor(taskId: string, run: number, out: number, err: number): void {
    this.#scheduleFlush();
    this.#cursors.set(taskId, { run, out, err });
  }

  #cursors = new Map<string, { run: number; out: number; err: number }>();
  #flushScheduled = false;

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      try {
        this.flushProgress();
      } catch {
        // The store closed or refuses writes (the engine stopped, a full disk): the events stay buffered
        // and go with the next flush; a closed store drops them.
      }
    });
  }

  /** Write buffered progress now (also called before every state change, and when the engine stops). */
  flushProgress(): void {
    if (this.#progress.length === 0 && this.#cursors.size === 0) return;
    const batch = this.#progress;
    const cursors = this.#cursors;
    this.#progress = [];
    this.#cursors = new Map();
    const write = () => {
      const events = batch.map((p) => this.store.appendEvent(p.taskId, p.type, p.data, p.at));
      for (const [taskId, c] of cursors) this.store.setRunCursor(taskId, c.run, c.out, c.err);
      return events;
    };
    if (this.#pending) {
      this.#pending.push(...write());
      return;
    }
    let events: TaskEvent[];
    try {
      events = this.store.atomically(write);
      this.health?.succeeded();
    } catch (err) {
      this.health?.failed(err);
      // Not written (the store refuses writes): keep them, in order, for the next flush.
      // Bounded: past MAX_BUFFERED the oldest progress is dropped (the output itself stays whole in the spool).
      this.#progress = [...batch, ...this.#progress].slice(-MAX_BUFFERED);
      for (const [k, v] of cursors) if (!this.#cursors.has(k)) this.#cursors.set(k, v);
      throw err;
    }
    for (const e of events) this.bus.emit(e);
  }

  /** Append a progress event (not a status change) and publish it. */
  note(taskId: string, type: string, data: Record<string, unknown>): TaskEvent {
    const ev = this.#observe(() => this.store.appendEvent(taskId, type, data, this.now()));
    this.#publish(ev);
    return ev;
  }
}
