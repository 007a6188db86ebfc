import type { Db } from './db.js';

/** How a firing came about. `cron` and `catch-up` are timed: unique on (schedule, scheduledAt). */
export type FiringKind = 'cron' | 'catch-up' | 'manual' | 'webhook' | 'event';
/** `starting`: recorded, its workflow run not yet confirmed (a crash here is resumed at the next start). */
export type FiringStatus = 'started' | 'starting' | 'failed';

export interface FiringRow {
  id: number;
  /** `job:<id>` or `trigger:<name>`. */
  schedule: string;
  scheduledAt: number;
  kind: FiringKind;
  firedAt: number;
  status: FiringStatus;
  taskId: string | null;
  workflowRunId: string | null;
  error: string | null;
  /** JSON: the variables given to a workflow, the event that fired it, … */
  detail: string | null;
}

export interface NewFiring {
  schedule: string;
  scheduledAt: number;
  kind: FiringKind;
  firedAt: number;
  status: FiringStatus;
  error?: string;
  detail?: Record<string, unknown>;
}

const FIRING = `id, schedule, scheduled_at AS scheduledAt, kind, fired_at AS firedAt, status, task_id AS taskId,
  workflow_run_id AS workflowRunId, error, detail`;

/**
 * All SQL about schedules and triggers (migration 9). Shares the engine's connection (`engine.db`), so a
 * firing and the task it makes commit together inside `engine.atomically`.
 */
export class ScheduleStore {
  readonly #db: Db;
  readonly #s;

  constructor(db: Db) {
    this.#db = db;
    const p = (sql: string) => db.prepare(sql);
    this.#s = {
      claimSignature: p(`INSERT OR IGNORE INTO webhook_signatures (trigger, signature, seen_at) VALUES (?, ?, ?)`),
      pruneSignatures: p(`DELETE FROM webhook_signatures WHERE seen_at < ?`),
      insert: p(`INSERT OR IGNORE INTO schedule_firings (schedule, scheduled_at, kind, fired_at, status, error, detail)
        VALUES (@schedule, @scheduledAt, @kind, @firedAt, @status, @error, @detail)`),
      setTask: p(`UPDATE schedule_firings SET task_id = ? WHERE id = ?`),
      settle: p(`UPDATE schedule_firings SET status = ?, workflow_run_id = ?, error = ? WHERE id = ?`),
      get: p(`SELECT ${FIRING} FROM schedule_firings WHERE id = ?`),
      timed: p(`SELECT ${FIRING} FROM schedule_firings WHERE schedule = ? AND scheduled_at = ? AND kind IN ('cron', 'catch-up')`),
      recent: p(`SELECT ${FIRING} FROM schedule_firings WHERE schedule = ? ORDER BY id DESC LIMIT ?`),
      starting: p(`SELECT ${FIRING} FROM schedule_firings WHERE schedule = ? AND status = 'starting' ORDER BY id`),
      byRun: p(`SELECT schedule FROM schedule_firings WHERE workflow_run_id = ? LIMIT 1`),
      state: p(`SELECT checked_until AS checkedUntil, last_fired_at AS lastFiredAt FROM schedule_state WHERE schedule = ?`),
      advance: p(`INSERT INTO schedule_state (schedule, checked_until) VALUES (@schedule, @at)
        ON CONFLICT (schedule) DO UPDATE SET checked_until = MAX(COALESCE(checked_until, 0), excluded.checked_until)`),
      resetChecked: p(`INSERT INTO schedule_state (schedule, checked_until) VALUES (@schedule, @at)
        ON CONFLICT (schedule) DO UPDATE SET checked_until = excluded.checked_until`),
      fired: p(`INSERT INTO schedule_state (schedule, last_fired_at) VALUES (@schedule, @at)
        ON CONFLICT (schedule) DO UPDATE SET last_fired_at = excluded.last_fired_at`),
      overrideGet: p(`SELECT enabled FROM schedule_overrides WHERE schedule = ?`),
      overrideAll: p(`SELECT schedule, enabled FROM schedule_overrides`),
      overrideSet: p(`INSERT INTO schedule_overrides (schedule, enabled, updated_at) VALUES (?, ?, ?)
        ON CONFLICT (schedule) DO UPDATE SET enabled = excluded.enabled, updated_at = excluded.updated_at`),
      overrideClear: p(`DELETE FROM schedule_overrides WHERE schedule = ?`),
    };
  }

  /** One transaction (joins one in progress: `engine.atomically` callers keep theirs). */
  atomically<T>(fn: () => T): T {
    return this.#db.inTransaction ? fn() : this.#db.transaction(fn)();
  }

  /**
   * Record a firing; undefined when a timed firing of this schedule at this time is already recorded (it
   * must not happen twice).
   */
  /**
   * Records a webhook signature as used; false when it was already (a replayed request). Rows seen before
   * `pruneBefore` are deleted in the same transaction.
   */
  claimSignature(trigger: string, signature: string, now: number, pruneBefore: number): boolean {
    return this.#db.transaction(() => {
      this.#s.pruneSignatures.run(pruneBefore);
      return this.#s.claimSignature.run(trigger, signature, now).changes === 1;
    })();
  }

  insert(f: NewFiring): FiringRow | undefined {
    const r = this.#s.insert.run({ ...f, error: f.error ?? null, detail: f.detail ? JSON.stringify(f.detail) : null });
    if (r.changes !== 1) return undefined;
    return this.get(Number(r.lastInsertRowid));
  }

  get(id: number): FiringRow | undefined {
    return this.#s.get.get(id) as FiringRow | undefined;
  }

  /** The timed firing of `schedule` at `scheduledAt`, when there was one. */
  timed(schedule: string, scheduledAt: number): FiringRow | undefined {
    return this.#s.timed.get(schedule, scheduledAt) as FiringRow | undefined;
  }

  setTask(id: number, taskId: string): void {
    this.#s.setTask.run(taskId, id);
  }

  /** A workflow firing's outcome: started (with its run id) or failed (with why). */
  settle(id: number, status: FiringStatus, runId: string | null, error: string | null): void {
    this.#s.settle.run(status, runId, error, id);
  }

  recent(schedule: string, limit = 10): FiringRow[] {
    return this.#s.recent.all(schedule, limit) as FiringRow[];
  }

  /** Workflow firings recorded but never confirmed (the daemon died while starting them). */
  starting(schedule: string): FiringRow[] {
    return this.#s.starting.all(schedule) as FiringRow[];
  }

  /** The schedule whose firing started workflow run `runId`, if any. */
  scheduleOfRun(runId: string): string | undefined {
    return (this.#s.byRun.get(runId) as { schedule: string } | undefined)?.schedule;
  }

  state(schedule: string): { checkedUntil: number | null; lastFiredAt: number | null } | undefined {
    return this.#s.state.get(schedule) as { checkedUntil: number | null; lastFiredAt: number | null } | undefined;
  }

  /** Timed firings up to `at` are handled (never moves back). */
  advance(schedule: string, at: number): void {
    this.#s.advance.run({ schedule, at });
  }

  /** Handled up to `at`, whatever was recorded before (a schedule (re-)enabled now catches nothing up). */
  resetChecked(schedule: string, at: number): void {
    this.#s.resetChecked.run({ schedule, at });
  }

  /** A trigger fired at `at` (its cooldown counts from here). */
  markFired(schedule: string, at: number): void {
    this.#s.fired.run({ schedule, at });
  }

  /** The enable/disable override of a schedule; undefined when its file decides. */
  override(schedule: string): boolean | undefined {
    const r = this.#s.overrideGet.get(schedule) as { enabled: number } | undefined;
    return r === undefined ? undefined : r.enabled === 1;
  }

  overrides(): Map<string, boolean> {
    return new Map((this.#s.overrideAll.all() as Array<{ schedule: string; enabled: number }>).map((r) => [r.schedule, r.enabled === 1]));
  }

  setOverride(schedule: string, enabled: boolean, now: number): void {
    this.#s.overrideSet.run(schedule, enabled ? 1 : 0, now);
  }

  clearOverride(schedule: string): void {
    this.#s.overrideClear.run(schedule);
  }
}
