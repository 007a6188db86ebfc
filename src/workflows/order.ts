/**
 * The step graph of a workflow: order, ancestors, dependants, cycles, skips. Pure. The graph is made of the
 * top-level steps and their `dependsOn`; a sub-step of a `parallel` step belongs to its parent (it starts
 * with it, and its result is there once the parent ended). Unknown ids in `dependsOn` are ignored here
 * (validation reports them).
 */
import type { StepDef, WorkflowDef } from './types.js';

export interface StepEntry {
  step: StepDef;
  /** `steps[2]` or `steps[1].parallel[0]`. */
  path: string;
  /** For a sub-step: the id of its parallel step. */
  parent?: string;
  /** For a sub-step: `parent/sub` (how messages name it); else the id. */
  label: string;
}

/** Every step by id, sub-steps included (first one wins when ids repeat; validation reports duplicates). */
export function stepIndex(def: WorkflowDef): Map<string, StepEntry> {
  const index = new Map<string, StepEntry>();
  def.steps.forEach((step, i) => {
    if (step.id && !index.has(step.id)) index.set(step.id, { step, path: `steps[${i}]`, label: step.id });
    (step.parallel ?? []).forEach((sub, j) => {
      if (sub.id && !index.has(sub.id)) {
        index.set(sub.id, { step: sub, path: `steps[${i}].parallel[${j}]`, parent: step.id, label: `${step.id}/${sub.id}` });
      }
    });
  });
  return index;
}

/** Top-level step ids → their known top-level dependencies (unknown ids dropped, duplicates removed). */
export function dependencyMap(def: WorkflowDef): Map<string, string[]> {
  const top = new Set(def.steps.map((s) => s.id).filter((id) => id !== ''));
  const deps = new Map<string, string[]>();
  for (const s of def.steps) {
    if (!s.id || deps.has(s.id)) continue;
    deps.set(s.id, [...new Set(s.dependsOn.filter((d) => top.has(d)))]);
  }
  return deps;
}

/**
 * Kahn's algorithm in levels: level 0 holds the steps with no dependency, level n those whose last
 * dependency is in level n-1; within a level, the file's order. Steps on or behind a cycle are in `blocked`.
 */
export function topoLevels(def: WorkflowDef): { levels: string[][]; blocked: string[] } {
  const deps = dependencyMap(def);
  const level = new Map<string, number>();
  const ids = [...deps.keys()];
  let progress = true;
  while (progress) {
    progress = false;
    for (const id of ids) {
      if (level.has(id)) continue;
      const ds = deps.get(id) ?? [];
      if (ds.every((d) => level.has(d))) {
        level.set(id, ds.reduce((m, d) => Math.max(m, (level.get(d) ?? 0) + 1), 0));
        progress = true;
      }
    }
  }
  const levels: string[][] = [];
  for (const id of ids) {
    const l = level.get(id);
    if (l === undefined) continue;
    (levels[l] ??= []).push(id);
  }
  return { levels: levels.filter((l) => l !== undefined), blocked: ids.filter((id) => !level.has(id)) };
}

/** Top-level ids in an order where every step comes after its dependencies (cycles left out). */
export function topoOrder(def: WorkflowDef): string[] {
  return topoLevels(def).levels.flat();
}

/** One cycle per strongly tied group, each as the ids along it (the first repeated at the end is not included). */
export function findCycles(def: WorkflowDef): string[][] {
  const deps = dependencyMap(def);
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const seen = new Set<string>();
  const visit = (id: string): void => {
    state.set(id, 'open');
    stack.push(id);
    for (const d of deps.get(id) ?? []) {
      const st = state.get(d);
      if (st === 'open') {
        const cycle = stack.slice(stack.indexOf(d));
        const key = [...cycle].sort().join('\u0000');
        if (!seen.has(key)) {
          seen.add(key);
          // Written in the direction of the flow: a step, then the step that depends on it.
          cycles.push(cycle.reverse());
        }
      } else if (st === undefined) visit(d);
    }
    stack.pop();
    state.set(id, 'done');
  };
  for (const id of deps.keys()) if (!state.has(id)) visit(id);
  return cycles;
}

/** Top-level ids that `id` (top-level or sub-step) depends on, directly or not. */
export function ancestors(def: WorkflowDef, id: string): Set<string> {
  const entry = stepIndex(def).get(id);
  const start = entry?.parent ?? id;
  const deps = dependencyMap(def);
  const out = new Set<string>();
  const todo = [...(deps.get(start) ?? [])];
  while (todo.length > 0) {
    const d = todo.pop() as string;
    if (out.has(d)) continue;
    out.add(d);
    todo.push(...(deps.get(d) ?? []));
  }
  out.delete(start);
  return out;
}

/**
 * The step ids whose results are there when `id` starts: its ancestors and the sub-steps of ancestors that
 * are parallel steps. A template in step `id` may only name these.
 */
export function visibleSteps(def: WorkflowDef, id: string): Set<string> {
  const anc = ancestors(def, id);
  const out = new Set(anc);
  for (const s of def.steps) if (anc.has(s.id)) for (const sub of s.parallel ?? []) if (sub.id) out.add(sub.id);
  return out;
}

/** Top-level ids that depend on `id`, directly or not (not including `id`). */
export function dependants(def: WorkflowDef, id: string): Set<string> {
  const deps = dependencyMap(def);
  const out = new Set<string>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const [s, ds] of deps) {
      if (s === id || out.has(s)) continue;
      if (ds.some((d) => d === id || out.has(d))) {
        out.add(s);
        grew = true;
      }
    }
  }
  return out;
}

/**
 * Skips that follow from `skipped` (e.g. the branch a condition did not take): a step all of whose
 * dependencies are skipped is skipped too, and so on. Returns the whole skipped set (`skipped` included).
 * A step with at least one dependency that is not skipped still runs ("a skipped step counts as completed
 * for its dependants", as the original), so a join after an if/else runs once either branch ran.
 */
export function propagateSkips(def: WorkflowDef, skipped: Iterable<string>): Set<string> {
  const deps = dependencyMap(def);
  const out = new Set(skipped);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [s, ds] of deps) {
      if (out.has(s) || ds.length === 0) continue;
      if (ds.every((d) => out.has(d))) {
        out.add(s);
        grew = true;
      }
    }
  }
  return out;
}

/** The branch targets a condition skips when its result is `result`: the other branch (none when it has no `else` and the result is true). */
export function branchNotTaken(step: StepDef, result: boolean): string | undefined {
  return result ? step.else : step.then;
}
