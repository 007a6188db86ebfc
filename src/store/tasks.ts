import { randomBytes } from 'node:crypto';
import type { Db } from './db.js';
import { sessionHoldingStatuses, type TaskStatus } from '../model/status.js';

/**
 * All SQL of the task ledger. Every status change goes through `transition` or `claim`: one transaction
 * that checks the expected current status, writes the row and appends its event. Callers never see the
 * connection or a transaction.
 */
export interface TaskRow {
  seq: number;
  id: string;
  source: string;
  agent: string | null;
  provider: string | null;
  model: string | null;
  prompt: string;
  systemPrompt: string | null;
  workdir: string | null;
  permissionMode: string | null;
  sessionKey: string | null;
  providerSessionId: string | null;
  priority: number;
  status: TaskStatus;
  attempt: number;
  maxAttempts: number;
  runs: number;
  notBefore: number | null;
  timeoutMs: number | null;
  budgetUsd: number | null;
  costUsd: number;
  tokensIn: number;
  tokensOut: number;
  output: string | null;
  errorClass: string | null;
  errorMessage: string | null;
  parentId: string | null;
  workflowRunId: string | null;
  workflowStepId: string | null;
  idempotencyKey: string | null;
  options: string;
  /** JSON: the source's own coordinates of this task (Discord channel and message, schedule firing, …), or null. */
  origin: string | null;
  /** JSON: how the agent was chosen when the request named none ({method, confidence, reason, …}; see src/routing), or null. */
  route: string | null;
  parkedMs: number;
  parkedAt: number | null;
  sessionRetryUsed: number;
  /** Daemon crashes this task lived through (counted apart from attempts; capped by retry.maxInterruptions). */
  interruptions: number;
  /** The output is larger than the row keeps: the spool file that holds it whole (`output` holds its head). */
  outputFile: string | null;
  /** Size of the whole output in bytes when it is in `outputFile`. */
  outputBytes: number | null;
  pgid: number | null;
  instanceId: string | null;
  createdAt: number;
  updatedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

/** How one task begot another (see migration 010). */
export type TaskLinkKind = 'route' | 'delegate' | 'handoff' | 'retry';

export interface TaskLink {
  fromTask: string;
  toTask: string;
  kind: TaskLinkKind;
  /** A parent's children in the order of its output. */
  ord: number;
  reason: string | null;
  createdAt: number;
}

export interface TaskEvent {
  seq: number;
  taskId: string;
  at: number;
  type: string;
  data: Record<string, unknown>;
}

export interface TaskRun {
  taskId: string;
  run: number;
  attempt: number;
  instanceId: string;
  provider: string | null;
  pgid: number | null;
  startedAt: number;
  endedAt: number | null;
  outcome: string | null;
  message: string | null;
  /** The run's launcher (its process group leader) and when that process started (epoch ms, from /proc). */
  pid: number | null;
  pidStartedAt: number | null;
  /** The run's spool folder (stdin, stdout, stderr, exit). */
  spoolDir: string | null;
  /** Wall-clock deadline of the run (epoch ms). */
  deadlineAt: number | null;
  /** Bytes of stdout / stderr already turned into recorded events. */
  outOffset: number;
  errOffset: number;
}

export type NewTask = Pick<TaskRow, 'id' | 'source' | 'prompt' | 'status' | 'maxAttempts' | 'priority' | 'createdAt'> &
  Partial<Pick<TaskRow, 'agent' | 'provider' | 'model' | 'systemPrompt' | 'workdir' | 'permissionMode' | 'sessionKey' | 'timeoutMs' | 'budgetUsd' | 'parentId' | 'workflowRunId' | 'workflowStepId' | 'idempotencyKey' | 'options' | 'origin' | 'route' | 'notBefore'>>;

/** Columns a transition may write (names are constants here; values are always bound parameters). */
const PATCHABLE = {
  provider: 'provider',
  model: 'model',
  providerSessionId: 'provider_session_id',
  attempt: 'attempt',
  notBefore: 'not_before',
  costUsd: 'cost_usd',
  tokensIn: 'tokens_in',
  tokensOut: 'tokens_out',
  output: 'output',
  errorClass: 'error_class',
  errorMessage: 'error_message',
  parkedMs: 'parked_ms',
  parkedAt: 'parked_at',
  sessionRetryUsed: 'session_retry_used',
  interruptions: 'interruptions',
  outputFile: 'output_file',
  outputBytes: 'output_bytes',
  pgid: 'pgid',
  instanceId: 'instance_id',
  finishedAt: 'finished_at',
  options: 'options',
  // routing → queued: the agent chosen and how (its provider, model and limits with it).
  agent: 'agent',
  route: 'route',
  permissionMode: 'permission_mode',
  timeoutMs: 'timeout_ms',
  budgetUsd: 'budget_usd',
  workdir: 'workdir',
  sessionKey: 'session_key',
} as const;
export type TaskPatch = Partial<{ [K in keyof typeof PATCHABLE]: TaskRow[K] }>;

/** The statuses that hold a session, as an SQL list of constants (see sessionHoldingStatuses). */
const SESSION_HOLDING = sessionHoldingStatuses.map((st) => `'${st}'`).join(', ');

const COLUMNS = `seq, id, source, agent, provider, model, prompt, system_prompt AS systemPrompt, workdir,
  permission_mode AS permissionMode, session_key AS sessionKey, provider_session_id AS providerSessionId, priority, status,
  attempt, max_attempts AS maxAttempts, runs, not_before AS notBefore, timeout_ms AS timeoutMs, budget_usd AS budgetUsd,
  cost_usd AS costUsd, tokens_in AS tokensIn, tokens_out AS tokensOut, output, error_class AS errorClass,
  error_message AS errorMessage, parent_id AS parentId, workflow_run_id AS workflowRunId, workflow_step_id AS workflowStepId,
  idempotency_key AS idempotencyKey, options, origin, route, parked_ms AS parkedMs, parked_at AS parkedAt, session_retry_used AS sessionRetryUsed,
  interruptions, output_file AS outputFile, output_bytes AS outputBytes, pgid, instance_id AS instanceId, created_at AS createdAt, updated_at AS updatedAt, started_at AS startedAt, finished_at AS finishedAt`;

const RUN_COLUMNS = `task_id AS taskId, run, attempt, instance_id AS instanceId, provider, pgid, started_at AS startedAt,
  ended_at AS endedAt, outcome, message, pid, pid_started_at AS pidStartedAt, spool_dir AS spoolDir, deadline_at AS deadlineAt,
  out_offset AS outOffset, err_offset AS errOffset`;

function parseEvent(r: { seq: number; taskId: string; at: number; type: string; data: string }): TaskEvent {
  return { ...r, data: JSON.parse(r.data) as Record<string, unknown> };
}

export interface ListFilter {
  status?: string[];
  /** One agent, or any of several. */
  agent?: string | string[];
  source?: string;
  /** Cursor: only tasks with seq below this (newest first). */
  before?: number;
  limit: number;
}

export class TaskStore {
  readonly #s;

  constructor(private readonly db: Db) {
    const p = (sql: string) => db.prepare(sql);
    this.#s = {
      insert: p(`INSERT INTO tasks (id, source, agent, provider, model, prompt, system_prompt, workdir, permission_mode, session_key,
        priority, status, max_attempts, not_before, timeout_ms, budget_usd, parent_id, workflow_run_id, workflow_step_id, idempotency_key,
        options, origin, route, created_at, updated_at)
        VALUES (@id, @source, @agent, @provider, @model, @prompt, @systemPrompt, @workdir, @permissionMode, @sessionKey,
        @priority, @status, @maxAttempts, @notBefore, @timeoutMs, @budgetUsd, @parentId, @workflowRunId, @workflowStepId, @idempotencyKey,
        @options, @origin, @route, @createdAt, @createdAt)`),
      get: p(`SELECT ${COLUMNS} FROM tasks WHERE id = ?`),
      byIdem: p(`SELECT ${COLUMNS} FROM tasks WHERE idempotency_key = ?`),
      event: p(`INSERT INTO task_events (task_id, at, type, data) VALUES (?, ?, ?, ?)`),
      claim: p(`UPDATE tasks SET status = 'running', attempt = attempt + 1, runs = runs + 1, instance_id = ?, pgid = NULL,
        started_at = COALESCE(started_at, ?), updated_at = ?, not_before = NULL WHERE id = ? AND status = 'queued'`),
      runInsert: p(`INSERT INTO task_runs (task_id, run, attempt, instance_id, provider, started_at) VALUES (?, ?, ?, ?, ?, ?)`),
      runEnd: p(`UPDATE task_runs SET ended_at = ?, outcome = ?, message = ?, cost_usd = ? WHERE task_id = ? AND run = ? AND ended_at IS NULL`),
      runPgid: p(`UPDATE task_runs SET pgid = ? WHERE task_id = ? AND run = ?`),
      runs: p(`SELECT ${RUN_COLUMNS} FROM task_runs WHERE task_id = ? ORDER BY run`),
      run: p(`SELECT ${RUN_COLUMNS} FROM task_runs WHERE task_id = ? AND run = ?`),
      runLaunch: p(`UPDATE task_runs SET pid = @pid, pgid = @pid, pid_started_at = @pidStartedAt, spool_dir = @spoolDir, deadline_at = @deadlineAt
        WHERE task_id = @taskId AND run = @run`),
      runCursor: p(`UPDATE task_runs SET out_offset = ?, err_offset = ? WHERE task_id = ? AND run = ?`),
      adoptTask: p(`UPDATE tasks SET instance_id = ?, updated_at = ? WHERE id = ? AND status = 'running'`),
      adoptRun: p(`UPDATE task_runs SET instance_id = ? WHERE task_id = ? AND run = ?`),
      homeId: p(`SELECT value FROM meta WHERE key = 'home_id'`),
      metaGet: p(`SELECT value FROM meta WHERE key = ?`),
      metaSet: p(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`),
      queuedAgents: p(`SELECT DISTINCT agent FROM tasks WHERE status = 'queued' AND agent IS NOT NULL`),
      queuedProviders: p(`SELECT DISTINCT provider FROM tasks WHERE status = 'queued' AND provider IS NOT NULL`),
      lastWorktree: p(`SELECT json_extract(data, '$.worktree') AS w FROM task_events
        WHERE task_id = ? AND type NOT LIKE 'provider.%' AND json_type(data, '$.worktree') = 'object' ORDER BY seq DESC LIMIT 1`),
      spoolDirs: p(`SELECT spool_dir AS dir FROM task_runs WHERE spool_dir IS NOT NULL AND task_id = ?`),
      instancesClose: p(`UPDATE instances SET stopped_at = ? WHERE stopped_at IS NULL AND id != ? AND hostname = ?`),
      events: p(`SELECT seq, task_id AS taskId, at, type, data FROM task_events WHERE task_id = ? AND seq > ? ORDER BY seq LIMIT ?`),
      allEvents: p(`SELECT seq, task_id AS taskId, at, type, data FROM task_events WHERE seq > ? ORDER BY seq LIMIT ?`),
      lastSeq: p(`SELECT COALESCE(MAX(seq), 0) AS seq FROM task_events`),
      candidate: p(`SELECT ${COLUMNS} FROM tasks t
        WHERE t.status = 'queued'
          AND (t.agent IS NULL OR t.agent NOT IN (SELECT value FROM json_each(@agents)))
          AND (t.provider IS NULL OR t.provider NOT IN (SELECT value FROM json_each(@providers)))
          AND (t.session_key IS NULL OR (
                t.session_key NOT IN (SELECT value FROM json_each(@sessions))
            AND NOT EXISTS (SELECT 1 FROM tasks o WHERE o.session_key = t.session_key
                  AND (o.status IN (${SESSION_HOLDING}) OR (o.status = 'queued' AND o.seq < t.seq)))))
        ORDER BY t.priority DESC, t.seq ASC LIMIT 1`),
      due: p(`SELECT id, status FROM tasks WHERE status IN ('retry_wait', 'rate_limited') AND not_before <= ? ORDER BY not_before, seq`),
      nextWake: p(`SELECT MIN(not_before) AS t FROM tasks WHERE status IN ('retry_wait', 'rate_limited')`),
      withStatus: p(`SELECT ${COLUMNS} FROM tasks WHERE status = ? ORDER BY seq`),
      counts: p(`SELECT COALESCE(agent, '') AS agent, status, COUNT(*) AS n FROM tasks GROUP BY agent, status`),
      instance: p(`INSERT INTO instances (id, pid, hostname, started_at) VALUES (?, ?, ?, ?)`),
      instanceStop: p(`UPDATE instances SET stopped_at = ? WHERE id = ?`),
      instancesOpen: p(`SELECT id, pid, hostname, started_at AS startedAt FROM instances WHERE stopped_at IS NULL ORDER BY started_at`),
      sessionId: p(`UPDATE tasks SET provider_session_id = ?, updated_at = ? WHERE id = ?`),
      usage: p(`UPDATE tasks SET cost_usd = ?, tokens_in = ?, tokens_out = ?, updated_at = ? WHERE id = ?`),
      pgid: p(`UPDATE tasks SET pgid = ? WHERE id = ?`),
      linkAdd: p(`INSERT INTO task_links (from_task, to_task, kind, ord, reason, created_at) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (from_task, to_task, kind) DO NOTHING`),
      linksFrom: p(`SELECT from_task AS fromTask, to_task AS toTask, kind, ord, reason, created_at AS createdAt FROM task_links WHERE from_task = ? ORDER BY kind, ord, created_at`),
      linksTo: p(`SELECT from_task AS fromTask, to_task AS toTask, kind, ord, reason, created_at AS createdAt FROM task_links WHERE to_task = ? ORDER BY kind, ord, created_at`),
      spent: p(`SELECT COALESCE(SUM(r.cost_usd), 0) AS usd FROM task_runs r JOIN tasks t ON t.id = r.task_id WHERE r.ended_at >= @since AND (@agent IS NULL OR t.agent = @agent)`),
    };
  }

  /** Insert a task and its first event. With an idempotency key already used, returns that task instead. */
  insert(t: NewTask, event: { type: string; data: Record<string, unknown> }): { task: TaskRow; created: boolean; event?: TaskEvent } {
    return this.db.transaction(() => {
      if (t.idempotencyKey) {
        const existing = this.#s.byIdem.get(t.idempotencyKey) as TaskRow | undefined;
        if (existing) return { task: existing, created: false };
      }
      this.#s.insert.run({
        agent: null, provider: null, model: null, systemPrompt: null, workdir: null, permissionMode: null, sessionKey: null,
        timeoutMs: null, budgetUsd: null, parentId: null, workflowRunId: null, workflowStepId: null, idempotencyKey: null,
        options: '{}', origin: null, route: null, notBefore: null, ...t,
      });
      const seq = Number(this.#s.event.run(t.id, t.createdAt, event.type, JSON.stringify(event.data)).lastInsertRowid);
      return { task: this.#s.get.get(t.id) as TaskRow, created: true, event: { seq, taskId: t.id, at: t.createdAt, ...event } };
    })();
  }

  get(id: string): TaskRow | undefined {
    return this.#s.get.get(id) as TaskRow | undefined;
  }

  list(f: ListFilter): TaskRow[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (f.status?.length) {
      where.push(`status IN (SELECT value FROM json_each(?))`);
      args.push(JSON.stringify(f.status));
    }
    if (Array.isArray(f.agent)) (where.push('agent IN (SELECT value FROM json_each(?))'), args.push(JSON.stringify(f.agent)));
    else if (f.agent) (where.push('agent = ?'), args.push(f.agent));
    if (f.source) (where.push('source = ?'), args.push(f.source));
    if (f.before) (where.push('seq < ?'), args.push(f.before));
    const sql = `SELECT ${COLUMNS} FROM tasks ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`;
    return this.db.prepare(sql).all(...args, f.limit) as TaskRow[];
  }

  withStatus(status: TaskStatus): TaskRow[] {
    return this.#s.withStatus.all(status) as TaskRow[];
  }

  /** The next task the scheduler may start, skipping agents/providers at their cap and busy sessions. */
  nextCandidate(exclude: { agents: string[]; providers: string[]; sessions: string[] }): TaskRow | undefined {
    return this.#s.candidate.get({
      agents: JSON.stringify(exclude.agents),
      providers: JSON.stringify(exclude.providers),
      sessions: JSON.stringify(exclude.sessions),
    }) as TaskRow | undefined;
  }

  /** queued → running for this instance; records the run. Returns the task, or undefined if it was no longer queued. */
  claim(id: string, instanceId: string, now: number, provider: string | null): { task: TaskRow; event: TaskEvent } | undefined {
    return this.db.transaction(() => {
      if (this.#s.claim.run(instanceId, now, now, id).changes !== 1) return undefined;
      const t = this.#s.get.get(id) as TaskRow;
      this.#s.runInsert.run(id, t.runs, t.attempt, instanceId, provider, now);
      const data = { from: 'queued', attempt: t.attempt, maxAttempts: t.maxAttempts, run: t.runs, provider, model: t.model, agent: t.agent, instance: instanceId };
      const seq = Number(this.#s.event.run(id, now, 'running', JSON.stringify(data)).lastInsertRowid);
      return { task: t, event: { seq, taskId: id, at: now, type: 'running', data } };
    })();
  }

  /**
   * Move a task from `from` to `to`, writing `patch` and appending one event — or nothing at all when the
   * task is no longer in `from` (returns undefined). `endRun` closes the current run record in the same transaction.
   */
  transition(
    id: string,
    from: TaskStatus,
    to: TaskStatus,
    patch: TaskPatch,
    event: { at: number; data: Record<string, unknown> },
    endRun?: { run: number; outcome: string; message: string | null; costUsd?: number },
  ): TaskEvent | undefined {
    const sets = ['status = ?', 'updated_at = ?'];
    const args: unknown[] = [to, event.at];
    for (const [k, v] of Object.entries(patch)) {
      const col = PATCHABLE[k as keyof typeof PATCHABLE];
      if (!col) throw new Error(`TaskStore.transition: ${k} is not a patchable column`);
      sets.push(`${col} = ?`);
      args.push(v);
    }
    const sql = `UPDATE tasks SET ${sets.join(', ')} WHERE id = ? AND status = ?`;
    return this.db.transaction(() => {
      if (this.db.prepare(sql).run(...args, id, from).changes !== 1) return undefined;
      const data = { from, ...event.data };
      const seq = Number(this.#s.event.run(id, event.at, to, JSON.stringify(data)).lastInsertRowid);
      if (endRun) this.#s.runEnd.run(event.at, endRun.outcome, endRun.message, endRun.costUsd ?? 0, id, endRun.run);
      return { seq, taskId: id, at: event.at, type: to, data };
    })();
  }

  /** Record that `fromTask` begot `toTask` (idempotent: the same link twice is one row). Join a transaction to commit it with the new task. */
  addLink(link: Pick<TaskLink, 'fromTask' | 'toTask' | 'kind'> & Partial<Pick<TaskLink, 'ord' | 'reason'>>, at: number): void {
    this.#s.linkAdd.run(link.fromTask, link.toTask, link.kind, link.ord ?? 0, link.reason ?? null, at);
  }

  /** The links of a task: `from` those it begot (its classifier, children, handoffs to others), `to` those that begot it. */
  links(taskId: string): { from: TaskLink[]; to: TaskLink[] } {
    return { from: this.#s.linksFrom.all(taskId) as TaskLink[], to: this.#s.linksTo.all(taskId) as TaskLink[] };
  }

  appendEvent(taskId: string, type: string, data: Record<string, unknown>, at: number): TaskEvent {
    const seq = Number(this.#s.event.run(taskId, at, type, JSON.stringify(data)).lastInsertRowid);
    return { seq, taskId, at, type, data };
  }

  /** The task recorded under an idempotency key, if any. */
  byIdempotencyKey(key: string): TaskRow | undefined {
    return this.#s.byIdem.get(key) as TaskRow | undefined;
  }

  events(taskId: string, afterSeq = 0, limit = 10_000): TaskEvent[] {
    return (this.#s.events.all(taskId, afterSeq, limit) as Parameters<typeof parseEvent>[0][]).map(parseEvent);
  }

  allEvents(afterSeq = 0, limit = 10_000): TaskEvent[] {
    return (this.#s.allEvents.all(afterSeq, limit) as Parameters<typeof parseEvent>[0][]).map(parseEvent);
  }

  /**
   * One page of events after `afterSeq` (one task's, or every task's when `taskId` is null): at most
   * `maxEvents`, and no more rows once `maxBytes` of event data are read (always at least one). Rows
   * are read one at a time, so a page of huge events never loads more than it returns.
   */
  eventsPage(taskId: string | null, afterSeq: number, maxEvents: number, maxBytes: number): TaskEvent[] {
    const rows = taskId === null ? this.#s.allEvents.iterate(afterSeq, maxEvents) : this.#s.events.iterate(taskId, afterSeq, maxEvents);
    const out: TaskEvent[] = [];
    let bytes = 0;
    for (const r of rows as IterableIterator<Parameters<typeof parseEvent>[0]>) {
      out.push(parseEvent(r));
      bytes += r.data.length;
      if (bytes >= maxBytes) break; // leaving the loop closes the statement's cursor
    }
    return out;
  }

  lastEventSeq(): number {
    return (this.#s.lastSeq.get() as { seq: number }).seq;
  }

  runs(taskId: string): TaskRun[] {
    return this.#s.runs.all(taskId) as TaskRun[];
  }

  setPgid(taskId: string, run: number, pgid: number): void {
    this.db.transaction(() => {
      this.#s.pgid.run(pgid, taskId);
      this.#s.runPgid.run(pgid, taskId, run);
    })();
  }

  run(taskId: string, run: number): TaskRun | undefined {
    return this.#s.run.get(taskId, run) as TaskRun | undefined;
  }

  /**
   * Record a run's launcher before its agent may start: pid (= pgid), the process's start time, spool folder
   * and deadline. One transaction, committed when this returns.
   */
  setRunLaunch(taskId: string, run: number, l: { pid: number; pidStartedAt: number | null; spoolDir: string; deadlineAt: number | null }): void {
    this.db.transaction(() => {
      this.#s.runLaunch.run({ taskId, run, ...l });
      this.#s.pgid.run(l.pid, taskId);
    })();
  }

  /** How far the run's spool was turned into events (written in the same transaction as those events). */
  setRunCursor(taskId: string, run: number, out: number, err: number): void {
    this.#s.runCursor.run(out, err, taskId, run);
  }

  /** A restarted daemon takes over a running task's current run. False when the task is no longer running. */
  adoptRun(taskId: string, run: number, instanceId: string, now: number): boolean {
    return this.db.transaction(() => {
      if (this.#s.adoptTask.run(instanceId, now, taskId).changes !== 1) return false;
      this.#s.adoptRun.run(instanceId, taskId, run);
      return true;
    })();
  }

  /** The agents and providers that queued tasks name. */
  queuedNames(): { agents: string[]; providers: string[] } {
    return {
      agents: (this.#s.queuedAgents.all() as Array<{ agent: string }>).map((r) => r.agent),
      providers: (this.#s.queuedProviders.all() as Array<{ provider: string }>).map((r) => r.provider),
    };
  }

  /** The worktree summary of the task's last run that reported one (without reading its other events). */
  lastWorktreeSummary(taskId: string): Record<string, unknown> | null {
    const r = this.#s.lastWorktree.get(taskId) as { w: string } | undefined;
    return r ? (JSON.parse(r.w) as Record<string, unknown>) : null;
  }

  /** Spool folders of a task's runs. */
  spoolDirs(taskId: string): string[] {
    return (this.#s.spoolDirs.all(taskId) as Array<{ dir: string }>).map((r) => r.dir);
  }

  /**
   * This store's id, shared by every daemon that uses it: it names the store in the marker of run
   * processes. It belongs to the database file where it is (`path`): a copy of the database elsewhere (a
   * restored backup, a cloned home) gets an id of its own, so it never takes the original's runs for its
   * own (adopting or killing them).
   */
  homeIdAt(path: string): string {
    return this.db.transaction(() => {
      const id = (this.#s.homeId.get() as { value: string }).value;
      const at = this.#s.metaGet.get('home_path') as { value: string } | undefined;
      if (at?.value === path) return id;
      const fresh = at === undefined ? id : randomBytes(8).toString('hex');
      this.#s.metaSet.run('home_id', fresh);
      this.#s.metaSet.run('home_path', path);
      return fresh;
    })();
  }

  setProviderSession(taskId: string, sessionId: string | null, now: number): void {
    this.#s.sessionId.run(sessionId, now, taskId);
  }

  /** Run `fn` in one transaction (nested calls become savepoints of it). */
  atomically<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  setUsage(taskId: string, usage: { costUsd: number; tokensIn: number; tokensOut: number }, now: number): void {
    this.#s.usage.run(usage.costUsd, usage.tokensIn, usage.tokensOut, now, taskId);
  }

  /** USD spent by runs that ended since `since` (epoch ms), for one agent or all: the daily budgets. */
  spentSince(since: number, agent?: string): number {
    return (this.#s.spent.get({ since, agent: agent ?? null }) as { usd: number }).usd;
  }

  /** Waiting tasks whose time has come. */
  due(now: number): Array<{ id: string; status: TaskStatus }> {
    return this.#s.due.all(now) as Array<{ id: string; status: TaskStatus }>;
  }

  nextWakeAt(): number | undefined {
    const r = this.#s.nextWake.get() as { t: number | null };
    return r.t ?? undefined;
  }

  countsByAgentAndStatus(): Array<{ agent: string; status: TaskStatus; n: number }> {
    return this.#s.counts.all() as Array<{ agent: string; status: TaskStatus; n: number }>;
  }

  registerInstance(id: string, pid: number, hostname: string, now: number): void {
    this.#s.instance.run(id, pid, hostname, now);
  }

  /** Instances that never recorded a stop: running now, or killed without a chance to say so. */
  openInstances(): Array<{ id: string; pid: number; hostname: string; startedAt: number }> {
    return this.#s.instancesOpen.all() as Array<{ id: string; pid: number; hostname: string; startedAt: number }>;
  }

  /** Record the stop of every other open instance on this host (the caller holds the home lock: they are dead). */
  closeOtherInstances(id: string, host: string, now: number): number {
    return this.#s.instancesClose.run(now, id, host).changes;
  }

  stopInstance(id: string, now: number): void {
    this.#s.instanceStop.run(now, id);
  }
}
