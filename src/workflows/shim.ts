/**
 * TEMPORARY stand-in, with the same names and signatures, for what the `wf-def` branch provides
 * (types.ts, load.ts `findWorkflow`, service.ts `checkLoaded`/`invalidError`, template.ts, condition.ts,
 * validate.ts `missingVariables`). Once that branch is on main this file is deleted and the imports point
 * there.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TetoraError } from '../errors.js';

export const STEP_DEFAULTS = {
  onError: 'stop',
  retryDelayMs: 5_000,
  humanTimeoutMs: 72 * 3_600_000,
  humanOnTimeout: 'stop',
  humanSubtype: 'approval',
  parallelJoin: '\n---\n',
} as const;

export interface StepDef {
  id: string;
  type: string;
  agent?: string;
  prompt?: string;
  dependsOn: string[];
  model?: string;
  provider?: string;
  timeout?: string;
  budget?: number;
  permissionMode?: string;
  onError?: string;
  retryMax?: number;
  retryDelay?: string;
  if?: string;
  then?: string;
  else?: string;
  parallel?: StepDef[];
  handoffFrom?: string;
  delay?: string;
  notifyMsg?: string;
  notifyTo?: string;
  toolName?: string;
  toolInput?: Record<string, unknown>;
  skill?: string;
  skillArgs?: string[];
  humanSubtype?: string;
  humanPrompt?: string;
  humanTimeout?: string;
  humanOnTimeout?: string;
}

export interface WorkflowDef {
  name: string;
  description?: string;
  variables: Record<string, string>;
  timeout?: string;
  gitWorktree?: boolean;
  branch?: string;
  workdir?: string;
  steps: StepDef[];
}

export interface Problem {
  path: string;
  message: string;
}
export interface CheckResult {
  errors: Problem[];
  warnings: Problem[];
}
export interface LoadedWorkflow {
  def: WorkflowDef;
  file: string;
  errors: Problem[];
  warnings: Problem[];
}

function normalise(raw: Record<string, unknown>): WorkflowDef {
  const step = (s: Record<string, unknown>): StepDef => ({
    ...(s as unknown as StepDef),
    type: typeof s.type === 'string' ? s.type : 'dispatch',
    dependsOn: Array.isArray(s.dependsOn) ? (s.dependsOn as string[]) : [],
    ...(Array.isArray(s.parallel) ? { parallel: (s.parallel as Array<Record<string, unknown>>).map(step) } : {}),
  });
  return {
    ...(raw as unknown as WorkflowDef),
    variables: (raw.variables as Record<string, string>) ?? {},
    steps: Array.isArray(raw.steps) ? (raw.steps as Array<Record<string, unknown>>).map(step) : [],
  };
}

export function findWorkflow(dir: string, name: string): LoadedWorkflow {
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  } catch {
    /* none */
  }
  for (const f of files) {
    try {
      const raw = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Record<string, unknown>;
      if (raw && raw.name === name) return { def: normalise(raw), file: join(dir, f), errors: [], warnings: [] };
    } catch {
      /* not this one */
    }
  }
  throw new TetoraError('TET_ERR_WORKFLOW_NOT_FOUND', `no workflow "${name}" in ${dir}; check the name with \`tetora workflow list\``, { name, dir });
}

export function checkLoaded(loaded: Pick<LoadedWorkflow, 'def' | 'errors' | 'warnings'>, _config: unknown): CheckResult {
  const errors: Problem[] = [...loaded.errors];
  const def = loaded.def;
  if (!def.name || def.steps.length === 0) errors.push({ path: '', message: 'a workflow needs a name and at least one step' });
  const ids = new Set<string>();
  def.steps.forEach((s, i) => {
    if (ids.has(s.id)) errors.push({ path: `steps[${i}].id`, message: `duplicate step id "${s.id}"` });
    ids.add(s.id);
    for (const sub of s.parallel ?? []) ids.add(sub.id);
  });
  def.steps.forEach((s, i) =>
    s.dependsOn.forEach((d, j) => {
      if (!ids.has(d)) errors.push({ path: `steps[${i}].dependsOn[${j}]`, message: `unknown step "${d}"` });
    }),
  );
  return { errors, warnings: [...loaded.warnings] };
}

export function invalidError(name: string, checked: CheckResult, file?: string): TetoraError {
  return new TetoraError('TET_ERR_WORKFLOW_INVALID', `workflow "${name}"${file ? ` (${file})` : ''} has errors; nothing was written or run:\n${checked.errors.map((e) => `  ${e.path}: ${e.message}`).join('\n')}`, { name, errors: checked.errors });
}

export interface StepResultView {
  output?: string;
  status?: string;
  error?: string;
}
export interface TemplateContext {
  vars: Record<string, string>;
  steps: Record<string, StepResultView>;
  env: (name: string) => string | undefined;
}
export interface TemplateOptions {
  workflowEnv?: readonly string[];
}

const TEMPLATE = /\{\{([^}]+)\}\}/g;

export function renderTemplate(text: string, ctx: TemplateContext, _opts: TemplateOptions = {}): string {
  if (!text.includes('{{')) return text;
  return text.replace(TEMPLATE, (_m, raw: string) => {
    const expr = raw.trim();
    if (expr.startsWith('steps.')) {
      const rest = expr.slice(6);
      const dot = rest.lastIndexOf('.');
      const r = ctx.steps[rest.slice(0, dot)];
      const field = rest.slice(dot + 1);
      return field === 'output' ? (r?.output ?? '') : field === 'status' ? (r?.status ?? '') : field === 'error' ? (r?.error ?? '') : '';
    }
    if (expr.startsWith('env.')) return ctx.env(expr.slice(4)) ?? '';
    return Object.hasOwn(ctx.vars, expr) ? (ctx.vars[expr] ?? '') : '';
  });
}

export function renderDeep(value: unknown, ctx: TemplateContext, opts: TemplateOptions = {}): unknown {
  if (typeof value === 'string') return renderTemplate(value, ctx, opts);
  if (Array.isArray(value)) return value.map((v) => renderDeep(v, ctx, opts));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderDeep(v, ctx, opts)]));
  return value;
}

export function evalCondition(expr: string, ctx: TemplateContext, opts: TemplateOptions = {}): boolean {
  for (const op of ['!=', '=='] as const) {
    const at = expr.indexOf(op);
    if (at === -1) continue;
    const l = renderTemplate(expr.slice(0, at), ctx, opts).trim();
    const r = renderTemplate(expr.slice(at + 2), ctx, opts).trim().replace(/^["']|["']$/g, '');
    return op === '==' ? l === r : l !== r;
  }
  const t = renderTemplate(expr, ctx, opts).trim();
  return t !== '' && t !== 'false' && t !== '0';
}

export function missingVariables(def: WorkflowDef, given: Record<string, string>): string[] {
  const used = new Set<string>();
  const walk = (v: unknown): void => {
    if (typeof v === 'string') for (const m of v.matchAll(TEMPLATE)) used.add((m[1] as string).trim());
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(def.steps);
  return [...used].filter((n) => !n.startsWith('steps.') && !n.startsWith('env.') && !n.startsWith('_') && !Object.hasOwn(def.variables, n) && !Object.hasOwn(given, n));
}

export function missingVariablesMessage(workflow: string, names: string[]): string {
  return `workflow "${workflow}" uses variables ${names.map((n) => `"${n}"`).join(', ')} with no value: give each (${names.map((n) => `--var ${n}=VALUE`).join(' ')}, or "variables" in the request body), or declare them with a default under "variables" in the workflow`;
}
