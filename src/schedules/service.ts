import type { ResolvedConfig, ResolvedTrigger } from '../config/types.js';
import { REPLAY_WINDOW_MS } from './webhook.js';
import { DutyKeeper } from '../duties/keeper.js';
import type { Engine } from '../engine/engine.js';
import type { Logger } from '../engine/logger.js';
import { TetoraError, messageOf } from '../errors.js';
import { LeaseStore } from '../store/leases.js';
import { ScheduleStore, type FiringKind, type FiringRow } from '../store/schedules.js';
import type { TaskEvent } from '../store/tasks.js';
import { clampDelay } from '../util/timers.js';
import { realClock, type ScheduleClock } from './clock.js';
import { catchUpFiring, dueFiring, nextFire, parseCron, type CatchUp, type CronSpec } from './cron.js';
import { eventMatches, eventVariables, taskEventType } from './events.js';
import { loadJobs, type Job, type JobsLoad } from './jobs.js';
import type { WorkflowEvent, WorkflowEventSource, WorkflowStarter } from './types.js';
import { firingView, jobView, triggerView, type FiringView, type JobView, type TriggerView } from './views.js';

export interface ScheduleServiceOptions {
  engine: Engine;
  config: ResolvedConfig;
  log: Logger;
  /** @default the real clock (tests: TETORA_TEST_CLOCK, see clock.ts) */
  clock?: ScheduleClock;
  /** The workflow runner; without one, trigger firings are recorded as failed (TET_ERR_WORKFLOWS_UNAVAILABLE). */
  starter?: WorkflowStarter;
  /** Workflow events for event triggers. */
  events?: WorkflowEventSource;
  /** Lease of each schedule's duty. @default 30000 */
  leaseTtlMs?: number;
}

/** A schedule that fires on a cron spec: a job, or a cron trigger. */
interface Timed {
  key: string;
  spec: CronSpec;
  catchUp: CatchUp;
  /** Changes when anything about it changes (its keeper is then restarted). */
  sig: string;
  fire(scheduledAt: number, kind: FiringKind): void;
}

const isTimed = (kind: FiringKind) => kind === 'cron' || kind === 'catch-up';

/**
 * Cron jobs (jobs.json) and workflow triggers (cron, event, webhook) of one daemon. Each timed schedule
 * is a singleton duty (DESIGN §3): held through its lease (`schedule:<key>`), and each firing is
 * recorded unique on (schedule, scheduled time) in the same transaction as the task it makes, so no
 * restart and no second daemon fires it twice. Missed firings follow the schedule's `catchUp`.
 */
export class ScheduleService {
  readonly #o: ScheduleServiceOptions;
  readonly #store: ScheduleStore;
  readonly #leases: LeaseStore;
  readonly #clock: ScheduleClock;
  #config: ResolvedConfig;
  #jobs: JobsLoad = { path: '', jobs: [], warnings: [], missing: true };
  readonly #keepers = new Map<string, { keeper: DutyKeeper; sig: string }>();
  /** Timed schedules whose duty this daemon holds, with their next fire time. */
  readonly #armed = new Map<string, { timed: Timed; nextAt: number }>();
  #timer: NodeJS.Timeout | undefined;
  #booting = true;
  #stopped = false;
  readonly #warned = new Set<string>();
  readonly #off: Array<() => void> = [];
  #sync: Promise<void> = Promise.resolve();
  /** Per trigger key: its workflow starts not yet settled (see #startWorkflow). */
  readonly #inFlight = new Map<string, Set<Promise<unknown>>>();

  constructor(opts: ScheduleServiceOptions) {
    this.#o = opts;
    this.#config = opts.config;
    this.#store = new ScheduleStore(opts.engine.db);
    this.#leases = new LeaseStore(opts.engine.db);
    this.#clock = opts.clock ?? realClock();
  }

  get store(): ScheduleStore {
    return this.#store;
  }

  /** Load the jobs file (an invalid one throws TET_ERR_JOBS_INVALID), take up the schedules, listen for events. */
  async start(): Promise<void> {
    this.#jobs = loadJobs(this.#config);
    this.#warn(this.#jobs.warnings);
    if (this.#clock.test) this.#o.log.warn({ now: new Date(this.#clock.now()).toISOString() }, 'schedules run on the TEST clock (TETORA_TEST_CLOCK); unset it outside tests');
    const released = this.#leases.releaseStopped('schedule:');
    if (released > 0) this.#o.log.info({ released }, 'schedules: took back the leases of a stopped daemon');
    await this.#resync();
    this.#booting = false;
    this.#off.push(this.#o.engine.subscribe((e) => this.#onTaskEvent(e)));
    if (this.#o.events) this.#off.push(this.#o.events.subscribe((e) => this.#onWorkflowEvent(e)));
    this.#o.log.info({ jobs: this.#jobs.jobs.length, triggers: this.#config.workflowTriggers.length, jobsFile: this.#jobs.path }, 'schedules started');
  }

  /** SIGHUP: the new config's triggers and the jobs file read again (an invalid one keeps the old jobs). */
  async reload(config: ResolvedConfig): Promise<void> {
    this.#config = config;
    try {
      this.#jobs = loadJobs(config);
      this.#warn(this.#jobs.warnings);
    } catch (err) {
      this.#o.log.error({ err: messageOf(err) }, 'jobs file reload refused; the jobs loaded before stay');
    }
    await this.#resync();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    for (const off of this.#off.splice(0)) off();
    await this.#sync;
    await Promise.all([...this.#keepers.values()].map((k) => k.keeper.stop()));
    this.#keepers.clear();
    this.#armed.clear();
  }

  #warn(warnings: string[]): void {
    for (const w of warnings) {
      if (this.#warned.has(w)) continue;
      this.#warned.add(w);
      this.#o.log.warn({}, w);
    }
  }

  // ---- timed schedules -------------------------------------------------------------------------------

  #enabled(job: Job): boolean {
    return this.#store.override(`job:${job.id}`) ?? job.enabled;
  }

  #desired(): Map<string, Timed> {
    const out = new Map<string, Timed>();
    for (const job of this.#jobs.jobs) {
      if (!this.#enabled(job)) continue;
      const key = `job:${job.id}`;
      const sig = JSON.stringify([job.schedule, job.tz, job.catchUp, job.request]);
      out.set(key, { key, spec: job.spec, catchUp: job.catchUp, sig, fire: (at, kind) => void this.#fireJob(job, at, kind).catch(() => {}) });
    }
    for (const t of this.#config.workflowTriggers) {
      if (!t.enabled || t.type !== 'cron' || t.cron === undefined) continue;
      const parsed = parseCron(t.cron, t.tz);
      if (!parsed.ok) continue; // the config loader refused it already
      const key = `trigger:${t.name}`;
      const sig = JSON.stringify([t.cron, t.tz, t.catchUp, t.workflowName, t.variables, t.cooldownMs]);
      out.set(key, { key, spec: parsed.spec, catchUp: t.catchUp, sig, fire: (at, kind) => void this.#fireTrigger(t, at, kind, {}).catch(() => {}) });
    }
    return out;
  }

  /** Start a keeper for every schedule to run, stop those of schedules gone or changed. Serialised. */
  #resync(): Promise<void> {
    const run = this.#sync.then(async () => {
      if (this.#stopped) return;
      const desired = this.#desired();
      for (const [key, k] of [...this.#keepers]) {
        if (desired.get(key)?.sig === k.sig) continue;
        this.#keepers.delete(key);
        await k.keeper.stop();
      }
      for (const [key, timed] of desired) {
        if (this.#keepers.has(key)) continue;
        // Added or enabled while the daemon runs: nothing before now is "missed".
        if (!this.#booting) this.#store.resetChecked(key, this.#clock.now());
        const keeper = new DutyKeeper({
          duty: `schedule:${key}`,
          owner: this.#o.engine.instanceId,
          leases: this.#leases,
          log: this.#o.log,
          ...(this.#o.leaseTtlMs !== undefined ? { ttlMs: this.#o.leaseTtlMs } : {}),
          onGain: () => this.#arm(timed),
          onLose: (reason) => {
            this.#armed.delete(key);
            this.#o.log.info({ schedule: key, reason }, 'schedule: duty given up');
          },
        });
        this.#keepers.set(key, { keeper, sig: timed.sig });
        keeper.start();
      }
    });
    // A failed pass (the store refused a write) is reported to its caller; the next one still runs.
    this.#sync = run.catch((err: unknown) => this.#o.log.error({ err: messageOf(err) }, 'schedules: taking up the schedules failed'));
    return run;
  }

  /** The duty is ours: resume unconfirmed firings, catch up per policy, and wait for the next fire time. */
  #arm(timed: Timed): void {
    if (this.#stopped) return;
    const now = this.#clock.now();
    const { key, spec } = timed;
    try {
      if (key.startsWith('trigger:')) this.#resumeStarting(key);
      const checked = this.#store.state(key)?.checkedUntil ?? undefined;
      const missed = catchUpFiring(spec, timed.catchUp, checked, now - 1, (t) => this.#store.timed(key, t) !== undefined);
      if (missed !== undefined) {
        this.#o.log.info({ schedule: key, scheduledAt: new Date(missed).toISOString() }, 'schedule: catching up the latest missed firing');
        timed.fire(missed, 'catch-up');
      }
      this.#store.advance(key, now - 1);
    } catch (err) {
      // The store refuses writes: no catch-up this time, but the schedule still runs from now on.
      this.#o.log.error({ schedule: key, err: messageOf(err) }, 'schedule: catching up failed; going on from now');
    }
    const nextAt = nextFire(spec, now - 1);
    if (nextAt !== undefined) this.#armed.set(key, { timed, nextAt });
    this.#wake();
  }

  #wake(): void {
    clearTimeout(this.#timer);
    if (this.#stopped) return;
    const now = this.#clock.now();
    let delay = this.#clock.pollMs;
    for (const a of this.#armed.values()) delay = Math.min(delay, Math.max(0, a.nextAt - now));
    this.#timer = setTimeout(() => this.#tick(), clampDelay(delay));
    this.#timer.unref();
  }

  #tick(): void {
    if (this.#stopped) return;
    const now = this.#clock.now();
    for (const [key, a] of this.#armed) {
      const due = dueFiring(a.timed.spec, a.nextAt, now);
      if (due === undefined) continue;
      if (!this.#keepers.get(key)?.keeper.held) {
        this.#armed.delete(key);
        continue;
      }
      try {
        a.timed.fire(due, 'cron');
      } catch (err) {
        this.#o.log.error({ schedule: key, err: messageOf(err) }, 'schedule: firing failed');
      }
      const next = nextFire(a.timed.spec, now);
      if (next === undefined) this.#armed.delete(key);
      else a.nextAt = next;
    }
    this.#wake();
  }

  // ---- jobs ------------------------------------------------------------------------------------------

  /**
   * Fire a job: its firing row and its task commit together (the task's idempotency key is
   * `job:<id>:<scheduledAt>` for timed firings). A timed firing already recorded does nothing. A task
   * the engine refuses (an agent removed, a budget spent) is recorded as a failed firing and rethrown.
   */
  async #fireJob(job: Job, scheduledAt: number, kind: FiringKind): Promise<FiringRow | undefined> {
    const key = `job:${job.id}`;
    const { engine } = this.#o;
    const firedAt = Date.now();
    try {
      const fired = engine.atomically(() => {
        const f = this.#store.insert({ schedule: key, scheduledAt, kind, firedAt, status: 'started' });
        if (!f) return undefined;
        const idempotencyKey = isTimed(kind) ? `job:${job.id}:${scheduledAt}` : `job:${job.id}:run:${f.id}`;
        const { task } = engine.enqueue({ ...job.request, idempotencyKey }, { source: 'cron', origin: { schedule: key, scheduledAt, firingId: f.id, kind } });
        this.#store.setTask(f.id, task.id);
        if (isTimed(kind)) this.#store.advance(key, scheduledAt);
        return { ...f, taskId: task.id };
      });
      if (fired) this.#o.log.info({ schedule: key, scheduledAt: new Date(scheduledAt).toISOString(), kind, task: fired.taskId }, 'job fired');
      return fired;
    } catch (err) {
      this.#o.log.error({ schedule: key, scheduledAt: new Date(scheduledAt).toISOString(), kind, err: messageOf(err) }, 'job firing failed');
      try {
        this.#store.atomically(() => {
          this.#store.insert({ schedule: key, scheduledAt, kind, firedAt, status: 'failed', error: messageOf(err) });
          if (isTimed(kind)) this.#store.advance(key, scheduledAt);
        });
      } catch (again) {
        this.#o.log.error({ schedule: key, err: messageOf(again) }, 'cannot record the failed firing');
      }
      throw err;
    }
  }

  #job(id: string): Job {
    const job = this.#jobs.jobs.find((j) => j.id === id);
    if (!job) {
      const known = this.#jobs.jobs.map((j) => j.id);
      throw new TetoraError('TET_ERR_JOB_NOT_FOUND', `no job has id "${id}" in ${this.#jobs.path}; known jobs: ${known.join(', ') || 'none'}. List them with \`tetora job list\`.`, { id });
    }
    return job;
  }

  listJobs(): { file: string; missing: boolean; jobs: JobView[] } {
    const now = this.#clock.now();
    const jobs = this.#jobs.jobs.map((j) => {
      const key = `job:${j.id}`;
      return jobView(j, this.#store.override(key), this.#keepers.get(key)?.keeper.held ?? false, now, this.#store.recent(key, 1)[0]);
    });
    return { file: this.#jobs.path, missing: this.#jobs.missing, jobs };
  }

  /** `tetora job run ID`: one firing now, whatever its schedule and enabled state say. */
  async runJob(id: string): Promise<FiringView> {
    const job = this.#job(id);
    const f = await this.#fireJob(job, this.#clock.now(), 'manual');
    return firingView(f as FiringRow);
  }

  /** Enable or disable a job, kept in the store (jobs.json is not rewritten); an override equal to the file is dropped. */
  async setJobEnabled(id: string, enabled: boolean): Promise<JobView> {
    const job = this.#job(id);
    const key = `job:${id}`;
    if (enabled === job.enabled) this.#store.clearOverride(key);
    else this.#store.setOverride(key, enabled, Date.now());
    await this.#resync();
    return this.listJobs().jobs.find((j) => j.id === id) as JobView;
  }

  // ---- triggers --------------------------------------------------------------------------------------

  trigger(name: string): ResolvedTrigger | undefined {
    return this.#config.workflowTriggers.find((t) => t.name === name);
  }

  listTriggers(): TriggerView[] {
    const now = this.#clock.now();
    return this.#config.workflowTriggers.map((t) => {
      const key = `trigger:${t.name}`;
      return triggerView(t, now, this.#keepers.get(key)?.keeper.held ?? false, this.#store.recent(key, 1)[0]);
    });
  }

  /**
   * A signed webhook's signature (lowercase hex) is used once: true the first time, false for a replay of
   * the same request. Kept for twice the timestamp window (older ones fail on their timestamp).
   */
  claimWebhookSignature(name: string, signature: string): boolean {
    const now = Date.now();
    return this.#store.claimSignature(name, signature, now, now - 2 * REPLAY_WINDOW_MS);
  }

  /** `tetora trigger fire NAME` and webhooks: fire now with extra variables; refusals are thrown. */
  async fire(name: string, variables: Record<string, string>, kind: 'manual' | 'webhook'): Promise<FiringView> {
    const t = this.trigger(name);
    if (!t) {
      throw new TetoraError('TET_ERR_TRIGGER_NOT_FOUND', `no workflow trigger is named "${name}"; known: ${this.#config.workflowTriggers.map((x) => x.name).join(', ') || 'none'}. Add it under workflowTriggers in the config and reload (SIGHUP).`, { name });
    }
    if (!t.enabled) throw new TetoraError('TET_ERR_TRIGGER_DISABLED', `trigger "${name}" is disabled ("enabled": false in the config); enable it and reload the daemon (SIGHUP) to fire it.`, { name });
    const f = await this.#fireTrigger(t, this.#clock.now(), kind, variables);
    return firingView(f as FiringRow);
  }

  /**
   * Record a trigger's firing (cooldown checked and set in the same transaction), then start its workflow
   * and record the run id or the failure. A firing inside the cooldown is dropped: silently for cron and
   * event firings (as the original), with TET_ERR_TRIGGER_COOLDOWN for manual and webhook ones.
   */
  async #fireTrigger(t: ResolvedTrigger, scheduledAt: number, kind: FiringKind, extra: Record<string, string>): Promise<FiringRow | undefined> {
    const key = `trigger:${t.name}`;
    const now = this.#clock.now();
    const variables = { ...t.variables, ...extra };
    const r = this.#store.atomically((): { firing?: FiringRow; waitMs?: number } => {
      const last = this.#store.state(key)?.lastFiredAt ?? undefined;
      if (t.cooldownMs > 0 && last !== undefined && now - last < t.cooldownMs) {
        if (isTimed(kind)) this.#store.advance(key, scheduledAt);
        return { waitMs: t.cooldownMs - (now - last) };
      }
      const firing = this.#store.insert({ schedule: key, scheduledAt, kind, firedAt: Date.now(), status: 'starting', detail: { workflow: t.workflowName, variables } });
      if (!firing) return {};
      this.#store.markFired(key, now);
      if (isTimed(kind)) this.#store.advance(key, scheduledAt);
      return { firing };
    });
    if (r.waitMs !== undefined) {
      if (kind === 'manual' || kind === 'webhook') {
        const s = Math.ceil(r.waitMs / 1000);
        throw new TetoraError('TET_ERR_TRIGGER_COOLDOWN', `trigger "${t.name}" fired less than its cooldown (${t.cooldownMs} ms) ago; retry in ${s} s.`, { name: t.name, retryAfterSeconds: s });
      }
      this.#o.log.debug({ trigger: t.name, kind }, 'trigger firing dropped by its cooldown');
      return undefined;
    }
    if (!r.firing) return undefined;
    return this.#startWorkflow(t, r.firing, variables);
  }

  async #startWorkflow(t: ResolvedTrigger, f: FiringRow, variables: Record<string, string>): Promise<FiringRow> {
    const settle = (status: 'started' | 'failed', runId: string | null, error: string | null) => {
      try {
        this.#store.settle(f.id, status, runId, error);
      } catch (err) {
        this.#o.log.error({ trigger: t.name, firing: f.id, err: messageOf(err) }, 'cannot record the outcome of a trigger firing');
      }
      return { ...f, status, workflowRunId: runId, error };
    };
    const starter = this.#o.starter;
    if (!starter) {
      const err = new TetoraError('TET_ERR_WORKFLOWS_UNAVAILABLE', `trigger "${t.name}" cannot start workflow "${t.workflowName}": this daemon has no workflow runner.`, { name: t.name });
      settle('failed', null, err.message);
      this.#o.log.error({ trigger: t.name, kind: f.kind }, err.message);
      throw err;
    }
    const idempotencyKey = isTimed(f.kind) ? `trigger:${t.name}:${f.scheduledAt}` : `trigger:${t.name}:firing:${f.id}`;
    // A runner may publish a run's first events before start() resolves with its id: event triggers wait
    // for their own starts in flight before telling whether an event is of a run they started (#fireEvent).
    const key = `trigger:${t.name}`;
    const inFlight = this.#inFlight.get(key) ?? new Set<Promise<unknown>>();
    this.#inFlight.set(key, inFlight);
    const starting = (async () => starter.start(t.workflowName, variables, { source: 'trigger', trigger: { name: t.name, firingId: f.id, scheduledAt: f.scheduledAt, kind: f.kind, idempotencyKey } }))();
    const tracked = starting.then(
      (r) => settle('started', r.runId, null),
      (err: unknown) => settle('failed', null, messageOf(err)),
    );
    inFlight.add(tracked);
    void tracked.finally(() => inFlight.delete(tracked));
    try {
      const { runId } = await starting;
      this.#o.log.info({ trigger: t.name, kind: f.kind, workflow: t.workflowName, runId }, 'trigger fired');
      return await tracked;
    } catch (err) {
      this.#o.log.error({ trigger: t.name, kind: f.kind, workflow: t.workflowName, err: messageOf(err) }, 'trigger could not start its workflow');
      await tracked;
      throw err;
    }
  }

  /** Firings recorded but not confirmed before a crash: started again with the same idempotency key. */
  #resumeStarting(key: string): void {
    const t = this.trigger(key.slice('trigger:'.length));
    if (!t) return;
    for (const f of this.#store.starting(key)) {
      const detail = f.detail ? (JSON.parse(f.detail) as { variables?: Record<string, string> }) : {};
      this.#o.log.warn({ trigger: t.name, firing: f.id }, 'trigger firing recorded but not confirmed before a stop: starting its workflow again');
      void this.#startWorkflow(t, f, detail.variables ?? t.variables).catch(() => {});
    }
  }

  // ---- event triggers --------------------------------------------------------------------------------

  #eventTriggers(type: string): ResolvedTrigger[] {
    return this.#config.workflowTriggers.filter((t) => t.enabled && t.type === 'event' && t.event !== undefined && eventMatches(t.event, type));
  }

  #onTaskEvent(e: TaskEvent): void {
    const type = taskEventType(e);
    if (!type || this.#stopped) return;
    const triggers = this.#eventTriggers(type);
    if (triggers.length === 0) return;
    setImmediate(() => {
      if (this.#stopped) return;
      let task;
      try {
        task = this.#o.engine.get(e.taskId);
      } catch {
        return; // the store is closing
      }
      const fields: Record<string, unknown> = { taskId: e.taskId, taskStatus: e.type, agent: task?.agent ?? '', source: task?.source ?? '' };
      if (task?.errorMessage) fields.error = task.errorMessage;
      this.#fireEvent(triggers, type, fields, task?.workflowRunId ?? undefined);
    });
  }

  #onWorkflowEvent(e: WorkflowEvent): void {
    if (this.#stopped || typeof e.type !== 'string') return;
    const triggers = this.#eventTriggers(e.type);
    if (triggers.length === 0) return;
    const { type: _type, ...fields } = e;
    setImmediate(() => this.#fireEvent(triggers, e.type, fields, e.runId));
  }

  /**
   * An event trigger never fires on the events of a run it started itself (a loop, bounded only by its
   * cooldown): its starts in flight settle first, so a run's id is recorded before its events are judged.
   */
  #fireEvent(triggers: ResolvedTrigger[], type: string, fields: Record<string, unknown>, runId: string | undefined): void {
    for (const t of triggers) {
      const key = `trigger:${t.name}`;
      void Promise.allSettled([...(this.#inFlight.get(key) ?? [])])
        .then(() => {
          if (this.#stopped) return;
          if (runId !== undefined && this.#store.scheduleOfRun(runId) === key) return;
          return this.#fireTrigger(t, this.#clock.now(), 'event', eventVariables(type, fields));
        })
        .catch(() => {});
    }
  }

}
