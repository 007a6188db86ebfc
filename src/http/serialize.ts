import type { TaskEvent, TaskRow, TaskRun } from '../store/tasks.js';

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
