/**
 * The API's view of workflow runs and steps (also what `tetora workflow status --json` prints), and the
 * CLI's step table. Pure.
 */
import type { RunRow, StepRow } from '../store/workflows.js';
import type { TaskRow } from '../store/tasks.js';
import type { StepDef, WorkflowDef } from './types.js';
import { flattenSteps } from './plan.js';

export interface StepView {
  id: string;
  parent: string | null;
  /** The step's `dependsOn` in the definition the run was started with (not the file as it is now). */
  dependsOn: string[];
  type: string;
  status: string;
  attempt: number;
  taskId: string | null;
  taskStatus: string | null;
  agent: string | null;
  startedAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
  costUsd: number;
  error: string | null;
  note: string | null;
  waitingUntil: string | null;
  decision: string | null;
  decidedBy: string | null;
  carried: boolean;
  output: string | null;
  outputFile: string | null;
}

export interface RunView {
  id: string;
  workflow: string;
  status: string;
  source: string;
  variables: Record<string, string>;
  error: string | null;
  workdir: string | null;
  worktree: string | null;
  createdAt: string;
  finishedAt: string | null;
  deadlineAt: string | null;
  durationMs: number | null;
  totalCostUsd: number;
  resumedFrom: string | null;
  resumedAs: string | null;
  steps?: StepView[];
  counts?: Record<string, number>;
}

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

export function runSummary(r: RunRow, steps: { counts: Record<string, number>; costUsd: number }): RunView {
  return {
    id: r.id,
    workflow: r.workflowName,
    status: r.status,
    source: r.source,
    variables: JSON.parse(r.variables) as Record<string, string>,
    error: r.error,
    workdir: r.workdir,
    worktree: r.worktreePath,
    createdAt: iso(r.createdAt) as string,
    finishedAt: iso(r.finishedAt),
    deadlineAt: iso(r.deadlineAt),
    durationMs: r.finishedAt === null ? null : r.finishedAt - r.createdAt,
    totalCostUsd: steps.costUsd,
    resumedFrom: r.resumedFrom,
    resumedAs: r.resumedAs,
    counts: steps.counts,
  };
}

/** Steps by status and the run's cost, from its step rows. */
export function stepCounts(steps: StepRow[]): { counts: Record<string, number>; costUsd: number } {
  const counts: Record<string, number> = {};
  for (const s of steps) counts[s.status] = (counts[s.status] ?? 0) + 1;
  return { counts, costUsd: steps.filter((s) => s.type !== 'parallel').reduce((n, s) => n + (s.costUsd ?? 0), 0) };
}

export function runView(r: RunRow, steps: StepRow[], task: (id: string) => TaskRow | undefined): RunView {
  const def = JSON.parse(r.definition) as WorkflowDef;
  const defs = new Map<string, StepDef>(flattenSteps(def).map((x) => [x.step.id, x.step]));
  return {
    ...runSummary(r, stepCounts(steps)),
    steps: steps.map((s) => {
      const t = s.taskId ? task(s.taskId) : undefined;
      return {
        id: s.stepId,
        parent: s.parentId,
        dependsOn: defs.get(s.stepId)?.dependsOn ?? [],
        type: s.type,
        status: s.status,
        attempt: s.attempt,
        taskId: s.taskId,
        taskStatus: t?.status ?? null,
        agent: t?.agent ?? defs.get(s.stepId)?.agent ?? null,
        startedAt: iso(s.startedAt),
        endedAt: iso(s.endedAt),
        durationMs: s.startedAt !== null && s.endedAt !== null ? s.endedAt - s.startedAt : null,
        costUsd: s.costUsd ?? 0,
        error: s.error,
        note: s.note,
        waitingUntil: s.status === 'waiting' || s.status === 'pending' ? iso(s.notBefore) : null,
        decision: s.decision,
        decidedBy: s.decidedBy,
        carried: s.carried === 1,
        output: s.output,
        outputFile: s.outputFile,
      };
    }),
  };
}

function pad(s: string, n: number): string {
  return s.length >= n ? `${s.slice(0, n - 1)}…` : s.padEnd(n);
}

/** `1.2s`, `3m04s`, or `-`. */
export function shortDuration(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(ms / 60_000);
  return `${m}m${String(Math.floor((ms % 60_000) / 1000)).padStart(2, '0')}s`;
}

/** The step table of `tetora workflow status` and `run --wait`: id, status, agent, duration, cost. */
export function stepTable(run: RunView, now = Date.now()): string[] {
  const lines = [`run ${run.id}  ${run.workflow}  ${run.status}${run.error ? `  ${run.error}` : ''}`];
  lines.push(`${pad('STEP', 24)} ${pad('STATUS', 10)} ${pad('AGENT', 14)} ${pad('DURATION', 9)} COST`);
  for (const s of run.steps ?? []) {
    const running = s.startedAt && !s.endedAt ? now - Date.parse(s.startedAt) : null;
    const id = s.parent ? `  ${s.id}` : s.id;
    lines.push(`${pad(id, 24)} ${pad(s.status, 10)} ${pad(s.agent ?? '-', 14)} ${pad(shortDuration(s.durationMs ?? running), 9)} $${s.costUsd.toFixed(4)}`);
  }
  lines.push(`total $${run.totalCostUsd.toFixed(4)}${run.durationMs !== null ? `  ${shortDuration(run.durationMs)}` : ''}`);
  return lines;
}

/** One plain line per step change, for `run --wait` off a terminal. */
export function stepLine(s: StepView): string {
  return `${s.id} ${s.status}${s.agent ? ` agent=${s.agent}` : ''}${s.durationMs !== null ? ` ${shortDuration(s.durationMs)}` : ''} $${s.costUsd.toFixed(4)}${s.error ? ` error: ${s.error.split('\n')[0]}` : ''}`;
}
