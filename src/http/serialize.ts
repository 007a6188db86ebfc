import type { ResolvedConfig } from '../config/types.js';
import { waitingReason } from '../engine/availability.js';
import type { ListFilter, TaskEvent, TaskRow, TaskRun, TaskStore } from '../store/tasks.js';
import type { TaskListQuery } from './query.js';

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

/** The API form of a task. `full` includes the whole output; lists give its length instead. */
export function taskJson(t: TaskRow, opts: { full?: boolean; runs?: TaskRun[] } = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: t.id,
    status: t.status,
    source: t.source,
    agent: t.agent,
    provider: t.provider,
    model: t.model,
    priority: t.priority,
    sessionKey: t.sessionKey,
    providerSessionId: t.providerSessionId,
    attempt: t.attempt,
    maxAttempts: t.maxAttempts,
    runs: t.runs,
    costUsd: t.costUsd,
    tokensIn: t.tokensIn,
    tokensOut: t.tokensOut,
    error: t.errorMessage && t.status !== 'succeeded' ? { class: t.errorClass, message: t.errorMessage } : null,
    createdAt: iso(t.createdAt),
    startedAt: iso(t.startedAt),
    finishedAt: iso(t.finishedAt),
    notBefore: iso(t.notBefore),
    workdir: t.workdir,
    parentId: t.parentId,
    workflowRunId: t.workflowRunId,
    outputBytes: t.outputBytes ?? (t.output === null ? 0 : Buffer.byteLength(t.output)),
    interruptions: t.interruptions,
    // How smart dispatch chose the agent of a task sent without one ({agent, method, confidence, reason, classifierTasks?}), or null.
    route: parseRoute(t.route),
    prompt: opts.full ? t.prompt : t.prompt.length > 200 ? `${t.prompt.slice(0, 200)}…` : t.prompt,
  };
  // An output too large for the row: `output` is its head, the whole is at GET /api/tasks/:id/output.
  if (t.outputFile) {
    out.outputFile = t.outputFile;
    out.outputTruncated = true;
  }
  if (opts.full) {
    out.output = t.output;
    out.systemPrompt = t.systemPrompt;
    out.timeoutMs = t.timeoutMs;
    out.budgetUsd = t.budgetUsd;
    out.options = publicOptions(t.options);
  }
  if (opts.runs) {
    out.attempts = opts.runs.map((r) => ({
      run: r.run,
      attempt: r.attempt,
      provider: r.provider,
      instanceId: r.instanceId,
      startedAt: iso(r.startedAt),
      endedAt: iso(r.endedAt),
      outcome: r.outcome,
      message: r.message,
    }));
  }
  return out;
}

function parseRoute(json: string | null): Record<string, unknown> | null {
  if (json === null) return null;
  try {
    return JSON.parse(json) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/**
 * The task options a client may see: what its request set (worktree, allowedTools, name) and the
 * fallback providers already tried. Internal fields (the idempotency request hash) stay in the store.
 */
const PUBLIC_OPTIONS = ['worktree', 'allowedTools', 'name', 'triedProviders'] as const;

function publicOptions(json: string): Record<string, unknown> {
  let all: Record<string, unknown>;
  try {
    all = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return {};
  }
  return Object.fromEntries(PUBLIC_OPTIONS.filter((k) => all?.[k] !== undefined).map((k) => [k, all[k]]));
}

export function eventJson(e: TaskEvent): Record<string, unknown> {
  return { seq: e.seq, taskId: e.taskId, at: new Date(e.at).toISOString(), type: e.type, data: e.data };
}

/**
 * One page of GET /api/tasks (and `tetora task list` without a daemon): the newest tasks that match `q`
 * (statuses and agents: any of the given), and the cursor of the next page.
 */
export function taskPage(list: (f: ListFilter) => TaskRow[], q: TaskListQuery, defaultLimit = 50): { tasks: Array<Record<string, unknown>>; nextCursor: string | null } {
  const limit = q.limit ?? defaultLimit;
  const rows = list({
    limit,
    ...(q.status?.length ? { status: q.status } : {}),
    ...(q.agent?.length ? { agent: q.agent.length === 1 ? q.agent[0] : q.agent } : {}),
    ...(q.source ? { source: q.source } : {}),
    ...(q.cursor ? { before: q.cursor } : {}),
  });
  const last = rows[rows.length - 1];
  return { tasks: rows.map((t) => taskJson(t)), nextCursor: rows.length === limit && last ? String(last.seq) : null };
}

/**
 * GET /api/tasks/:id (and `tetora task show` without a daemon): the whole task, its attempts, the
 * worktree it last ran in (one indexed query, not the task's whole event log) and, for a queued task
 * whose agent or provider `config` lacks, why it waits.
 */
export function taskView(t: TaskRow, store: Pick<TaskStore, 'runs' | 'lastWorktreeSummary' | 'links' | 'get'>, config: Pick<ResolvedConfig, 'agents' | 'providers' | 'configPath'>): Record<string, unknown> {
  const out = taskJson(t, { full: true, runs: store.runs(t.id) });
  out.worktree = store.lastWorktreeSummary(t.id);
  out.links = taskLinks(t, store);
  const waiting = t.status === 'queued' ? waitingReason(t, config) : undefined;
  if (waiting) out.waiting = waiting;
  return out;
}

/** A task another one is linked to, as the task view lists it. */
export interface LinkedTask {
  id: string;
  agent: string | null;
  status: string;
  kind?: string;
  ord?: number;
  reason?: string | null;
}

/**
 * How the task hangs together with others (task_links and parent_id): its parent (the task that
 * delegated it, or that a classifier routes), its delegated children in the order of the parent's
 * output, the tasks whose output was handed to it (`handoffsFrom`) and those it handed its output to
 * (`handoffsTo`), its routing classifiers (`route`), and the task it retries (`retryOf`) and its retries (`retries`).
 */
export function taskLinks(t: TaskRow, store: Pick<TaskStore, 'links' | 'get'>): { parent: LinkedTask | null; children: LinkedTask[]; handoffsFrom: LinkedTask[]; handoffsTo: LinkedTask[]; route: LinkedTask[]; retryOf: LinkedTask | null; retries: LinkedTask[] } {
  const { from, to } = store.links(t.id);
  const view = (id: string, extra: Partial<LinkedTask> = {}): LinkedTask => {
    const row = store.get(id);
    return { id, agent: row?.agent ?? null, status: row?.status ?? 'missing', ...extra };
  };
  const up = t.parentId ? to.find((l) => l.fromTask === t.parentId) : undefined;
  return {
    parent: t.parentId ? view(t.parentId, up ? { kind: up.kind, reason: up.reason } : {}) : null,
    children: from.filter((l) => l.kind === 'delegate').map((l) => view(l.toTask, { ord: l.ord, reason: l.reason })),
    handoffsFrom: to.filter((l) => l.kind === 'handoff').map((l) => view(l.fromTask)),
    handoffsTo: from.filter((l) => l.kind === 'handoff').map((l) => view(l.toTask)),
    route: from.filter((l) => l.kind === 'route').map((l) => view(l.toTask)),
    // POST /api/tasks/:id/retry: the task this one retries, and the retries of this one.
    retryOf: to.filter((l) => l.kind === 'retry').map((l) => view(l.fromTask))[0] ?? null,
    retries: from.filter((l) => l.kind === 'retry').map((l) => view(l.toTask)),
  };
}
