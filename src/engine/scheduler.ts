import type { ResolvedConfig } from '../config/types.js';
import { clampDelay } from '../util/timers.js';
import { messageOf } from '../errors.js';
import type { TaskRow, TaskRun, TaskStore } from '../store/tasks.js';
import type { Ledger } from './ledger.js';
import type { Logger } from './logger.js';
import type { ActiveRun } from './runner.js';
import { missingNames } from './availability.js';

export interface SchedulerDeps {
  store: TaskStore;
  ledger: Ledger;
  config(): ResolvedConfig;
  now(): number;
  log: Logger;
  instanceId: string;
  /** Runs in progress in this instance, by task id (owned by the engine, updated here). */
  running: Map<string, ActiveRun>;
  start(task: TaskRow, adopt?: TaskRun): ActiveRun;
  /**
   * Told of a failed pass: true when it is the store refusing writes, already reported (its health logs it
   * once and wakes the scheduler when it recovers), so each retry is not logged again.
   */
  storeFailed?(err: unknown): boolean;
}

/** Which agents, providers and sessions cannot take another task right now. Pure. */
export function exclusions(running: Iterable<Pick<TaskRow, 'agent' | 'provider' | 'sessionKey'>>, config: ResolvedConfig): { agents: string[]; providers: string[]; sessions: string[] } {
  const perAgent = new Map<string, number>();
  const perProvider = new Map<string, number>();
  const sessions = new Set<string>();
  for (const t of running) {
    if (t.agent) perAgent.set(t.agent, (perAgent.get(t.agent) ?? 0) + 1);
    if (t.provider) perProvider.set(t.provider, (perProvider.get(t.provider) ?? 0) + 1);
    if (t.sessionKey) sessions.add(t.sessionKey);
  }
  const agents = [...perAgent].filter(([name, n]) => {
    const cap = config.agents[name]?.maxTasksPerAgent ?? config.maxTasksPerAgent;
    return cap !== undefined && n >= cap;
  });
  const providers = [...perProvider].filter(([name, n]) => {
    const cap = config.providers[name]?.maxConcurrent;
    return cap !== undefined && n >= cap;
  });
  return { agents: agents.map(([a]) => a), providers: providers.map(([p]) => p), sessions: [...sessions] };
}

/**
 * Starts queued tasks by priority then arrival, under the global, per-agent, per-provider and
 * per-session caps. Wakes on poke() (enqueue, finish, cancel, reload) and on a timer set for the next
 * waiting task's wake-up time — never by polling the store in a loop.
 */
export class Scheduler {
  #active = false;
  #pending = false;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;

  constructor(private readonly d: SchedulerDeps) {}

  start(): void {
    this.#active = true;
    this.poke();
  }

  stop(): void {
    this.#active = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  /** Ask for a scheduling pass; several pokes in one tick make one pass. */
  poke(): void {
    if (!this.#active || this.#pending) return;
    this.#pending = true;
    setImmediate(() => {
      this.#pending = false;
      try {
        this.#pass();
      } catch (err) {
        if (!this.d.storeFailed?.(err)) this.d.log.error({ err: messageOf(err) }, 'scheduling pass failed; retrying in 1s');
        this.#arm(this.d.now() + 1000);
      }
    });
  }

  #pass(): void {
    if (!this.#active) return;
    const { store, ledger, running } = this.d;
    const now = this.d.now();
    for (const due of store.due(now)) {
      const t = store.get(due.id);
      if (!t || t.status !== due.status) continue;
      const patch = t.status === 'rate_limited' && t.parkedAt !== null ? { parkedMs: t.parkedMs + (now - t.parkedAt), parkedAt: null, notBefore: null } : { notBefore: null };
      ledger.move(t, t.status, 'queued', patch, { reason: t.status === 'rate_limited' ? 'rate limit reset' : 'backoff elapsed', attempt: t.attempt });
    }
    const cfg = this.d.config();
    // Tasks of an agent or provider a reload removed wait (they are not failed) until it comes back.
    const missing = missingNames(store.queuedNames(), cfg);
    while (running.size < cfg.maxConcurrent) {
      const ex = exclusions([...running.values()].map((r) => r.task), cfg);
      const cand = store.nextCandidate({ ...ex, agents: [...ex.agents, ...missing.agents], providers: [...ex.providers, ...missing.providers] });
      if (!cand) break;
      const claimed = store.claim(cand.id, this.d.instanceId, now, cand.provider);
      if (!claimed) continue;
      ledger.bus.emit(claimed.event);
      this.#track(this.d.start(claimed.task));
    }
    const next = store.nextWakeAt();
    if (next !== undefined) this.#arm(next);
  }

  /** Follow a run an earlier daemon started (boot): it counts against the caps like any other. */
  adopt(task: TaskRow, run: TaskRun): void {
    this.#track(this.d.start(task, run));
  }

  #track(run: ActiveRun): void {
    const id = run.task.id;
    this.d.running.set(id, run);
    void run.done.finally(() => {
      this.d.running.delete(id);
      this.poke();
    });
  }

  #arm(at: number): void {
    if (!this.#active) return;
    if (this.#timer && at >= this.#timerAt) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.poke();
    }, clampDelay(at - this.d.now() + 5)); // a wake-up weeks away re-arms when this one fires
  }
}
