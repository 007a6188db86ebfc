import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ResolvedConfig, ResolvedProvider } from '../config/types.js';
import { messageOf } from '../errors.js';
import type { SessionStore } from '../store/sessions.js';
import type { TaskRow, TaskRun } from '../store/tasks.js';
import { isStoreUnavailable, storeFailureReason } from '../store/errors.js';
import { formatDuration } from '../util/duration.js';
import type { Ledger } from './ledger.js';
import type { Logger } from './logger.js';
import { decide, type Decision } from './policy.js';
import type { AbortReason, EventSink, Outcome, ProviderAdapter, RunRequest, RunSpool } from './provider.js';
import type { TaskOptions } from './request.js';
import { clampDelay } from '../util/timers.js';
import { dailyBudgetProblem } from './budget.js';
import { assertAllowedDir } from './allowed-dirs.js';
import type { Lease, WorkspaceManager, WorktreeSummary } from './workspace.js';
import { TASK_MARKER, killMarked, runMarker } from '../util/procgroup.js';
import { readExitStatus, removeSpool, spoolPath } from '../util/spool.js';
import { shortenEventData } from './shorten.js';
import { describeDiskProblem, diskProblem, fsWriteFailure, type DiskProblem } from './spool-disk.js';
import type { Delegation } from './delegation.js';

export interface RunnerDeps {
  ledger: Ledger;
  sessions: SessionStore;
  provider(name: string): ProviderAdapter | undefined;
  /** An adapter for these provider settings (a re-attached run's, as it was started). */
  providerFrom?(cfg: ResolvedProvider): ProviderAdapter;
  workspaces?: WorkspaceManager;
  config(): ResolvedConfig;
  instanceId: string;
  now(): number;
  random(): number;
  log: Logger;
  /** @default 10000 */
  heartbeatMs?: number;
  /** This store's id: it names the store in the marker every run's processes carry. */
  homeId: string;
  /** Where runs keep their spool folders (`<root>/<taskId>/<run>/`). */
  spoolRoot: string;
  /** True once the engine is stopping: a record the store refuses is then left to the next start. */
  stopping(): boolean;
  /** Resolves when a failing store takes writes again (or the engine stops): a waiting record is tried at once. */
  storeRecovered?(): Promise<void>;
  /** The disk of the spools: a run that cannot start on it reports it (dispatches are refused meanwhile); a launch clears it. */
  runsDisk?: { blocked(p: DiskProblem): void; cleared(): void };
  /** Delegation: a success whose output holds `_delegate` blocks waits for its children instead (see Delegation.succeeded). */
  delegation?: Pick<Delegation, 'succeeded'>;
}

/** A run in progress: the engine aborts it for cancel, drain or shutdown. */
export interface ActiveRun {
  task: TaskRow;
  controller: AbortController;
  abort(reason: AbortReason): void;
  done: Promise<void>;
}

class RunFailure extends Error {}

/** Everything a run needs that comes from config and files; a problem here fails the task with its reason. */
function prepare(task: TaskRow, cfg: ResolvedConfig): { systemPrompt?: string; workdir: string } {
  const agent = task.agent ? cfg.agents[task.agent] : undefined;
  if (task.agent && !agent) throw new RunFailure(`agent "${task.agent}" is no longer in the config (${cfg.configPath}); add it back or cancel the task`);
  const parts: string[] = [];
  if (agent?.soulFile) {
    try {
      parts.push(readFileSync(agent.soulFile, 'utf8'));
    } catch (err) {
      throw new RunFailure(`cannot read the soul file of agent "${agent.name}" (${agent.soulFile}): ${messageOf(err)}; fix agents.${agent.name}.soulFile`);
    }
  }
  if (task.systemPrompt) parts.push(task.systemPrompt);
  let workdir = task.workdir ?? cfg.defaultWorkdir;
  recheckAllowedDirs(task, workdir, cfg);
  if (!workdir) {
    workdir = join(cfg.home, 'workspace');
    mkdirSync(workdir, { recursive: true, mode: 0o700 });
  }
  if (!existsSync(workdir) || !statSync(workdir).isDirectory()) {
    throw new RunFailure(`workdir ${workdir} does not exist or is not a folder; create it or fix the task's workdir`);
  }
  const out: { systemPrompt?: string; workdir: string } = { workdir };
  if (parts.length) out.systemPrompt = parts.join('\n\n');
  return out;
}

/**
 * allowedDirs once more at run start: a SIGHUP may have narrowed them (or a symlink on the path been
 * moved) since the task was accepted; such a task fails instead of running outside them. The agent's own
 * list replaces the top-level one, as at enqueue (src/engine/request.ts).
 */
function recheckAllowedDirs(task: TaskRow, workdir: string | undefined, cfg: ResolvedConfig): void {
  const agent = task.agent ? cfg.agents[task.agent] : undefined;
  const allowed = agent?.allowedDirs?.length ? agent.allowedDirs : (cfg.allowedDirs ?? []);
  try {
    if (workdir) assertAllowedDir('workdir', workdir, allowed);
    (agent?.addDirs ?? []).forEach((d, i) => assertAllowedDir(`agents.${agent!.name}.addDirs[${i}]`, d, allowed));
  } catch (err) {
    throw new RunFailure(`not started: the config's allowedDirs changed since the task was accepted (or a symlink on its path now leads elsewhere): ${messageOf(err)}`);
  }
}

/** A run being adopted: the soul file and workdir as far as they can still be read (the agent runs already). */
function prepareForAdoption(task: TaskRow, cfg: ResolvedConfig): { systemPrompt?: string; workdir: string } {
  try {
    return prepare(task, cfg);
  } catch {
    return { workdir: task.workdir ?? cfg.defaultWorkdir ?? cfg.home };
  }
}

/** Once a daily budget is spent, new runs are refused (tasks accepted before it was spent end here). */
function refuseOverDailyBudget(task: TaskRow, cfg: ResolvedConfig, deps: RunnerDeps): void {
  const problem = dailyBudgetProblem(cfg, task.agent, deps.now(), (since, agent) => deps.ledger.store.spentSince(since, agent));
  if (problem) throw new RunFailure(problem);
}

/**
 * The task's budget against what it has spent: earlier attempts (`spentBefore`, the task's recorded cost)
 * plus this run so far. The reason to stop, or undefined while within the budget.
 */
export function budgetExceeded(budgetUsd: number | null, spentBefore: number, runUsd: number): string | undefined {
  if (budgetUsd === null || budgetUsd <= 0) return undefined;
  const total = spentBefore + runUsd;
  if (total <= budgetUsd) return undefined;
  return `budget exceeded: $${total.toFixed(4)} of $${budgetUsd.toFixed(4)}${spentBefore > 0 ? ` (earlier attempts $${spentBefore.toFixed(4)})` : ''}`;
}

/**
 * Wait for `work`, unless the run is aborted first (a cancel or timeout must not hang on a step that
 * never settles): then fail the run at once and hand a late result to `late` (e.g. to release a lease).
 */
async function untilAborted<T>(work: Promise<T>, signal: AbortSignal, late: (value: T) => void): Promise<T> {
  if (signal.aborted) {
    void work.then(late, () => {});
    throw new RunFailure('the run was stopped before it started');
  }
  let onAbort!: () => void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new RunFailure('the run was stopped while its worktree was being prepared'));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } catch (err) {
    if (signal.aborted) void work.then(late, () => {});
    throw err;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * Drive one claimed (running) task to its next state. Never throws. With `adopt`, the task's current run
 * was started by an earlier daemon and is still going (or ended while no daemon watched): the runner
 * re-attaches to it instead of starting the agent again.
 */
export function startRun(task: TaskRow, deps: RunnerDeps, adopt?: TaskRun): ActiveRun {
  const controller = new AbortController();
  let reason: AbortReason | undefined;
  const abort = (r: AbortReason) => {
    if (controller.signal.aborted) return;
    reason = r;
    controller.abort(r);
  };
  const done = execute(task, deps, controller.signal, () => reason, abort, adopt).catch(async (err) => {
    // The store refused the result while the engine stops: it stays in the run's spool and the next
    // start records it (the task is still `running` in the store, so the reconciler re-attaches to it).
    if (isStoreUnavailable(err) && deps.stopping()) {
      deps.log.warn({ taskId: task.id, err: storeFailureReason(err) }, 'the store refused the run\'s record while stopping; the next start records it from the run\'s spool');
      return;
    }
    deps.log.error({ taskId: task.id, err: messageOf(err) }, 'runner crashed; failing the task');
    const fail = () => {
      deps.ledger.move(task, 'running', 'failed', { errorClass: 'internal', errorMessage: `internal error while running the task: ${messageOf(err)}` }, {}, { run: task.runs, outcome: 'internal', message: messageOf(err) });
    };
    // A store refusing writes (a full disk): the run keeps its slot until the failure is recorded.
    if (isStoreUnavailable(err)) {
      await recordWhenPossible(task, deps, fail).catch((e: unknown) => deps.log.warn({ taskId: task.id, err: messageOf(e) }, 'could not record the failure; the next start of the daemon reconciles this task'));
      return;
    }
    // The store may be briefly unavailable (busy): try a few times, so the task does not stay `running`.
    for (let i = 0; i < 5; i++) {
      try {
        fail();
        return;
      } catch (moveErr) {
        let status: string | undefined;
        try {
          status = deps.ledger.store.get(task.id)?.status;
        } catch {
          return; // the store is closed: the next start reconciles the task
        }
        if (status !== 'running') return; // it already moved on
        if (isStoreUnavailable(moveErr)) {
          await recordWhenPossible(task, deps, fail).catch(() => {});
          return;
        }
        deps.log.warn({ taskId: task.id, err: messageOf(moveErr) }, 'could not record the failure yet; retrying');
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    deps.log.error({ taskId: task.id }, 'could not record the failure; the next start of the daemon reconciles this task');
  });
  return { task, controller, abort, done };
}

async function execute(
  task: TaskRow,
  deps: RunnerDeps,
  signal: AbortSignal,
  abortReason: () => AbortReason | undefined,
  abort: (r: AbortReason) => void,
  adopt?: TaskRun,
): Promise<void> {
  const { ledger, sessions, log } = deps;
  const cfg = deps.config();
  const run = task.runs;
  const spoolDir = adopt?.spoolDir ?? join(deps.spoolRoot, task.id, String(run));
  const marker = runMarker(deps.homeId, task.id, run);
  /** Has the run's agent ended (its exit status is recorded)? Then a deadline or watchdog that fires late changes nothing. */
  const agentEnded = () => readExitStatus(spoolDir) !== undefined;
  let spool: RunSpool | undefined;
  const options = JSON.parse(task.options) as TaskOptions;
  const agent = task.agent ? cfg.agents[task.agent] : undefined;
  let lease: Lease | undefined;
  let summary: WorktreeSummary | undefined;
  const timers: NodeJS.Timeout[] = [];
  let outcome: Outcome;
  let usedSession: string | undefined;
  /** The key's session was stale (provider or model changed) and this run starts its replacement. */
  let replacingStale = false;
  try {
    // A run being adopted is followed by the adapter it was started with, even if a reload renamed or
    // dropped its provider since: its work is not thrown away.
    const saved = adopt ? readChosen(spoolPath(spoolDir, 'request')).provider : undefined;
    const adapter = saved && deps.providerFrom ? deps.providerFrom(saved) : task.provider ? deps.provider(task.provider) : undefined;
    if (!adapter) throw new RunFailure(`provider "${task.provider}" is not in the config (${cfg.configPath}); add it or cancel the task`);
    // A run being adopted goes on whatever the config says now: it is already running.
    const prep = adopt ? prepareForAdoption(task, cfg) : prepare(task, cfg);
    if (!adopt) refuseOverDailyBudget(task, cfg, deps);
    // The wall-clock timeout covers the whole run, preparing the worktree included. It is a deadline in
    // the run's record (a re-attached run keeps it), checked against the agent's recorded exit when it fires.
    const timeoutMs = task.timeoutMs ?? cfg.defaultTimeoutMs;
    const deadlineAt = adopt?.deadlineAt ?? deps.now() + timeoutMs;
    const onDeadline = () => {
      if (!agentEnded()) abort({ kind: 'timeout', message: `timed out after ${formatDuration(timeoutMs)}` });
    };
    timers.push(setTimeout(onDeadline, clampDelay(deadlineAt - deps.now())));
    let workdir = prep.workdir;
    if ((options.worktree ?? agent?.worktree) && deps.workspaces) {
      const wsTask: Parameters<WorkspaceManager['acquire']>[0] = { id: task.id, prompt: task.prompt, workdir, cleanup: agent?.worktreeCleanup ?? 'keep' };
      if (task.agent) wsTask.agent = task.agent;
      if (agent?.baseBranch) wsTask.baseBranch = agent.baseBranch;
      if (adopt) wsTask.takeOverFrom = adopt.instanceId;
      lease = await untilAborted(deps.workspaces.acquire(wsTask, deps.instanceId), signal, (late) => void late.release().catch(() => {}));
      workdir = lease.workdir;
      const l = lease;
      timers.push(setInterval(() => l.heartbeat(), deps.heartbeatMs ?? 10_000));
      if (!adopt) ledger.note(task.id, 'worktree', { path: workdir });
    }

    // Sessions: continue the key's provider session when provider and model still match.
    let resume = task.providerSessionId ?? undefined;
    let history: RunRequest['history'];
    let sessionUsage: RunRequest['sessionUsage'];
    if (task.sessionKey) {
      const active = sessions.active(task.sessionKey);
      if (!adopt && active && (active.provider !== task.provider || (active.model ?? null) !== (task.model ?? null))) {
        log.warn({ taskId: task.id, sessionKey: task.sessionKey }, `stale session detected for ${task.sessionKey} — recovering`);
        const reason = `provider or model changed (${active.provider}/${active.model ?? '-'} → ${task.provider}/${task.model ?? '-'})`;
        sessions.archive(task.sessionKey, reason);
        ledger.note(task.id, 'session_recovery', { sessionKey: task.sessionKey, reason });
        replacingStale = true;
      } else if (!adopt && active && options.freshSession && task.runs <= 1) {
        // Smart dispatch: this task's agent differs from the chat session's (an explicit agent, a binding).
        sessions.archive(task.sessionKey, options.freshSession);
        ledger.note(task.id, 'session_recovery', { sessionKey: task.sessionKey, reason: options.freshSession, newSession: true });
        resume = undefined;
      } else {
        if (active?.providerSessionId && !resume) resume = active.providerSessionId;
        if (active && resume === active.providerSessionId) sessionUsage = { tokensIn: active.tokensIn, tokensOut: active.tokensOut };
      }
      history = sessions.history(task.sessionKey);
    }
    // The provider's last reading of the session being resumed (codex's cumulative tokens, claude's total
    // cost), from the usage event of the run that last reported it, failed runs and retries included.
    if (resume) sessionUsage = sessions.lastReading(resume, { taskId: task.id, sessionKey: task.sessionKey }) ?? sessionUsage;
    const req: RunRequest = {
      taskId: task.id,
      attempt: task.attempt,
      prompt: task.prompt,
      workdir,
      // TETORA_TASK_ID marks the task's processes, so a restarted daemon kills only its own orphans.
      env: { ...cfg.env, [TASK_MARKER]: task.id },
    };
    if (prep.systemPrompt) req.systemPrompt = prep.systemPrompt;
    if (task.model) req.model = task.model;
    if (task.permissionMode) req.permissionMode = task.permissionMode;
    if (task.sessionKey) req.sessionKey = task.sessionKey;
    if (resume) req.resumeSessionId = resume;
    else req.newSessionId = randomUUID();
    if (sessionUsage) req.sessionUsage = sessionUsage;
    // What was chosen for the run (the session it resumes or names, the usage reading it is charged
    // against) is kept with its spool: a daemon that re-attaches reads the run as it was started.
    const chosen = spoolPath(spoolDir, 'request');
    if (adopt) {
      const { provider: _, ...was } = readChosen(chosen);
      delete req.resumeSessionId;
      delete req.newSessionId;
      delete req.sessionUsage;
      Object.assign(req, was);
    }
    if (history?.length) req.history = history;
    /** Has the launcher got its go (or is this run adopted)? Until then nothing of the agent ran. */
    let launched = Boolean(adopt);
    spool = {
      dir: spoolDir,
      marker,
      seen: { out: adopt?.outOffset ?? 0, err: adopt?.errOffset ?? 0 },
      replaying: false,
      maxOutputBytes: cfg.maxOutputBytes,
      launched: (l) => {
        writeChosen(chosen, req, task.provider ? cfg.providers[task.provider] : undefined);
        ledger.store.setRunLaunch(task.id, run, { ...l, spoolDir, deadlineAt });
        launched = true;
        deps.runsDisk?.cleared();
      },
      // Never behind what is recorded: a crash during a replay must not make the next one record events twice.
      advanced: (out, err) => ledger.cursor(task.id, run, Math.max(out, adopt?.outOffset ?? 0), Math.max(err, adopt?.errOffset ?? 0)),
    };
    if (adopt?.pid) spool.adopt = { pid: adopt.pid, pidStartedAt: adopt.pidStartedAt };
    req.spool = spool;
    const tools = options.allowedTools ?? agent?.allowedTools;
    if (tools?.length) req.allowedTools = tools;
    if (agent?.addDirs.length) req.addDirs = agent.addDirs;
    if (agent?.maxTurns) req.maxTurns = agent.maxTurns;

    // No-output watchdog (with the wall-clock timeout above): neither CLI gives up on a server that never answers.
    let watchdog: NodeJS.Timeout | undefined;
    let ran = false;
    // A tool the agent runs (a test suite, a build) may stay silent for long: while one is open, only
    // the wall-clock timeout applies.
    const openTools = new Set<unknown>();
    const feed = () => {
      if (ran) return; // an event that arrives after the run ended arms nothing
      if (watchdog) clearTimeout(watchdog);
      if (openTools.size > 0) return;
      watchdog = setTimeout(() => {
        if (!agentEnded()) abort({ kind: 'no_output', message: `no output from the provider for ${formatDuration(cfg.noOutputTimeoutMs)}` });
      }, clampDelay(cfg.noOutputTimeoutMs));
    };
    feed();
    const sink: EventSink = {
      alive: feed,
      event: (e) => {
        if (e.type === 'tool_call') openTools.add(e.data.id ?? openTools.size);
        else if (e.type === 'tool_result') openTools.delete(e.data.id);
        feed();
        if (e.type === 'session' && typeof e.data.sessionId === 'string') {
          usedSession = e.data.sessionId;
          // Replayed lines of a re-attached run were recorded by the daemon that started it.
          if (!spool?.replaying) ledger.store.setProviderSession(task.id, usedSession, deps.now());
        }
        if (!spool?.replaying) ledger.progress(task.id, `provider.${e.type}`, shortenEventData(e.data));
      },
      cost: (usd) => {
        const over = budgetExceeded(task.budgetUsd, task.costUsd, usd);
        if (over) abort({ kind: 'budget', message: over });
      },
    };
    try {
      for (let delay = 1000; ; delay = Math.min(delay * 2, 10_000)) {
        try {
          outcome = await adapter.run(req, signal, sink);
          break;
        } catch (err) {
          // Nothing of the agent ran yet and the run's spool (or its record) cannot be written: a full or
          // read-only disk. The run waits, holding its slot, and starts once the disk takes writes again.
          const blocked = launched || signal.aborted ? undefined : startBlocked(err, deps.spoolRoot, deps.runsDisk);
          if (!blocked) {
            outcome = { class: 'permanent', output: '', message: `provider ${adapter.name} failed unexpectedly: ${messageOf(err)}` };
            break;
          }
          log.warn({ taskId: task.id, retryInMs: delay, err: blocked }, 'cannot start the run yet: the disk refuses writes; it waits, holding its slot, and starts once the disk takes writes again');
          // Waiting for the disk is not a silent provider: the no-output watchdog starts again after the wait.
          if (watchdog) clearTimeout(watchdog);
          watchdog = undefined;
          await waitForDisk(delay, signal, isStoreUnavailable(err) ? deps.storeRecovered : undefined);
          feed();
          if (signal.aborted) {
            outcome = { class: 'cancelled', output: '', message: `the run was stopped before it started (it was waiting for the disk: ${blocked})` };
            break;
          }
        }
      }
      // The run ended without its exit status: when the spool's disk is full or read-only, the agent's
      // output went nowhere either. Its task fails saying so, rather than succeeding with a lost answer.
      if (launched && !signal.aborted && readExitStatus(spoolDir) === undefined) {
        const p = diskProblem(spoolDir);
        if (p) outcome = { class: 'permanent', output: '', message: `the run ended, but its output and exit status could not be written to ${spoolDir}: ${p.reason}, so its result is lost. ${capitalise(p.fix)}, then dispatch the task again` };
      }
    } finally {
      ran = true;
      if (watchdog) clearTimeout(watchdog);
    }
  } catch (err) {
    if (!(err instanceof RunFailure) && !(err instanceof Error)) throw err;
    outcome = { class: 'permanent', output: '', message: messageOf(err) };
    // A run adopted from an earlier daemon that cannot be followed must not go on unwatched.
    if (adopt) await killMarked((m) => m === marker).catch(() => []);
  } finally {
    for (const t of timers) clearTimeout(t);
  }
  // What ended the run is settled now: a cancel or shutdown arriving while the worktree is released
  // below concerns a run that is already over.
  const abortedBy = abortReason();
  if (lease) {
    try {
      summary = await lease.release();
    } catch (err) {
      log.warn({ taskId: task.id, err: messageOf(err) }, 'releasing the worktree failed');
    }
  }
  // Usage, session and the transition commit together: one durable write per finished run. While the store
  // refuses writes (a full disk), the outcome is kept here and the run keeps its slot until it is recorded.
  const o = outcome;
  await recordWhenPossible(task, deps, () => deps.ledger.atomically(() => finish(task, o, abortedBy, deps, summary, usedSession, replacingStale)));
  // The spool is only kept while the task refers to it (an output too large for the row).
  if (!o.outputFile) removeSpool(spoolDir);
}

/**
 * Write a run's result, retrying with backoff (1 s doubling to 30 s) while the store refuses writes. When
 * the engine stops first, the next start records it from the run's spool (the exit status is on disk).
 */
async function recordWhenPossible(task: TaskRow, deps: RunnerDeps, write: () => void): Promise<void> {
  for (let delay = 1000; ; delay = Math.min(delay * 2, 30_000)) {
    try {
      write();
      return;
    } catch (err) {
      if (!isStoreUnavailable(err) || deps.stopping()) throw err;
      deps.log.warn({ taskId: task.id, retryInMs: delay, err: storeFailureReason(err) }, 'cannot record the run\'s result yet: the store refuses writes; keeping it and retrying');
      // Tried again when the store recovers (its health probes it), or after the delay at the latest.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([new Promise((r) => (timer = setTimeout(r, delay))), ...(deps.storeRecovered ? [deps.storeRecovered()] : [])]);
      clearTimeout(timer);
      if (deps.stopping()) throw err;
    }
  }
}

/** Why a run could not start because its disk (spool or store) refuses writes; undefined for any other error. */
function startBlocked(err: unknown, spoolRoot: string, runsDisk: RunnerDeps['runsDisk']): string | undefined {
  if (isStoreUnavailable(err)) return storeFailureReason(err);
  const kind = fsWriteFailure(err);
  // Another file-system error (a recursive mkdir on a read-only disk says ENOENT): the disk's own state decides.
  const p = kind ? describeDiskProblem(kind, spoolRoot, messageOf(err)) : typeof (err as { syscall?: unknown }).syscall === 'string' ? diskProblem(spoolRoot) : undefined;
  if (!p) return undefined;
  runsDisk?.blocked(p);
  return `${p.reason}; ${p.fix}`;
}

/** Sleep `ms`, or less: until the store recovers or the run is aborted. */
async function waitForDisk(ms: number, signal: AbortSignal, storeRecovered?: () => Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  await Promise.race([
    new Promise((r) => (timer = setTimeout(r, ms))),
    new Promise<void>((r) => {
      onAbort = () => r();
      signal.addEventListener('abort', onAbort, { once: true });
    }),
    ...(storeRecovered ? [storeRecovered()] : []),
  ]);
  clearTimeout(timer);
  if (onAbort) signal.removeEventListener('abort', onAbort);
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** What a run chose at its start, kept in its spool for a daemon that re-attaches to it. */
interface Chosen {
  resumeSessionId?: string;
  newSessionId?: string;
  sessionUsage?: RunRequest['sessionUsage'];
  /** The provider's settings the run was started with (the config may have renamed or dropped it since). */
  provider?: ResolvedProvider;
}

function readChosen(path: string): Chosen {
  try {
    const j = JSON.parse(readFileSync(path, 'utf8')) as Chosen;
    const out: Chosen = {};
    if (typeof j.resumeSessionId === 'string') out.resumeSessionId = j.resumeSessionId;
    if (typeof j.newSessionId === 'string') out.newSessionId = j.newSessionId;
    if (j.sessionUsage && typeof j.sessionUsage === 'object') out.sessionUsage = j.sessionUsage;
    if (j.provider && typeof j.provider === 'object' && typeof j.provider.type === 'string') out.provider = j.provider;
    return out;
  } catch {
    return {};
  }
}

function writeChosen(path: string, req: RunRequest, provider: ResolvedProvider | undefined): void {
  const j: Chosen = {};
  if (req.resumeSessionId) j.resumeSessionId = req.resumeSessionId;
  if (req.newSessionId) j.newSessionId = req.newSessionId;
  if (req.sessionUsage) j.sessionUsage = req.sessionUsage;
  if (provider) j.provider = provider;
  writeFileSync(path, JSON.stringify(j), { mode: 0o600 });
}

function finish(
  task: TaskRow,
  o: Outcome,
  abort: AbortReason | undefined,
  deps: RunnerDeps,
  summary: WorktreeSummary | undefined,
  usedSession?: string,
  replacingStale = false,
): void {
  const { ledger, sessions, log } = deps;
  const cfg = deps.config();
  const now = deps.now();
  const usage = { costUsd: task.costUsd + (o.costUsd ?? 0), tokensIn: task.tokensIn + (o.tokensIn ?? 0), tokensOut: task.tokensOut + (o.tokensOut ?? 0) };
  ledger.store.setUsage(task.id, usage, now);
  const sessionId = o.sessionId ?? usedSession;
  if (task.sessionKey && task.provider && sessionId && o.class === 'success') {
    sessions.record(task.sessionKey, task.provider, task.model, sessionId, o.sessionUsage);
    if (o.turns?.length) sessions.appendMessages(task.sessionKey, o.turns, task.id);
    if (task.sessionRetryUsed || replacingStale) log.info({ taskId: task.id, sessionKey: task.sessionKey }, 'session recovered');
  }
  const options = JSON.parse(task.options) as TaskOptions;
  const agent = task.agent ? cfg.agents[task.agent] : undefined;
  const tried = new Set([...(options.triedProviders ?? []), task.provider ?? '']);
  const chain = [...(agent?.fallbackProviders ?? []), ...cfg.fallbackProviders];
  const nextFallback = chain.find((p) => !tried.has(p) && cfg.providers[p]);
  const d: Decision = decide({
    outcome: o,
    ...(abort ? { abort } : {}),
    attempt: task.attempt,
    maxAttempts: task.maxAttempts,
    parkedMs: task.parkedMs,
    sessionRetryUsed: task.sessionRetryUsed === 1,
    ...(nextFallback ? { nextFallback } : {}),
    retry: cfg.retry,
    now,
    random: deps.random,
  });
  const run = task.runs;
  const runCost = o.costUsd ?? 0; // this run's spend, counted by the daily budgets on the day it ended
  const extra: Record<string, unknown> = { attempt: task.attempt, costUsd: usage.costUsd, tokensIn: usage.tokensIn, tokensOut: usage.tokensOut };
  if (summary) extra.worktree = summary;
  const out = o.output.length > 0 ? o.output : null;
  // An output too large for the row: the row keeps its head and refers to the spool file holding it whole.
  if (o.outputFile) extra.outputBytes = o.outputFile.bytes;
  const file = o.outputFile ? { outputFile: o.outputFile.path, outputBytes: o.outputFile.bytes } : {};
  switch (d.kind) {
    case 'succeed':
      // Every success, a re-attached run's too, passes here: an output that delegates waits for its children.
      if (deps.delegation?.succeeded(task, { output: d.output, ...(o.outputFile ? { outputFile: o.outputFile } : {}) }, extra, { run, costUsd: runCost, outcome: 'success', message: null })) return;
      ledger.move(task, 'running', 'succeeded', { output: d.output, ...file, errorClass: null, errorMessage: null }, extra, { run, costUsd: runCost, outcome: 'success', message: null });
      return;
    case 'fail':
      ledger.move(task, 'running', 'failed', { output: out, ...file, errorClass: d.errorClass, errorMessage: d.message }, { ...extra, errorClass: d.errorClass, message: d.message }, { run, costUsd: runCost, outcome: d.errorClass, message: d.message });
      return;
    case 'cancel':
      ledger.move(task, 'running', 'cancelled', { output: out, ...file, errorClass: 'cancelled', errorMessage: d.message }, { ...extra, message: d.message }, { run, costUsd: runCost, outcome: 'cancelled', message: d.message });
      return;
    case 'time_out':
      ledger.move(task, 'running', 'timed_out', { output: out, ...file, errorClass: 'timeout', errorMessage: d.message }, { ...extra, message: d.message }, { run, costUsd: runCost, outcome: 'timeout', message: d.message });
      return;
    case 'retry':
      log.warn({ taskId: task.id, attempt: task.attempt, delayMs: d.delayMs }, `retrying after ${d.errorClass}: ${d.reason}`);
      ledger.move(task, 'running', 'retry_wait', { notBefore: d.notBefore, errorClass: d.errorClass, errorMessage: d.reason }, { ...extra, maxAttempts: task.maxAttempts, class: d.errorClass, reason: d.reason, delayMs: d.delayMs, retryAfterMs: o.retryAfterMs ?? null, notBefore: d.notBefore }, { run, costUsd: runCost, outcome: d.errorClass, message: d.reason });
      return;
    case 'park':
      log.warn({ taskId: task.id, until: new Date(d.notBefore).toISOString() }, `parked: ${d.reason}`);
      ledger.move(task, 'running', 'rate_limited', { notBefore: d.notBefore, parkedAt: now, attempt: task.attempt - 1, errorClass: d.errorClass, errorMessage: d.reason }, { ...extra, class: d.errorClass, reason: d.reason, notBefore: d.notBefore, resetAt: o.resetAt ?? null }, { run, costUsd: runCost, outcome: d.errorClass, message: d.reason });
      return;
    case 'fresh_session':
      if (task.sessionKey) {
        log.warn({ taskId: task.id, sessionKey: task.sessionKey }, `stale session detected for ${task.sessionKey} — recovering`);
        sessions.archive(task.sessionKey, d.reason);
        // In the transaction of the requeue: the chat reply says the earlier context was reset, and why.
        ledger.note(task.id, 'session_recovery', { sessionKey: task.sessionKey, reason: `the provider no longer knew the session: ${d.reason}` });
      }
      ledger.move(task, 'running', 'queued', { providerSessionId: null, sessionRetryUsed: 1, attempt: task.attempt - 1 }, { ...extra, reason: 'session_invalid', message: d.reason, recovering: true }, { run, costUsd: runCost, outcome: 'session_invalid', message: d.reason });
      return;
    case 'fallback':
      log.warn({ taskId: task.id, from: task.provider, to: d.provider }, `switching provider: ${d.reason}`);
      // The fallback provider's own model, or none (its default): a model id rarely fits another provider.
      ledger.move(task, 'running', 'queued', { provider: d.provider, model: fallbackModel(cfg, d.provider), providerSessionId: null, attempt: 0, options: JSON.stringify({ ...options, triedProviders: [...tried] }) }, { ...extra, reason: 'fallback', fromProvider: task.provider, toProvider: d.provider, message: d.reason }, { run, costUsd: runCost, outcome: o.class, message: d.reason });
      return;
    case 'interrupt':
      ledger.move(task, 'running', 'interrupted', { attempt: task.attempt - 1 }, { ...extra, reason: d.reason }, { run, costUsd: runCost, outcome: 'interrupted', message: d.reason });
      return;
  }
}

/** The model a task takes to its fallback provider: that provider's own, else null (the provider's default). */
export function fallbackModel(cfg: Pick<ResolvedConfig, 'providers'>, provider: string): string | null {
  return cfg.providers[provider]?.model ?? null;
}
