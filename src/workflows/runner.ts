import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import type { ResolvedConfig } from '../config/types.js';
import type { Engine } from '../engine/engine.js';
import type { Lease, WorkspaceManager } from '../engine/workspace.js';
import { silentLogger, type Logger } from '../engine/logger.js';
import { TetoraError, messageOf } from '../errors.js';
import type { TaskRow } from '../store/tasks.js';
import { RUN_ENDED, STEP_ENDED, WorkflowStore, type RunRow, type RunStatus, type StepRow, type StepStatus, type WorkflowEvent } from '../store/workflows.js';
import { parseDuration } from '../util/duration.js';
import { clampDelay } from '../util/timers.js';
import { carriedSteps, finalStatus, flattenSteps, retriesOf, runVariables } from './plan.js';
import { handoffPrompt } from '../agents/handoff.js';
import { STEP_DEFAULTS, WORKFLOW_NAME, assertRunnable, evalCondition, findWorkflow, joinParallelOutputs, renderDeep, renderTemplate, type LoadedWorkflow, type StepDef, type TemplateContext, type TemplateOptions, type WorkflowDef } from './index.js';
import { runCommand } from './steps/command.js';
import { httpCall, postWebhook } from './steps/http.js';
import { stepEnv, stepIdempotencyKey, withIdempotencyKey } from './steps/keys.js';
import { outboundPolicy } from '../outbound/address.js';
import { assertAllowedDir } from '../engine/allowed-dirs.js';

/**
 * Sends a workflow `notify` step's message to a Discord channel (`notifyTo: "discord:<channelId>"`). The
 * daemon wires the Discord outbox here once it exists; without one the step succeeds with a note saying
 * the message was not sent. Rejecting fails the step (after its retries).
 */
export interface Notifier {
  send(channelId: string, text: string, meta: { runId: string; workflow: string; step: string }): Promise<void>;
  /**
   * A human gate assigned to `discord:<channelId>` starts waiting: called INSIDE the transaction that makes
   * the step wait (write only to the store), so the message commits with the gate or not at all.
   */
  gate?(channelId: string, g: { runId: string; workflow: string; step: string; subtype: string; prompt: string }): void;
}

/** What `runner.subscribe` hears: the lifecycle of runs and steps (schedules turn these into event triggers). */
export interface RunnerEvent {
  type: 'workflow.started' | 'workflow.completed' | 'workflow.failed' | 'workflow.cancelled' | 'step.started' | 'step.completed';
  runId: string;
  workflow: string;
  step?: string;
  status: string;
}

export interface StartOptions {
  /** Who started the run: `http`, `cli`, `trigger:<name>`, `schedule:<id>`, … */
  source: string;
  /** The trigger's own facts (name, type, firing time), kept with the run. */
  trigger?: Record<string, unknown>;
}

export interface RunnerOptions {
  engine: Pick<Engine, 'db' | 'atomically' | 'onTerminal' | 'enqueue' | 'cancel' | 'get' | 'state'>;
  config: () => ResolvedConfig;
  log?: Logger;
  now?: () => number;
  notifier?: Notifier;
  /** Backoff of webhook retries (tests make it short). @default 500 */
  webhookBaseMs?: number;
  /** Makes the run-level worktree of `gitWorktree` workflows (the daemon's worktree manager). */
  workspaces?: WorkspaceManager;
  /** The engine instance (worktree leases name it). */
  instanceId?: string;
  /** Heartbeat of a run's worktree lease. @default 10000 */
  heartbeatMs?: number;
}

interface RunDefs {
  def: WorkflowDef;
  byId: Map<string, StepDef>;
  parentOf: Map<string, string | null>;
}

/** A step's result as its executor reports it. */
interface StepResult {
  status: 'success' | 'error' | 'timeout' | 'cancelled' | 'skipped';
  output?: string | null;
  outputFile?: string | null;
  error?: string | null;
  note?: string | null;
  costUsd?: number;
}

const TASK_TYPES = new Set(['dispatch', 'handoff']);
const LOCAL_TYPES = new Set(['notify', 'tool_call', 'skill']);

/**
 * The durable workflow runner: a DAG of steps on top of the engine. Every decision is a guarded write to
 * the store (`workflow_runs`, `workflow_steps`), so a daemon that dies at any point resumes from what is
 * recorded: a step that ended never runs again, a step whose task was running is recovered by the engine
 * (its result arrives through the terminal hook, in the transaction of the task's terminal state), and
 * waiting delays and human gates keep waiting (their times are in the store).
 *
 * dispatch and handoff steps are engine tasks (so caps, retries, parking, fallbacks, budgets and
 * worktrees apply unchanged); the step row turns `running` in the same transaction as the task's enqueue
 * (idempotency key `wf:<run>:<step>:<attempt>`). notify, tool_call and skill steps run in the daemon; one
 * interrupted by a crash is started again at boot (its row says `running` with no end): at least once.
 */
export class WorkflowRunner {
  readonly store: WorkflowStore;
  readonly #engine: RunnerOptions['engine'];
  readonly #opts: RunnerOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #defs = new Map<string, RunDefs>();
  readonly #timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  readonly #local = new Map<string, AbortController>();
  /** Run-level worktrees held by running runs (their lease, its heartbeat), or being made. */
  readonly #leases = new Map<string, { lease?: Lease; heartbeat?: NodeJS.Timeout; making?: Promise<void> }>();
  #notifier: Notifier | undefined;
  readonly #ee = new EventEmitter();
  #outbox: WorkflowEvent[] = [];
  #flushScheduled = false;
  readonly #dirty = new Set<string>();
  #advanceScheduled = false;
  #stopped = false;
  #booted = false;
  readonly #offHook: () => void;

  /** Construct before `engine.start()`: the terminal hook must see every task's end, also at boot. */
  constructor(opts: RunnerOptions) {
    this.#opts = opts;
    this.#engine = opts.engine;
    this.#log = opts.log ?? silentLogger;
    this.#now = opts.now ?? Date.now;
    this.#ee.setMaxListeners(0);
    this.#notifier = opts.notifier;
    this.store = new WorkflowStore(opts.engine.db);
    this.#offHook = opts.engine.onTerminal((task) => this.#onTaskTerminal(task));
  }

  // ───────────────────────────── public API ─────────────────────────────

  /** Sets (or removes) the Discord notifier of `notify` steps (`discord:<channelId>`), e.g. once Discord is up. */
  useNotifier(notifier: Notifier | undefined): void {
    this.#notifier = notifier;
  }

  /** Lifecycle events of runs and steps, after they are committed. Returns the unsubscribe. */
  subscribe(fn: (e: RunnerEvent) => void): () => void {
    this.#ee.on('runner', fn);
    return () => this.#ee.off('runner', fn);
  }

  /** Every appended run event (the per-run SSE streams), after it is committed. */
  subscribeEvents(fn: (e: WorkflowEvent) => void): () => void {
    this.#ee.on('event', fn);
    return () => this.#ee.off('event', fn);
  }

  /**
   * Start a run of the workflow `name` (found by its `name` in the home's `workflows/`). Validates it and
   * its variables first (nothing is written when either is wrong); resolves once the run and its steps are
   * committed.
   */
  async start(name: string, variables: Record<string, unknown>, opts: StartOptions): Promise<{ runId: string }> {
    this.#assertRunning();
    // A trigger firing started again after a crash (it was recorded but not confirmed) finds its run.
    const key = opts.trigger?.idempotencyKey;
    if (typeof key === 'string') {
      const existing = this.store.runByTriggerKey(key);
      if (existing) return { runId: existing };
    }
    const loaded = this.#load(name);
    const vars = runVariables(loaded.def, variables);
    assertRunnable(loaded, this.#opts.config(), vars);
    const def = loaded.def;
    const runId = randomUUID();
    this.#create(runId, def, vars, opts, undefined, new Set());
    return { runId };
  }

  /**
   * Run an ended run (error, cancelled or timeout) again as a new run that keeps the results of the steps
   * that succeeded: from its failed steps, or from `from` and what depends on it. The old run becomes
   * `resumed` (its error names the new one).
   */
  async resume(runId: string, opts: { from?: string; source?: string } = {}): Promise<{ runId: string }> {
    this.#assertRunning();
    const old = this.#requireRun(runId);
    if (!['error', 'cancelled', 'timeout'].includes(old.status)) {
      throw new TetoraError('TET_ERR_WORKFLOW_RUN_STATE', `run ${runId} is ${old.status}; only a run that ended in error, cancelled or timeout can be resumed${old.resumedAs ? ` (it was resumed as ${old.resumedAs})` : ''}.`, { id: runId, status: old.status });
    }
    const def = JSON.parse(old.definition) as WorkflowDef;
    const rows = this.store.steps(runId);
    if (opts.from !== undefined && !rows.some((r) => r.stepId === opts.from)) {
      throw new TetoraError('TET_ERR_WORKFLOW_STEP_NOT_FOUND', `run ${runId} has no step "${opts.from}"; its steps are ${rows.map((r) => r.stepId).join(', ')}.`, { id: runId, step: opts.from });
    }
    const carried = carriedSteps(def, rows, opts.from);
    const newId = randomUUID();
    const vars = JSON.parse(old.variables) as Record<string, string>;
    this.#create(newId, def, vars, { source: opts.source ?? 'resume', ...(old.triggerInfo ? { trigger: JSON.parse(old.triggerInfo) as Record<string, unknown> } : {}) }, old, carried, rows);
    return { runId: newId };
  }

  /** Cancel a running run: its running steps' tasks are cancelled, the other unfinished steps marked cancelled. */
  async cancel(runId: string, by = 'user'): Promise<RunRow> {
    const run = this.#requireRun(runId);
    if (run.status !== 'running') {
      throw new TetoraError('TET_ERR_WORKFLOW_RUN_STATE', `run ${runId} already ended (${run.status}); there is nothing to cancel.`, { id: runId, status: run.status });
    }
    await this.#stopRun(run, 'cancelled', `cancelled by ${by}`);
    return this.#requireRun(runId);
  }

  /** A decision on a waiting human step: approve, reject, or answer (input) with `text`. */
  decide(runId: string, stepId: string, decision: { kind: 'approve' | 'reject' | 'answer'; text?: string; by?: string }): StepRow {
    const run = this.#requireRun(runId);
    const step = this.store.step(runId, stepId);
    if (!step) throw new TetoraError('TET_ERR_WORKFLOW_STEP_NOT_FOUND', `run ${runId} has no step "${stepId}"; see \`tetora workflow status ${runId}\`.`, { id: runId, step: stepId });
    if (step.type !== 'human' || step.status !== 'waiting' || run.status !== 'running') {
      throw new TetoraError(
        'TET_ERR_WORKFLOW_RUN_STATE',
        step.type !== 'human' ? `step "${stepId}" is a ${step.type} step; only human steps take a decision.` : `step "${stepId}" of run ${runId} is not waiting for a decision (step ${step.status}, run ${run.status}).`,
        { id: runId, step: stepId, status: step.status },
      );
    }
    if (decision.kind === 'answer' && (decision.text === undefined || decision.text === '')) {
      throw new TetoraError('TET_ERR_WORKFLOW_DECISION', `an answer needs text: \`tetora workflow answer ${runId} ${stepId} "<text>"\` (HTTP: {"text": "…"}).`, { id: runId, step: stepId });
    }
    const by = decision.by ?? 'user';
    const now = this.#now();
    const result: StepResult =
      decision.kind === 'reject'
        ? { status: 'error', error: `rejected by ${by}${decision.text ? `: ${decision.text}` : ''}` }
        : { status: 'success', output: decision.kind === 'answer' ? (decision.text as string) : decision.text || 'approved' };
    const done = this.#engine.atomically(() => {
      const fresh = this.store.step(runId, stepId);
      if (!fresh || fresh.status !== 'waiting') return false;
      this.store.updateStep(runId, stepId, ['waiting'], { decision: decision.kind, decidedBy: by, decidedAt: now }, now);
      this.#finish(run, { ...fresh, status: 'waiting' }, result, ['waiting']);
      return true;
    });
    if (!done) throw new TetoraError('TET_ERR_WORKFLOW_RUN_STATE', `step "${stepId}" of run ${runId} was decided or ended meanwhile.`, { id: runId, step: stepId });
    this.#schedule(runId);
    return this.store.step(runId, stepId) as StepRow;
  }

  getRun(runId: string): RunRow {
    return this.#requireRun(runId);
  }

  steps(runId: string): StepRow[] {
    return this.store.steps(runId);
  }

  /** Resume every run a previous daemon left running. Call after `engine.start()`. */
  async boot(): Promise<void> {
    this.#booted = true;
    // Steps of ended runs whose tasks were still going (a cancel interrupted by a crash): stop them.
    for (const s of this.store.runningStepsOfEndedRuns()) {
      const run = this.store.run(s.runId);
      if (run) await this.#stopStep(run, s);
    }
    for (const run of this.store.runsWithStatus('running')) {
      try {
        this.#recover(run);
      } catch (err) {
        this.#log.error({ run: run.id, err: messageOf(err) }, 'resuming a workflow run failed; it stays as it is until the next start');
      }
    }
    this.#flush();
  }

  /**
   * Stop timers and in-daemon steps (they run again at the next start); the runs stay as recorded. The
   * terminal hook stays: tasks that end during the drain still record their steps' results.
   */
  stop(): void {
    this.#stopped = true;
    for (const t of this.#timers.values()) clearTimeout(t.timer);
    this.#timers.clear();
    for (const c of this.#local.values()) c.abort();
    // Leases stay held in the store until the next start releases and takes them again.
    for (const l of this.#leases.values()) if (l.heartbeat) clearInterval(l.heartbeat);
    this.#leases.clear();
  }

  /** Remove the terminal hook (tests that build several runners on one engine). */
  detach(): void {
    this.#offHook();
  }

  // ───────────────────────────── creation ─────────────────────────────

  #assertRunning(): void {
    if (this.#stopped || (this.#engine.state !== 'running' && this.#engine.state !== 'created')) {
      throw new TetoraError('TET_ERR_ENGINE_STOPPED', `the daemon is ${this.#stopped ? 'stopping' : this.#engine.state} and starts no workflow runs; retry once it is back.`);
    }
  }

  #load(name: string): LoadedWorkflow {
    const config = this.#opts.config();
    // By name only: a path (findWorkflow takes one for the CLI's validate) would let a client run any file.
    if (!WORKFLOW_NAME.test(name)) {
      throw new TetoraError('TET_ERR_WORKFLOW_NOT_FOUND', `"${name.slice(0, 200)}" is not a workflow name (letters, digits, _ and -); a run names a workflow of ${config.workflowDir} by its "name" (\`tetora workflow list\`).`, { name: name.slice(0, 200) });
    }
    return findWorkflow(config.workflowDir, name);
  }

  #create(runId: string, def: WorkflowDef, vars: Record<string, string>, opts: StartOptions, resumedFrom: RunRow | undefined, carried: Set<string>, oldRows: StepRow[] = []): void {
    const now = this.#now();
    const timeoutMs = def.timeout ? parseDuration(def.timeout) : undefined;
    const old = new Map(oldRows.map((r) => [r.stepId, r]));
    const steps = flattenSteps(def).map(({ step, parent }, ord) => {
      const prev = carried.has(step.id) ? old.get(step.id) : undefined;
      if (!prev) return { stepId: step.id, parentId: parent, ord, type: step.type };
      return {
        stepId: step.id,
        parentId: parent,
        ord,
        type: step.type,
        status: prev.status,
        output: prev.output,
        outputFile: prev.outputFile,
        error: prev.error,
        note: `carried over from run ${prev.runId}`,
        skipBranch: prev.skipBranch,
        taskId: prev.taskId,
        costUsd: prev.costUsd,
        carried: 1,
        startedAt: prev.startedAt,
        endedAt: prev.endedAt,
      };
    });
    const workdir = def.workdir ? renderTemplate(def.workdir, this.#ctx(runId, vars, []), this.#tplOpts()) : (this.#opts.config().defaultWorkdir ?? null);
    // allowedDirs (top-level): the run's workdir must lie inside one of them; refused before anything is written.
    if (workdir) assertAllowedDir(`workflow ${def.name}: workdir`, workdir, this.#opts.config().allowedDirs ?? []);
    this.#engine.atomically(() => {
      this.store.insertRun(
        {
          id: runId,
          workflowName: def.name,
          definition: JSON.stringify(def),
          variables: JSON.stringify(vars),
          source: opts.source,
          triggerInfo: opts.trigger ? JSON.stringify(opts.trigger) : null,
          workdir,
          worktreePath: null,
          deadlineAt: timeoutMs ? now + timeoutMs : null,
          resumedFrom: resumedFrom?.id ?? null,
        },
        steps,
        now,
      );
      if (resumedFrom) {
        this.store.updateRun(resumedFrom.id, [resumedFrom.status], { status: 'resumed', resumedAs: runId, error: `resumed as ${runId}${resumedFrom.error ? ` (was: ${resumedFrom.error})` : ''}` }, now);
      }
      this.#event(runId, 'workflow_started', { workflow: def.name, status: 'running', steps: steps.map((s) => s.stepId), source: opts.source, ...(resumedFrom ? { resumedFrom: resumedFrom.id, carried: [...carried] } : {}) });
    });
    this.#schedule(runId);
  }

  // ───────────────────────────── recovery ─────────────────────────────

  #recover(run: RunRow): void {
    const d = this.#def(run);
    for (const s of this.store.steps(run.id)) {
      if (s.status !== 'running') continue;
      const type = s.type;
      if (TASK_TYPES.has(type) && s.taskId) {
        // The task may have ended while no hook was registered (it ended unwatched, or before this code
        // ran): read its terminal state and apply it now; otherwise its hook will.
        const task = this.#engine.get(s.taskId);
        if (!task) {
          this.#engine.atomically(() => this.#finish(run, s, { status: 'error', error: `the task ${s.taskId} of this step is gone from the store` }, ['running']));
        } else if (['succeeded', 'failed', 'cancelled', 'timed_out'].includes(task.status)) {
          this.#engine.atomically(() => {
            const fresh = this.store.step(run.id, s.stepId);
            if (fresh && fresh.status === 'running' && fresh.taskId === task.id) this.#finish(run, fresh, this.#taskResult(run, task), ['running']);
          });
        }
      } else if (LOCAL_TYPES.has(type)) {
        // An in-daemon step a crash interrupted: it runs again (at least once).
        this.#log.warn({ run: run.id, step: s.stepId, attempt: s.attempt }, 'workflow step interrupted by a restart: running it again');
        const def = d.byId.get(s.stepId);
        if (def) this.#launchLocal(run, s, def);
      }
    }
    this.#schedule(run.id);
  }

  // ───────────────────────────── the terminal hook ─────────────────────────────

  /** Inside the transaction of a task's terminal state: record its step's result (store writes only). */
  #onTaskTerminal(task: TaskRow): void {
    if (!task.workflowRunId || !task.workflowStepId) return;
    const step = this.store.step(task.workflowRunId, task.workflowStepId);
    if (!step || step.taskId !== task.id || step.status !== 'running') return;
    const run = this.store.run(task.workflowRunId);
    if (!run) return;
    this.#finish(run, step, this.#taskResult(run, task), ['running']);
    this.#schedule(run.id);
  }

  #taskResult(run: RunRow, task: TaskRow): StepResult {
    const cost = task.costUsd ?? 0;
    switch (task.status) {
      case 'succeeded':
        return { status: 'success', output: task.output ?? '', outputFile: task.outputFile, costUsd: cost };
      case 'timed_out':
        return { status: 'timeout', error: task.errorMessage ?? 'the task timed out', output: task.output, costUsd: cost };
      case 'cancelled':
        if (run.status !== 'running' || run.cancelRequested) return { status: 'cancelled', error: task.errorMessage ?? 'cancelled', costUsd: cost };
        return { status: 'error', error: `its task ${task.id} was cancelled (${task.errorMessage ?? 'no reason given'})`, costUsd: cost };
      default:
        return { status: 'error', error: task.errorMessage ?? `its task ${task.id} failed`, output: task.output, costUsd: cost };
    }
  }

  /**
   * Record a step's result (inside a transaction): a failure with retries left goes back to `pending`
   * after `retryDelay`; one out of retries with `onError: "skip"` becomes `skipped`. A run that already
   * ended takes the result as it is (no retry).
   */
  #finish(run: RunRow, step: StepRow, result: StepResult, from: readonly StepStatus[]): boolean {
    const now = this.#now();
    const d = this.#def(run);
    const def = d.byId.get(step.stepId);
    const failed = result.status === 'error' || result.status === 'timeout';
    const live = run.status === 'running' && this.store.run(run.id)?.status === 'running';
    if (failed && live && def && step.attempt < 1 + retriesOf(def)) {
      const delay = parseDuration(def.retryDelay ?? '') ?? STEP_DEFAULTS.retryDelayMs;
      const ok = this.store.updateStep(run.id, step.stepId, from, { status: 'pending', error: result.error ?? null, notBefore: now + delay, note: `attempt ${step.attempt} failed; retrying in ${delay} ms`, costUsd: (step.costUsd ?? 0) + (result.costUsd ?? 0) }, now, step.attempt);
      if (ok) this.#event(run.id, 'step_completed', { step: step.stepId, status: result.status, attempt: step.attempt, error: result.error ?? null, retryInMs: delay, durationMs: step.startedAt ? now - step.startedAt : 0, costUsd: result.costUsd ?? 0 });
      return ok;
    }
    let status: StepStatus = result.status;
    let note = result.note ?? null;
    if (failed && live && def?.onError === 'skip') {
      status = 'skipped';
      note = `failed (${result.error ?? result.status}); skipped as onError is "skip"`;
    }
    const ok = this.store.updateStep(
      run.id,
      step.stepId,
      from,
      {
        status,
        output: result.output ?? null,
        outputFile: result.outputFile ?? null,
        error: result.error ?? null,
        note,
        endedAt: now,
        costUsd: (step.costUsd ?? 0) + (result.costUsd ?? 0),
        notBefore: null,
      },
      now,
    );
    if (ok) this.#event(run.id, 'step_completed', { step: step.stepId, status, attempt: step.attempt, error: result.error ?? null, durationMs: step.startedAt ? now - step.startedAt : 0, costUsd: result.costUsd ?? 0 });
    return ok;
  }

  // ───────────────────────────── advancing ─────────────────────────────

  /** Advance `runId` soon (once per turn, after the current transaction committed). */
  #schedule(runId: string): void {
    this.#dirty.add(runId);
    this.#scheduleFlush();
    if (this.#advanceScheduled) return;
    this.#advanceScheduled = true;
    setImmediate(() => {
      this.#advanceScheduled = false;
      const ids = [...this.#dirty];
      this.#dirty.clear();
      for (const id of ids) {
        try {
          this.#advance(id);
        } catch (err) {
          this.#log.error({ run: id, err: messageOf(err), stack: (err as Error).stack }, 'advancing a workflow run failed; it is tried again at its next event or the next start');
        }
      }
      this.#flush();
    });
  }

  #advance(runId: string): void {
    if (this.#stopped || !this.#booted) return;
    const run = this.store.run(runId);
    if (!run || run.status !== 'running') return;
    const d = this.#def(run);
    const now = this.#now();
    if (run.deadlineAt !== null && now >= run.deadlineAt) {
      void this.#stopRun(run, 'timeout', `the run did not finish within its timeout (${d.def.timeout})`);
      return;
    }
    if (d.def.gitWorktree && !this.#worktreeReady(run)) return;
    let wakeAt = run.deadlineAt ?? Infinity;
    try {
      for (let pass = 0; pass < 10_000; pass++) {
        const rows = this.store.stepStates(runId);
        const byId = new Map(rows.map((r) => [r.stepId, r]));
        const changed = this.#pass(run, d, rows, byId, now, (t) => (wakeAt = Math.min(wakeAt, t)));
        if (!changed) {
          if (!rows.some((r) => r.status === 'pending' || r.status === 'running' || r.status === 'waiting')) this.#end(run, rows);
          break;
        }
      }
    } catch (err) {
      if (!(err instanceof PauseRun)) throw err;
      // The engine or the store takes no task now: try again in a second (a stopping daemon never does).
      wakeAt = Math.min(wakeAt, now + 1000);
    }
    this.#arm(runId, wakeAt);
  }

  /** One pass over the steps; true when it changed something (the caller passes again). */
  #pass(run: RunRow, d: RunDefs, rows: StepRow[], byId: Map<string, StepRow>, now: number, wake: (at: number) => void): boolean {
    // A step that failed for good (onError stop) stops the run: nothing new starts; what waits is cancelled.
    const failed = rows.find((r) => (r.status === 'error' || r.status === 'timeout') && r.parentId === null);
    if (failed) {
      let aborted = false;
      this.#engine.atomically(() => {
        for (const r of rows) {
          if (r.status === 'pending') {
            aborted = this.store.updateStep(run.id, r.stepId, ['pending'], { status: 'skipped', skipBranch: 2, note: `not run: step "${failed.stepId}" failed and onError is "stop"`, endedAt: now }, now) || aborted;
          } else if (r.status === 'waiting') {
            if (this.store.updateStep(run.id, r.stepId, ['waiting'], { status: 'cancelled', error: `cancelled: step "${failed.stepId}" failed`, endedAt: now, notBefore: null }, now)) {
              aborted = true;
              this.#event(run.id, 'step_completed', { step: r.stepId, status: 'cancelled' });
            }
          }
        }
      });
      return aborted;
    }
    let changed = false;
    for (const r of rows) {
      const def = d.byId.get(r.stepId);
      if (!def) continue;
      if (r.status === 'running' && r.type === 'parallel') {
        const subs = rows.filter((x) => x.parentId === r.stepId);
        if (subs.every((x) => STEP_ENDED.has(x.status))) {
          const bad = subs.filter((x) => x.status === 'error' || x.status === 'timeout' || x.status === 'cancelled');
          const outputs = subs.filter((x) => x.status === 'success').map((x) => this.#outputOf(this.store.stepOutput(run.id, x.stepId)));
          const output = joinParallelOutputs(outputs);
          const cost = subs.reduce((n, x) => n + (x.costUsd ?? 0), 0);
          const result: StepResult = bad.length === 0 ? { status: 'success', output } : { status: 'error', output, error: bad.map((x) => `${x.stepId}: ${x.error ?? x.status}`).join('; ') };
          this.#engine.atomically(() => {
            const fresh = this.store.step(run.id, r.stepId) as StepRow;
            if (this.#finish(run, { ...fresh, costUsd: 0 }, { ...result, costUsd: cost }, ['running']) && bad.length > 0 && this.store.step(run.id, r.stepId)?.status === 'pending') {
              // The parallel step runs again: its failed sub-steps with it.
              for (const x of bad) this.store.updateStep(run.id, x.stepId, [x.status], { status: 'pending', endedAt: null, notBefore: null }, now);
            }
          });
          return true;
        }
        continue;
      }
      if (r.status === 'waiting') {
        if (r.notBefore !== null && r.notBefore <= now) {
          this.#engine.atomically(() => this.#waitOver(run, r, def));
          return true;
        }
        if (r.notBefore !== null) wake(r.notBefore);
        continue;
      }
      if (r.status !== 'pending') continue;
      // Ready?
      if (r.parentId !== null) {
        if (byId.get(r.parentId)?.status !== 'running') continue;
      } else {
        const deps = def.dependsOn.map((id) => byId.get(id));
        if (deps.some((x) => !x || !STEP_ENDED.has(x.status))) continue;
        if (deps.length > 0 && deps.every((x) => x?.status === 'skipped' && x.skipBranch === 1)) {
          this.#engine.atomically(() => {
            if (this.store.updateStep(run.id, r.stepId, ['pending'], { status: 'skipped', skipBranch: 1, note: 'skipped: every step it depends on was skipped by a condition', endedAt: now }, now)) {
              this.#event(run.id, 'step_completed', { step: r.stepId, status: 'skipped', skipped: 'branch' });
            }
          });
          return true;
        }
      }
      if (r.notBefore !== null && r.notBefore > now) {
        wake(r.notBefore);
        continue;
      }
      const type = def.type;
      this.#startStep(run, d, r, def, rows, now);
      // A condition changes other steps (its branches): read them again. Other steps change only their
      // own row: go on with this pass (a fan-out starts in one pass, not one pass per step).
      if (type === 'condition') return true;
      const fresh = this.store.step(run.id, r.stepId);
      if (fresh) Object.assign(r, fresh);
      changed = true;
    }
    return changed;
  }

  /** A waiting step whose time came: a delay ends; a human gate times out as `humanOnTimeout` says. */
  #waitOver(run: RunRow, r: StepRow, def: StepDef): void {
    if (r.type === 'delay') {
      this.#finish(run, r, { status: 'success', output: '' }, ['waiting']);
      return;
    }
    const how = def.humanOnTimeout ?? 'stop';
    const after = def.humanTimeout ?? '72h';
    if (how === 'approve') this.#finish(run, r, { status: 'success', output: 'approved', note: `approved automatically: no decision within ${after}` }, ['waiting']);
    else if (how === 'skip') this.#finish(run, r, { status: 'skipped', note: `skipped: no decision within ${after}` }, ['waiting']);
    else this.#finish(run, r, { status: 'timeout', error: `no decision within ${after} (humanOnTimeout: stop)` }, ['waiting']);
  }

  #startStep(run: RunRow, d: RunDefs, r: StepRow, def: StepDef, rows: StepRow[], now: number): void {
    const ctx = this.#ctx(run.id, JSON.parse(run.variables) as Record<string, string>, rows);
    const attempt = r.attempt + 1;
    const type = def.type;
    const started = (status: StepStatus, extra: Parameters<WorkflowStore['updateStep']>[3] = {}) => {
      const ok = this.store.updateStep(run.id, r.stepId, ['pending'], { status, attempt, startedAt: now, endedAt: null, notBefore: null, ...extra }, now, r.attempt);
      if (ok) this.#event(run.id, 'step_started', { step: r.stepId, type, attempt, ...(extra.taskId ? { taskId: extra.taskId } : {}) });
      return ok;
    };
    const fail = (error: string) =>
      this.#engine.atomically(() => {
        if (started('running')) this.#finish(run, { ...r, attempt, startedAt: now, status: 'running' }, { status: 'error', error }, ['running']);
      });
    try {
      switch (type) {
        case 'dispatch':
        case 'handoff': {
          const render = (v: string | undefined) => (v === undefined ? undefined : renderTemplate(v, ctx, this.#tplOpts()));
          let prompt = render(def.prompt) ?? '';
          if (type === 'handoff') {
            const from = def.handoffFrom ? (ctx.steps[def.handoffFrom]?.output ?? '') : '';
            prompt = handoffPrompt(from, prompt);
          }
          const request: Record<string, unknown> = { prompt, idempotencyKey: `wf:${run.id}:${r.stepId}:${attempt}`, name: `${d.def.name}/${r.stepId}` };
          for (const k of ['agent', 'model', 'provider', 'timeout', 'permissionMode'] as const) {
            const v = render(def[k] as string | undefined);
            if (v !== undefined && v !== '') request[k] = v;
          }
          if (typeof def.budget === 'number') request.budget = def.budget;
          const workdir = run.worktreePath ?? (d.def.workdir ? run.workdir : null);
          if (workdir) request.workdir = workdir;
          try {
            this.#engine.atomically(() => {
              const { task } = this.#engine.enqueue(request, { source: `workflow:${d.def.name}`, workflowRunId: run.id, workflowStepId: r.stepId, origin: { workflow: d.def.name, runId: run.id, step: r.stepId } });
              started('running', { taskId: task.id });
            });
          } catch (err) {
            const code = (err as TetoraError).code;
            if (code === 'TET_ERR_ENGINE_STOPPED' || (err as TetoraError).status === 503) {
              // Not the step's fault: it stays pending and starts at the next chance (or the next start).
              this.#log.warn({ run: run.id, step: r.stepId, err: messageOf(err) }, 'cannot enqueue a workflow step now; it waits');
              throw new PauseRun();
            }
            fail(`its task was refused: ${messageOf(err)}`);
          }
          return;
        }
        case 'condition': {
          const expr = def.if ?? '';
          const yes = evalCondition(expr, ctx, this.#tplOpts());
          const chosen = yes ? (def.then ?? '') : (def.else ?? '');
          const other = yes ? def.else : def.then;
          this.#engine.atomically(() => {
            if (!started('running')) return;
            this.#finish(run, { ...r, attempt, startedAt: now, status: 'running' }, { status: 'success', output: chosen, note: `if ${JSON.stringify(renderTemplate(expr, ctx, this.#tplOpts()))} is ${yes}` }, ['running']);
            if (other && other !== chosen) {
              if (this.store.updateStep(run.id, other, ['pending'], { status: 'skipped', skipBranch: 1, note: `skipped: condition "${r.stepId}" chose ${chosen ? `"${chosen}"` : 'neither branch'}`, endedAt: now }, now)) {
                this.#event(run.id, 'step_completed', { step: other, status: 'skipped', skipped: 'branch' });
              }
            }
          });
          return;
        }
        case 'parallel':
          this.#engine.atomically(() => started('running'));
          return;
        case 'delay': {
          const ms = parseDuration(renderTemplate(def.delay ?? '', ctx, this.#tplOpts()));
          if (ms === undefined) return fail(`delay ${JSON.stringify(def.delay)} is not a duration (such as 30s, 5m, 1h)`);
          this.#engine.atomically(() => started('waiting', { notBefore: now + ms, note: `waiting until ${new Date(now + ms).toISOString()}` }));
          return;
        }
        case 'human': {
          const ms = def.humanTimeout ? parseDuration(def.humanTimeout) : STEP_DEFAULTS.humanTimeoutMs;
          if (ms === undefined) return fail(`humanTimeout ${JSON.stringify(def.humanTimeout)} is not a duration`);
          const prompt = renderTemplate(def.humanPrompt ?? def.prompt ?? '', ctx, this.#tplOpts());
          const subtype = def.humanSubtype ?? 'approval';
          const channel = /^discord:(\d{1,25})$/.exec(renderTemplate(def.humanAssignee ?? '', ctx, this.#tplOpts()).trim())?.[1];
          this.#engine.atomically(() => {
            if (!started('waiting', { notBefore: now + ms, note: prompt })) return;
            this.#event(run.id, 'human_gate_waiting', { step: r.stepId, subtype, prompt, timeoutAt: now + ms, ...(channel ? { discordChannel: channel } : {}) });
            if (channel && this.#notifier?.gate) this.#notifier.gate(channel, { runId: run.id, workflow: run.workflowName, step: r.stepId, subtype, prompt });
          });
          return;
        }
        case 'notify':
        case 'tool_call':
        case 'skill': {
          let ok = false;
          this.#engine.atomically(() => (ok = started('running')));
          if (ok) this.#launchLocal(run, { ...r, attempt, status: 'running', startedAt: now }, def);
          return;
        }
        default:
          fail(`step type "${type}" is not supported by this version`);
      }
    } catch (err) {
      if (err instanceof PauseRun) throw err;
      fail(messageOf(err));
    }
  }

  // ───────────────────────────── in-daemon steps ─────────────────────────────

  #launchLocal(run: RunRow, step: StepRow, def: StepDef): void {
    const key = `${run.id}/${step.stepId}`;
    if (this.#local.has(key)) return;
    const ac = new AbortController();
    this.#local.set(key, ac);
    const ctx = this.#ctx(run.id, JSON.parse(run.variables) as Record<string, string>, this.store.stepStates(run.id));
    void this.#execLocal(run, step, def, ctx, ac.signal)
      .catch((err: unknown): StepResult => ({ status: 'error', error: messageOf(err) }))
      .then((result) => {
        this.#local.delete(key);
        if (this.#stopped) return; // runs again at the next start
        try {
          this.#engine.atomically(() => {
            const fresh = this.store.step(run.id, step.stepId);
            const r = this.store.run(run.id);
            if (!fresh || !r || fresh.status !== 'running' || fresh.attempt !== step.attempt) return;
            this.#finish(r, fresh, ac.signal.aborted && result.status !== 'success' ? { ...result, status: 'cancelled' } : result, ['running']);
          });
        } catch (err) {
          this.#log.error({ run: run.id, step: step.stepId, err: messageOf(err) }, 'recording a workflow step result failed; the step runs again at the next start');
        }
        this.#schedule(run.id);
      });
  }

  async #execLocal(run: RunRow, step: StepRow, def: StepDef, ctx: TemplateContext, signal: AbortSignal): Promise<StepResult> {
    const config = this.#opts.config();
    const opts = this.#tplOpts();
    const render = (v: unknown): unknown => renderDeep(v, ctx, opts);
    const cwd = run.worktreePath ?? run.workdir ?? config.home;
    const stepTimeout = def.timeout ? parseDuration(renderTemplate(def.timeout, ctx, opts)) : undefined;
    const workflow = this.#def(run).def.name;
    // One key per run, step and attempt, the same when the step runs again after a crash: receivers can dedupe.
    const key = stepIdempotencyKey(run.id, step.stepId, step.attempt);
    const env = stepEnv({ runId: run.id, stepId: step.stepId, attempt: step.attempt, workflow });
    switch (def.type) {
      case 'notify': {
        const text = renderTemplate(def.notifyMsg ?? '', ctx, opts);
        const to = renderTemplate(def.notifyTo ?? 'log', ctx, opts).trim() || 'log';
        if (to === 'log') {
          this.#log.info({ run: run.id, workflow, step: step.stepId, notify: text }, 'workflow notify');
          return { status: 'success', output: text, note: 'logged' };
        }
        if (/^https?:\/\//i.test(to)) {
          const res = await postWebhook(to, { text, workflow, runId: run.id, step: step.stepId }, { signal, idempotencyKey: key, policy: outboundPolicy(config.outboundHttp), ...(this.#opts.webhookBaseMs !== undefined ? { baseMs: this.#opts.webhookBaseMs } : {}) });
          if (!res.ok) return { status: 'error', error: `notify ${to}: ${res.error ?? 'failed'} (after ${res.tries} ${res.tries === 1 ? 'try' : 'tries'})` };
          return { status: 'success', output: text, note: `posted to ${to} (${res.tries} ${res.tries === 1 ? 'try' : 'tries'})` };
        }
        if (to.startsWith('discord:')) {
          const channel = to.slice(8);
          if (!this.#notifier) {
            this.#log.warn({ run: run.id, workflow, step: step.stepId, notify: text, to }, 'workflow notify: Discord is not set up in this daemon; message not sent');
            return { status: 'success', output: text, note: `not sent: no Discord notifier in this daemon (${to}); the message is in the log` };
          }
          await this.#notifier.send(channel, text, { runId: run.id, workflow, step: step.stepId });
          return { status: 'success', output: text, note: `sent to ${to}` };
        }
        this.#log.warn({ run: run.id, workflow, step: step.stepId, notify: text, to }, 'workflow notify: this version cannot send to that target; message logged, not sent');
        return { status: 'success', output: text, note: `not sent: "${to}" is not a target this version has (log, a webhook URL, discord:<channelId>); the message is in the log` };
      }
      case 'tool_call': {
        const input = (render(def.toolInput ?? {}) ?? {}) as Record<string, unknown>;
        if (def.toolName === 'shell') {
          const command = typeof input.command === 'string' ? input.command : '';
          if (!command) return { status: 'error', error: 'tool_call shell needs toolInput.command' };
          const args = Array.isArray(input.args) ? input.args.map(String) : undefined;
          const t = input.timeout !== undefined ? parseDuration(input.timeout as string | number) : stepTimeout;
          const res = await runCommand({ command, ...(args ? { args } : {}), cwd, env, timeoutMs: t ?? config.defaultTimeoutMs, signal });
          return res.ok ? { status: 'success', output: res.output } : { status: res.timedOut ? 'timeout' : 'error', output: res.output, error: res.error ?? 'failed' };
        }
        if (def.toolName === 'http') {
          const method = String(input.method ?? 'GET').toUpperCase();
          const url = String(input.url ?? '');
          if (!url) return { status: 'error', error: 'tool_call http needs toolInput.url' };
          const given = input.headers && typeof input.headers === 'object' ? Object.fromEntries(Object.entries(input.headers as Record<string, unknown>).map(([k, v]) => [k, String(v)])) : undefined;
          const headers = withIdempotencyKey(method, given, key);
          const body = input.body === undefined ? undefined : typeof input.body === 'string' ? input.body : JSON.stringify(input.body);
          const res = await httpCall({ method, url, headers, ...(body !== undefined ? { body } : {}), timeoutMs: stepTimeout ?? 60_000, signal, policy: outboundPolicy(config.outboundHttp) });
          return res.ok ? { status: 'success', output: res.body } : { status: 'error', output: res.body, error: res.error ?? 'failed' };
        }
        return { status: 'error', error: `tool_call toolName "${def.toolName}" is not one this version has (shell, http)` };
      }
      case 'skill': {
        const skill = def.skill ? config.skills[def.skill] : undefined;
        if (!skill) return { status: 'error', error: `no skill "${def.skill}" in the config's "skills"; add it there ({"command": …, "args": […]}) and reload the daemon` };
        const args = [...skill.args, ...((render(def.skillArgs ?? []) as string[]) ?? [])];
        const t = skill.timeoutMs ?? stepTimeout;
        const res = await runCommand({ command: skill.command, args: args.length > 0 ? args : [], cwd, env, timeoutMs: t ?? config.defaultTimeoutMs, signal });
        return res.ok ? { status: 'success', output: res.output } : { status: res.timedOut ? 'timeout' : 'error', output: res.output, error: res.error ?? 'failed' };
      }
      default:
        return { status: 'error', error: `step type "${def.type}" does not run in the daemon` };
    }
  }

  // ───────────────────────────── ending ─────────────────────────────

  #end(run: RunRow, rows: StepRow[]): void {
    const status = finalStatus(rows);
    const failed = rows.find((r) => r.status === 'error' || r.status === 'timeout');
    const error = failed ? `step "${failed.stepId}" ${failed.status === 'timeout' ? 'timed out' : 'failed'}: ${failed.error ?? '(no message)'}` : null;
    const now = this.#now();
    this.#engine.atomically(() => {
      if (this.store.updateRun(run.id, ['running'], { status, error, finishedAt: now }, now)) {
        this.#event(run.id, 'workflow_completed', { workflow: run.workflowName, status, error, durationMs: now - run.createdAt, totalCostUsd: totalCost(rows) });
      }
    });
    this.#disarm(run.id);
    this.#defs.delete(run.id);
    this.#releaseWorktree(run.id);
  }

  /** Cancel or time out a run: unfinished steps cancelled, running ones' tasks and processes stopped. */
  async #stopRun(run: RunRow, status: Extract<RunStatus, 'cancelled' | 'timeout'>, reason: string): Promise<void> {
    const now = this.#now();
    let stopped = false;
    this.#engine.atomically(() => {
      if (!this.store.updateRun(run.id, ['running'], { status, error: reason, finishedAt: now, cancelRequested: 1 }, now)) return;
      stopped = true;
      for (const r of this.store.steps(run.id)) {
        if (r.status === 'pending' || r.status === 'waiting') {
          this.store.updateStep(run.id, r.stepId, [r.status], { status: 'cancelled', error: reason, endedAt: now, notBefore: null }, now);
          if (r.status === 'waiting') this.#event(run.id, 'step_completed', { step: r.stepId, status: 'cancelled' });
        } else if (r.status === 'running' && r.type === 'parallel') {
          this.store.updateStep(run.id, r.stepId, ['running'], { status: 'cancelled', error: reason, endedAt: now }, now);
        }
      }
      const rows = this.store.steps(run.id);
      this.#event(run.id, 'workflow_completed', { workflow: run.workflowName, status, error: reason, durationMs: now - run.createdAt, totalCostUsd: totalCost(rows) });
    });
    this.#disarm(run.id);
    this.#flush();
    if (!stopped) return;
    this.#releaseWorktree(run.id);
    const fresh = this.store.run(run.id) as RunRow;
    await Promise.all(this.store.steps(run.id).filter((r) => r.status === 'running').map((r) => this.#stopStep(fresh, r)));
    this.#flush();
  }

  /** Stop one running step of an ended run: cancel its task, or abort its in-daemon work. */
  async #stopStep(run: RunRow, r: StepRow): Promise<void> {
    if (r.taskId && TASK_TYPES.has(r.type)) {
      try {
        await this.#engine.cancel(r.taskId, `workflow run ${run.id} (${run.status})`);
      } catch (err) {
        if ((err as TetoraError).code !== 'TET_ERR_TASK_TRANSITION') this.#log.warn({ run: run.id, step: r.stepId, err: messageOf(err) }, 'cancelling a workflow step task failed');
      }
      // A task that had already ended: its hook recorded it; one that did not exist: record here.
      const task = this.#engine.get(r.taskId);
      if (task && ['succeeded', 'failed', 'cancelled', 'timed_out'].includes(task.status)) {
        this.#engine.atomically(() => {
          const fresh = this.store.step(run.id, r.stepId);
          if (fresh?.status === 'running' && fresh.taskId === task.id) this.#finish(run, fresh, this.#taskResult(run, task), ['running']);
        });
      }
      return;
    }
    const ac = this.#local.get(`${run.id}/${r.stepId}`);
    if (ac) ac.abort();
    else {
      const now = this.#now();
      this.#engine.atomically(() => {
        if (this.store.updateStep(run.id, r.stepId, ['running'], { status: 'cancelled', error: run.error ?? 'the run ended', endedAt: now }, now)) this.#event(run.id, 'step_completed', { step: r.stepId, status: 'cancelled' });
      });
    }
  }

  // ───────────────────────────── the run's worktree ─────────────────────────────

  /**
   * A `gitWorktree` run's steps run in one worktree made for the run (named `wf-<runId>`) and locked by
   * it until it ends. True once its lease is held by this daemon; otherwise it is being made (or taken
   * again after a restart: the boot reconcile released the lock of the dead daemon) and the run advances
   * when it is. A failure ends the run in error.
   */
  #worktreeReady(run: RunRow): boolean {
    const held = this.#leases.get(run.id);
    if (held?.lease) return true;
    if (held?.making) return false;
    const workspaces = this.#opts.workspaces;
    const repo = run.workdir;
    const fail = (why: string) => {
      const now = this.#now();
      this.#leases.delete(run.id);
      this.#engine.atomically(() => {
        for (const r of this.store.steps(run.id)) {
          if (r.status === 'pending' || r.status === 'waiting') this.store.updateStep(run.id, r.stepId, [r.status], { status: 'cancelled', error: why, endedAt: now }, now);
        }
        if (this.store.updateRun(run.id, ['running'], { status: 'error', error: why, finishedAt: now }, now)) {
          this.#event(run.id, 'workflow_completed', { workflow: run.workflowName, status: 'error', error: why, durationMs: now - run.createdAt, totalCostUsd: 0 });
        }
      });
      this.#flush();
    };
    if (!workspaces) {
      fail('gitWorktree: this daemon has no worktree manager; run the workflow without gitWorktree');
      return false;
    }
    if (!repo) {
      fail('gitWorktree: the workflow needs a "workdir" (or the config a defaultWorkdir) inside a git repository');
      return false;
    }
    const entry: { lease?: Lease; heartbeat?: NodeJS.Timeout; making?: Promise<void> } = {};
    this.#leases.set(run.id, entry);
    entry.making = workspaces
      .acquire({ id: `wf-${run.id}`, prompt: `workflow ${run.workflowName}`, workdir: repo, cleanup: 'keep' }, this.#opts.instanceId ?? 'workflow-runner')
      .then(
        (lease) => {
          entry.making = undefined;
          if (this.#stopped || this.#leases.get(run.id) !== entry) {
            void lease.release().catch(() => undefined);
            return;
          }
          entry.lease = lease;
          entry.heartbeat = setInterval(() => lease.heartbeat(), this.#opts.heartbeatMs ?? 10_000);
          entry.heartbeat.unref();
          const now = this.#now();
          this.#engine.atomically(() => this.store.updateRun(run.id, ['running'], { worktreePath: lease.workdir }, now));
          this.#schedule(run.id);
        },
        (err: unknown) => {
          entry.making = undefined;
          if (!this.#stopped) fail(`gitWorktree: the run's worktree could not be made in ${repo}: ${messageOf(err)}`);
        },
      );
    return false;
  }

  #releaseWorktree(runId: string): void {
    const held = this.#leases.get(runId);
    if (!held) return;
    this.#leases.delete(runId);
    if (held.heartbeat) clearInterval(held.heartbeat);
    held.lease?.release().catch((err: unknown) => this.#log.warn({ run: runId, err: messageOf(err) }, 'releasing the worktree of a workflow run failed'));
  }

  // ───────────────────────────── timers ─────────────────────────────

  #arm(runId: string, at: number): void {
    const cur = this.#timers.get(runId);
    if (!Number.isFinite(at)) {
      if (cur) this.#disarm(runId);
      return;
    }
    if (cur && cur.at === at) return;
    if (cur) clearTimeout(cur.timer);
    const timer = setTimeout(() => {
      this.#timers.delete(runId);
      this.#schedule(runId);
    }, clampDelay(Math.max(0, at - this.#now())));
    this.#timers.set(runId, { at, timer });
  }

  #disarm(runId: string): void {
    const cur = this.#timers.get(runId);
    if (cur) clearTimeout(cur.timer);
    this.#timers.delete(runId);
  }

  // ───────────────────────────── helpers ─────────────────────────────

  #requireRun(id: string): RunRow {
    const run = this.store.run(id);
    if (!run) throw new TetoraError('TET_ERR_WORKFLOW_RUN_NOT_FOUND', `no workflow run has id ${id}; list runs with \`tetora workflow runs\`.`, { id });
    return run;
  }

  #def(run: RunRow): RunDefs {
    let d = this.#defs.get(run.id);
    if (!d) {
      const def = JSON.parse(run.definition) as WorkflowDef;
      const byId = new Map<string, StepDef>();
      const parentOf = new Map<string, string | null>();
      for (const { step, parent } of flattenSteps(def)) {
        byId.set(step.id, step);
        parentOf.set(step.id, parent);
      }
      d = { def, byId, parentOf };
      if (!RUN_ENDED.has(run.status)) this.#defs.set(run.id, d);
    }
    return d;
  }

  /** A step's whole output: from its row, or from the spool file that holds an output too large for a task row. */
  #outputOf(r: Pick<StepRow, 'output' | 'outputFile'> | undefined): string {
    if (!r) return '';
    if (r.outputFile) {
      try {
        return readFileSync(r.outputFile, 'utf8').replace(/\r?\n$/, '');
      } catch (err) {
        this.#log.warn({ file: r.outputFile, err: messageOf(err) }, 'the output file of a workflow step is gone; using the part kept in the store');
      }
    }
    return r.output ?? '';
  }

  /** The template context of a step about to start: outputs are read from the store only when a template names them. */
  #ctx(runId: string, vars: Record<string, string>, rows: StepRow[]): TemplateContext {
    const steps: TemplateContext['steps'] = {};
    const outputOf = (id: string) => this.#outputOf(this.store.stepOutput(runId, id));
    for (const r of rows) {
      if (r.status === 'pending') continue;
      let output: string | undefined;
      steps[r.stepId] = {
        get output() {
          output ??= outputOf(r.stepId);
          return output;
        },
        status: r.status,
        error: r.error ?? '',
      };
    }
    const env = this.#opts.config().env;
    return { vars, steps, env: (name) => env[name] };
  }

  #tplOpts(): TemplateOptions {
    return { workflowEnv: this.#opts.config().workflowEnv };
  }

  /** Append a run event (inside the caller's transaction); published after the commit (see #flush). */
  #event(runId: string, type: string, data: Record<string, unknown>): void {
    const workflow = this.#defs.get(runId)?.def.name ?? this.store.run(runId)?.workflowName ?? '';
    this.#outbox.push(this.store.appendEvent(runId, type, { workflow, ...data }, this.#now()));
    this.#scheduleFlush();
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      this.#flush();
    });
  }

  /** Publish the events appended so far (to SSE streams and subscribers). */
  #flush(): void {
    const events = this.#outbox;
    this.#outbox = [];
    for (const e of events) {
      this.#ee.emit('event', e);
      const mapped = runnerEvent(e);
      if (mapped) this.#ee.emit('runner', mapped);
    }
  }
}

class PauseRun extends Error {}

function totalCost(rows: StepRow[]): number {
  return rows.filter((r) => r.type !== 'parallel').reduce((n, r) => n + (r.costUsd ?? 0), 0);
}

/** The subscriber's view of a run event, or undefined for events subscribers do not hear. Pure. */
export function runnerEvent(e: WorkflowEvent): RunnerEvent | undefined {
  const workflow = String(e.data.workflow ?? '');
  switch (e.type) {
    case 'workflow_started':
      return { type: 'workflow.started', runId: e.runId, workflow, status: 'running' };
    case 'workflow_completed': {
      const status = String(e.data.status);
      return { type: status === 'success' ? 'workflow.completed' : status === 'cancelled' ? 'workflow.cancelled' : 'workflow.failed', runId: e.runId, workflow, status };
    }
    case 'step_started':
      return { type: 'step.started', runId: e.runId, workflow, step: String(e.data.step), status: 'running' };
    case 'step_completed':
      return { type: 'step.completed', runId: e.runId, workflow, step: String(e.data.step), status: String(e.data.status) };
    default:
      return undefined;
  }
}
