import type { Db } from './db.js';

/** Run statuses: the original's. `resumed`: a later run took over (see resumedAs). */
export type RunStatus = 'running' | 'success' | 'error' | 'cancelled' | 'timeout' | 'resumed';
/** Step statuses: the original's (so `{{steps.X.status}} == success` keeps working). */
export type StepStatus = 'pending' | 'running' | 'waiting' | 'success' | 'error' | 'skipped' | 'cancelled' | 'timeout';

export const RUN_ENDED: ReadonlySet<string> = new Set(['success', 'error', 'cancelled', 'timeout', 'resumed']);
export const STEP_ENDED: ReadonlySet<string> = new Set(['success', 'error', 'skipped', 'cancelled', 'timeout']);

export interface RunRow {
  id: string;
  workflowName: string;
  /** The definition as it was when the run was created (JSON). */
  definition: string;
  /** JSON object of the run's variables (defaults merged with the given ones). */
  variables: string;
  status: RunStatus;
  source: string;
  triggerInfo: string | null;
  workdir: string | null;
  worktreePath: string | null;
  error: string | null;
  deadlineAt: number | null;
  cancelRequested: number;
  resumedFrom: string | null;
  resumedAs: string | null;
  createdAt: number;
  finishedAt: number | null;
  updatedAt: number;
}

export interface StepRow {
  runId: string;
  stepId: string;
  parentId: string | null;
  ord: number;
  type: string;
  status: StepStatus;
  attempt: number;
  taskId: string | null;
  output: string | null;
  outputFile: string | null;
  error: string | null;
  note: string | null;
  /** Skipped because a condition chose the other branch (propagates to steps that depend only on skipped ones). */
  skipBranch: number;
  notBefore: number | null;
  decision: string | null;
  decidedBy: string | null;
  decidedAt: number | null;
  costUsd: number;
  /** Carried over from the run this one resumes (its result is the earlier run's). */
  carried: number;
  startedAt: number | null;
  endedAt: number | null;
  updatedAt: number;
}

export interface WorkflowEvent {
  seq: number;
  runId: string;
  at: number;
  type: string;
  data: Record<string, unknown>;
}

export interface NewStep {
  stepId: string;
  parentId: string | null;
  ord: number;
  type: string;
  status?: StepStatus;
  output?: string | null;
  outputFile?: string | null;
  error?: string | null;
  note?: string | null;
  skipBranch?: number;
  taskId?: string | null;
  costUsd?: number;
  carried?: number;
  startedAt?: number | null;
  endedAt?: number | null;
}

/** The fields of a step a change may set. */
export type StepPatch = Partial<Pick<StepRow, 'status' | 'attempt' | 'taskId' | 'output' | 'outputFile' | 'error' | 'note' | 'skipBranch' | 'notBefore' | 'decision' | 'decidedBy' | 'decidedAt' | 'costUsd' | 'startedAt' | 'endedAt'>>;
export type RunPatch = Partial<Pick<RunRow, 'status' | 'error' | 'finishedAt' | 'cancelRequested' | 'resumedAs' | 'worktreePath' | 'workdir'>>;

const RUN_COLS = `id, workflow_name AS workflowName, definition, variables, status, source, trigger_info AS triggerInfo, workdir,
  worktree_path AS worktreePath, error, deadline_at AS deadlineAt, cancel_requested AS cancelRequested, resumed_from AS resumedFrom,
  resumed_as AS resumedAs, created_at AS createdAt, finished_at AS finishedAt, updated_at AS updatedAt`;
const STEP_COLS = `run_id AS runId, step_id AS stepId, parent_id AS parentId, ord, type, status, attempt, task_id AS taskId, output,
  output_file AS outputFile, error, note, skip_branch AS skipBranch, not_before AS notBefore, decision, decided_by AS decidedBy,
  decided_at AS decidedAt, cost_usd AS costUsd, carried, started_at AS startedAt, ended_at AS endedAt, updated_at AS updatedAt`;

const STEP_FIELDS: Record<keyof StepPatch, string> = {
  status: 'status',
  attempt: 'attempt',
  taskId: 'task_id',
  output: 'output',
  outputFile: 'output_file',
  error: 'error',
  note: 'note',
  skipBranch: 'skip_branch',
  notBefore: 'not_before',
  decision: 'decision',
  decidedBy: 'decided_by',
  decidedAt: 'decided_at',
  costUsd: 'cost_usd',
  startedAt: 'started_at',
  endedAt: 'ended_at',
};
const RUN_FIELDS: Record<keyof RunPatch, string> = {
  status: 'status',
  error: 'error',
  finishedAt: 'finished_at',
  cancelRequested: 'cancel_requested',
  resumedAs: 'resumed_as',
  worktreePath: 'worktree_path',
  workdir: 'workdir',
};

/**
 * All SQL about workflow runs, their steps and their event log. It uses the engine's connection
 * (`engine.db`), so its writes join the engine's transactions (`engine.atomically`, terminal hooks).
 * Changes of state are guarded by the expected current state (`WHERE status = …`) and say whether they
 * happened, so a late or repeated result never overwrites a newer one.
 */
export class WorkflowStore {
  readonly #db: Db;
  readonly #s;
  readonly #stepUpdates = new Map<string, ReturnType<Db['prepare']>>();
  readonly #runUpdates = new Map<string, ReturnType<Db['prepare']>>();

  constructor(db: Db) {
    this.#db = db;
    const p = (sql: string) => db.prepare(sql);
    this.#s = {
      runByTriggerKey: p(`SELECT id FROM workflow_runs WHERE json_extract(trigger_info, '$.idempotencyKey') = ? ORDER BY created_at LIMIT 1`),
      insertRun: p(`INSERT INTO workflow_runs (id, workflow_name, definition, variables, status, source, trigger_info, workdir, worktree_path,
          deadline_at, resumed_from, created_at, updated_at)
        VALUES (@id, @workflowName, @definition, @variables, 'running', @source, @triggerInfo, @workdir, @worktreePath, @deadlineAt, @resumedFrom, @now, @now)`),
      insertStep: p(`INSERT INTO workflow_steps (run_id, step_id, parent_id, ord, type, status, output, output_file, error, note, skip_branch, task_id,
          cost_usd, carried, started_at, ended_at, updated_at)
        VALUES (@runId, @stepId, @parentId, @ord, @type, @status, @output, @outputFile, @error, @note, @skipBranch, @taskId, @costUsd, @carried,
          @startedAt, @endedAt, @now)`),
      run: p(`SELECT ${RUN_COLS} FROM workflow_runs WHERE id = ?`),
      runsByStatus: p(`SELECT ${RUN_COLS} FROM workflow_runs WHERE status = ? ORDER BY created_at, rowid`),
      listAll: p(`SELECT ${RUN_COLS} FROM workflow_runs ORDER BY created_at DESC, rowid DESC LIMIT ?`),
      listByName: p(`SELECT ${RUN_COLS} FROM workflow_runs WHERE workflow_name = ? ORDER BY created_at DESC, rowid DESC LIMIT ?`),
      steps: p(`SELECT ${STEP_COLS} FROM workflow_steps WHERE run_id = ? ORDER BY ord`),
      step: p(`SELECT ${STEP_COLS} FROM workflow_steps WHERE run_id = ? AND step_id = ?`),
      stepByTask: p(`SELECT ${STEP_COLS} FROM workflow_steps WHERE task_id = ?`),
      orphanSteps: p(`SELECT ${STEP_COLS} FROM workflow_steps
        WHERE status = 'running' AND run_id IN (SELECT id FROM workflow_runs WHERE status <> 'running') ORDER BY run_id, ord`),
      appendEvent: p(`INSERT INTO workflow_events (run_id, at, type, data) VALUES (?, ?, ?, ?)`),
      events: p(`SELECT seq, run_id AS runId, at, type, data FROM workflow_events WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?`),
      lastEvent: p(`SELECT seq, run_id AS runId, at, type, data FROM workflow_events WHERE run_id = ? ORDER BY seq DESC LIMIT 1`),
    };
  }

  atomically<T>(fn: () => T): T {
    return this.#db.transaction(fn)();
  }

  insertRun(r: Pick<RunRow, 'id' | 'workflowName' | 'definition' | 'variables' | 'source' | 'triggerInfo' | 'workdir' | 'worktreePath' | 'deadlineAt' | 'resumedFrom'>, steps: NewStep[], now: number): void {
    this.#s.insertRun.run({ ...r, now });
    for (const s of steps) {
      this.#s.insertStep.run({
        runId: r.id,
        stepId: s.stepId,
        parentId: s.parentId,
        ord: s.ord,
        type: s.type,
        status: s.status ?? 'pending',
        output: s.output ?? null,
        outputFile: s.outputFile ?? null,
        error: s.error ?? null,
        note: s.note ?? null,
        skipBranch: s.skipBranch ?? 0,
        taskId: s.taskId ?? null,
        costUsd: s.costUsd ?? 0,
        carried: s.carried ?? 0,
        startedAt: s.startedAt ?? null,
        endedAt: s.endedAt ?? null,
        now,
      });
    }
  }

  /** The run a trigger firing already started (its `trigger.idempotencyKey`), if any. */
  runByTriggerKey(key: string): string | undefined {
    return (this.#s.runByTriggerKey.get(key) as { id: string } | undefined)?.id;
  }

  run(id: string): RunRow | undefined {
    return this.#s.run.get(id) as RunRow | undefined;
  }

  runsWithStatus(status: RunStatus): RunRow[] {
    return this.#s.runsByStatus.all(status) as RunRow[];
  }

  /** Newest first; `workflow` narrows to one workflow's runs. */
  listRuns(opts: { workflow?: string; limit: number }): RunRow[] {
    return (opts.workflow ? this.#s.listByName.all(opts.workflow, opts.limit) : this.#s.listAll.all(opts.limit)) as RunRow[];
  }

  steps(runId: string): StepRow[] {
    return this.#s.steps.all(runId) as StepRow[];
  }

  step(runId: string, stepId: string): StepRow | undefined {
    return this.#s.step.get(runId, stepId) as StepRow | undefined;
  }

  /** Steps still `running` in runs that ended (a cancel or timeout a crash interrupted before their tasks stopped). */
  runningStepsOfEndedRuns(): StepRow[] {
    return this.#s.orphanSteps.all() as StepRow[];
  }

  stepOfTask(taskId: string): StepRow | undefined {
    return this.#s.stepByTask.get(taskId) as StepRow | undefined;
  }

  /**
   * Change a step when it is still in one of `from` (and at `attempt`, when given). False when it was not
   * (someone moved it first): the caller treats the change as not made.
   */
  updateStep(runId: string, stepId: string, from: readonly StepStatus[], patch: StepPatch, now: number, attempt?: number): boolean {
    const keys = (Object.keys(patch) as Array<keyof StepPatch>).filter((k) => patch[k] !== undefined).sort();
    const sig = `${keys.join(',')}|${from.length}|${attempt === undefined ? '' : 'a'}`;
    let stmt = this.#stepUpdates.get(sig);
    if (!stmt) {
      const sets = keys.map((k) => `${STEP_FIELDS[k]} = @${k}`);
      sets.push('updated_at = @now');
      const guard = from.map((_, i) => `@from${i}`).join(', ');
      stmt = this.#db.prepare(`UPDATE workflow_steps SET ${sets.join(', ')} WHERE run_id = @runId AND step_id = @stepId AND status IN (${guard})${attempt === undefined ? '' : ' AND attempt = @attemptGuard'}`);
      this.#stepUpdates.set(sig, stmt);
    }
    const params: Record<string, unknown> = { runId, stepId, now };
    from.forEach((f, i) => (params[`from${i}`] = f));
    if (attempt !== undefined) params.attemptGuard = attempt;
    for (const k of keys) params[k] = patch[k];
    return stmt.run(params).changes === 1;
  }

  /** Change a run when it is still in one of `from`. False when it was not. */
  updateRun(id: string, from: readonly RunStatus[], patch: RunPatch, now: number): boolean {
    const keys = (Object.keys(patch) as Array<keyof RunPatch>).filter((k) => patch[k] !== undefined).sort();
    const sig = `${keys.join(',')}|${from.length}`;
    let stmt = this.#runUpdates.get(sig);
    if (!stmt) {
      const sets = keys.map((k) => `${RUN_FIELDS[k]} = @${k}`);
      sets.push('updated_at = @now');
      const guard = from.map((_, i) => `@from${i}`).join(', ');
      stmt = this.#db.prepare(`UPDATE workflow_runs SET ${sets.join(', ')} WHERE id = @id AND status IN (${guard})`);
      this.#runUpdates.set(sig, stmt);
    }
    const params: Record<string, unknown> = { id, now };
    from.forEach((f, i) => (params[`from${i}`] = f));
    for (const k of keys) params[k] = patch[k];
    return stmt.run(params).changes === 1;
  }

  appendEvent(runId: string, type: string, data: Record<string, unknown>, at: number): WorkflowEvent {
    const r = this.#s.appendEvent.run(runId, at, type, JSON.stringify(data));
    return { seq: Number(r.lastInsertRowid), runId, at, type, data };
  }

  /** Up to `limit` events of a run after `after` (about `maxBytes` of data at most, at least one). */
  events(runId: string, after: number, limit: number, maxBytes = Number.MAX_SAFE_INTEGER): WorkflowEvent[] {
    const out: WorkflowEvent[] = [];
    let bytes = 0;
    for (const r of this.#s.events.iterate(runId, after, limit) as Iterable<{ seq: number; runId: string; at: number; type: string; data: string }>) {
      out.push({ ...r, data: JSON.parse(r.data) as Record<string, unknown> });
      bytes += r.data.length;
      if (bytes >= maxBytes) break;
    }
    return out;
  }

  lastEvent(runId: string): WorkflowEvent | undefined {
    const r = this.#s.lastEvent.get(runId) as { seq: number; runId: string; at: number; type: string; data: string } | undefined;
    return r ? { ...r, data: JSON.parse(r.data) as Record<string, unknown> } : undefined;
  }
}
