/**
 * Pure parts of the workflow runner: which variables a run is missing, which steps a resume runs again,
 * a run's final status, and how a failed step's next state follows from onError/retryMax. No I/O.
 */
import { dependants, stepIndex } from './order.js';
import type { StepDef, WorkflowDef } from './types.js';
import type { StepRow } from '../store/workflows.js';

/** Every step of a definition in order, parallel sub-steps (after their parent) included, with the parallel step that holds each. */
export function flattenSteps(def: WorkflowDef): Array<{ step: StepDef; parent: string | null }> {
  return [...stepIndex(def).values()].map((e) => ({ step: e.step, parent: e.parent ?? null }));
}

/**
 * The run's variables: the definition's defaults overridden by the given ones (as strings; names starting
 * with `__` are reserved and dropped, as the original does).
 */
export function runVariables(def: WorkflowDef, given: Record<string, unknown>): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const [k, v] of Object.entries(def.variables)) vars[k] = v === null || v === undefined ? '' : String(v);
  for (const [k, v] of Object.entries(given)) {
    if (k.startsWith('__')) continue;
    vars[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return vars;
}

/** How many times a failed step is tried again: `retryMax`; `onError: "retry"` without one retries once. */
export function retriesOf(s: StepDef): number {
  if (typeof s.retryMax === 'number' && s.retryMax >= 0) return Math.floor(s.retryMax);
  return s.onError === 'retry' ? 1 : 0;
}

/**
 * The step ids that run again with `ids`: each of them (a sub-step with its whole parallel step), every
 * step that depends on one of them, directly or not, and the sub-steps of those that are parallel steps.
 */
export function dependantsOf(def: WorkflowDef, ids: Iterable<string>): Set<string> {
  const index = stepIndex(def);
  const top = new Set<string>();
  for (const id of ids) top.add(index.get(id)?.parent ?? id);
  const out = new Set(top);
  for (const t of top) for (const d of dependants(def, t)) out.add(d);
  for (const s of def.steps) if (out.has(s.id)) for (const sub of s.parallel ?? []) out.add(sub.id);
  return out;
}

/**
 * Which steps of an ended run a resume carries over (their results kept) — the rest run again. Without
 * `from`: every step that succeeded, or was skipped by a condition or by `onError: "skip"`, and depends on
 * nothing that runs again. With `from`: the same, but `from` and everything that depends on it run again.
 */
export function carriedSteps(def: WorkflowDef, rows: StepRow[], from?: string): Set<string> {
  const byId = new Map(rows.map((r) => [r.stepId, r]));
  const kept = (id: string) => {
    const r = byId.get(id);
    if (!r) return false;
    return r.status === 'success' || (r.status === 'skipped' && r.skipBranch !== 2);
  };
  const again = new Set<string>();
  for (const { step } of flattenSteps(def)) if (!kept(step.id)) again.add(step.id);
  if (from !== undefined) again.add(from);
  const all = dependantsOf(def, again);
  return new Set(flattenSteps(def).map((x) => x.step.id).filter((id) => !all.has(id)));
}

/** A run's final status once no step is pending, running or waiting: a step that failed makes it `error`. */
export function finalStatus(rows: Pick<StepRow, 'status'>[]): 'success' | 'error' {
  return rows.some((r) => r.status === 'error' || r.status === 'timeout' || r.status === 'cancelled') ? 'error' : 'success';
}
