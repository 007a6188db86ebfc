/**
 * What the CLI and the HTTP API both answer about definitions (list, show, validate, dry-run), built on
 * the folder and the config, so `tetora workflow …` without a daemon and `/api/workflows…` say the same.
 * File I/O only (no store, no daemon).
 */
import type { ResolvedConfig } from '../config/types.js';
import { TetoraError } from '../errors.js';
import { dryRun, type DryRunPlan } from './dryrun.js';
import { findWorkflow, loadWorkflows, type FileProblem, type LoadedWorkflow } from './load.js';
import { topoLevels } from './order.js';
import type { CheckResult, Problem, WorkflowDef } from './types.js';
import { formatProblems, missingVariables, missingVariablesMessage, validateWorkflow, type ValidationConfig } from './validate.js';

export type WorkflowConfig = ValidationConfig & Pick<ResolvedConfig, 'workflowDir'>;

export interface WorkflowSummary {
  name: string;
  description: string;
  file: string;
  steps: number;
  valid: boolean;
  errors: number;
  warnings: number;
}

export interface ValidationReport {
  valid: boolean;
  name: string;
  file?: string;
  errors: Problem[];
  warnings: Problem[];
  /** Top-level step ids by level, when there is no error. */
  executionOrder?: string[][];
}

/** Parse problems of a loaded file plus validation against `config`. */
export function checkLoaded(loaded: Pick<LoadedWorkflow, 'def' | 'errors' | 'warnings'>, config: ValidationConfig | undefined): CheckResult {
  const v = validateWorkflow(loaded.def, config ? { config } : {});
  return { errors: [...loaded.errors, ...v.errors], warnings: [...loaded.warnings, ...v.warnings] };
}

export function report(def: WorkflowDef, checked: CheckResult, file?: string): ValidationReport {
  const r: ValidationReport = { valid: checked.errors.length === 0, name: def.name, errors: checked.errors, warnings: checked.warnings };
  if (file) r.file = file;
  if (r.valid) r.executionOrder = topoLevels(def).levels;
  return r;
}

/** Every workflow of the folder with its validity; file-level problems (duplicate names, broken files) apart. */
export function listWorkflows(config: WorkflowConfig): { workflows: WorkflowSummary[]; errors: FileProblem[] } {
  const all = loadWorkflows(config.workflowDir);
  const workflows = [...all.workflows.values()]
    .map((w) => {
      const c = checkLoaded(w, config);
      return { name: w.def.name, description: w.def.description ?? '', file: w.file, steps: w.def.steps.length, valid: c.errors.length === 0, errors: c.errors.length, warnings: c.warnings.length };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
  return { workflows, errors: all.errors };
}

/** The error that carries every problem of an invalid definition (HTTP 400, exit 78). */
export function invalidError(name: string, checked: CheckResult, file?: string): TetoraError {
  const n = checked.errors.length;
  const lines = formatProblems(checked.errors).map((l) => `  ${l}`);
  return new TetoraError(
    'TET_ERR_WORKFLOW_INVALID',
    `workflow ${name ? `"${name}"` : '(no name)'}${file ? ` (${file})` : ''} has ${n} ${n === 1 ? 'error' : 'errors'}; nothing was written or run:\n${lines.join('\n')}`,
    { name, ...(file ? { file } : {}), errors: checked.errors, warnings: checked.warnings },
  );
}

/** Finds, checks and plans a workflow; an invalid one throws `invalidError`. */
export function dryRunWorkflow(
  config: WorkflowConfig & Pick<ResolvedConfig, 'agents' | 'providers' | 'defaultModel' | 'defaultProvider' | 'workflowEnv' | 'env'> & Partial<Pick<ResolvedConfig, 'defaultAgent'>>,
  nameOrFile: string,
  vars: Record<string, string>,
  opts: { allowPath?: boolean } = {},
): DryRunPlan & { file: string; warnings: Problem[] } {
  const loaded = findWorkflow(config.workflowDir, nameOrFile, opts);
  const checked = checkLoaded(loaded, config);
  if (checked.errors.length > 0) throw invalidError(loaded.def.name, checked, loaded.file);
  const env = config.env;
  const plan = dryRun(loaded.def, { config, vars, env: (n) => (Object.hasOwn(env, n) ? env[n] : undefined) });
  return { ...plan, file: loaded.file, warnings: checked.warnings };
}

/** Run variables from a request body or flags: an object of texts (numbers and booleans are written as text). */
export function variablesFrom(value: unknown, where: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new TetoraError('TET_ERR_HTTP_BAD_REQUEST', `${where} must be an object of names and values such as {"topic": "AI"}`, { field: where });
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v === 'string') out[k] = v;
    else if (typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
    else throw new TetoraError('TET_ERR_HTTP_BAD_REQUEST', `${where}.${k} must be text, not ${v === null ? 'null' : typeof v}`, { field: `${where}.${k}` });
  }
  return out;
}

/**
 * The check before a run starts (CLI, HTTP, triggers, resume): every validation error (TET_ERR_WORKFLOW_INVALID,
 * with all of them in `details.errors`), then variables used with no value (TET_ERR_WORKFLOW_VARIABLE_MISSING,
 * naming each). Returns the warnings when the run may start.
 */
export function assertRunnable(
  loaded: Pick<LoadedWorkflow, 'def' | 'errors' | 'warnings'> & { file?: string },
  config: ValidationConfig,
  vars: Record<string, string>,
): Problem[] {
  const checked = checkLoaded(loaded, config);
  if (checked.errors.length > 0) throw invalidError(loaded.def.name, checked, loaded.file);
  const missing = missingVariables(loaded.def, vars);
  if (missing.length > 0) {
    throw new TetoraError('TET_ERR_WORKFLOW_VARIABLE_MISSING', missingVariablesMessage(loaded.def.name, missing), { name: loaded.def.name, variables: missing });
  }
  return checked.warnings;
}
