/**
 * Raw JSON → WorkflowDef, in the original's format (spec §8.1). Pure. Never throws: a value of the wrong
 * kind is an error naming its JSON path, the value and the fix (the field is then left out, so validation
 * does not report it twice); a key this version does not know is a warning; the legacy `role` is read as
 * `agent`. Parse errors and validation errors are reported together by `checkWorkflow` (validate.ts).
 */
import type { Problem, StepDef, WorkflowDef } from './types.js';

export interface ParseResult {
  def: WorkflowDef;
  errors: Problem[];
  warnings: Problem[];
}

/** The original's `external` step fields: kept as given in `step.external`. */
export const EXTERNAL_KEYS = [
  'externalUrl',
  'externalHeaders',
  'externalBody',
  'externalRawBody',
  'externalContentType',
  'callbackKey',
  'callbackTimeout',
  'callbackMode',
  'callbackAccumulate',
  'callbackAuth',
  'callbackResponseMap',
  'onTimeout',
] as const;

const STRING_FIELDS = [
  'agent',
  'prompt',
  'model',
  'provider',
  'permissionMode',
  'onError',
  'if',
  'then',
  'else',
  'handoffFrom',
  'notifyMsg',
  'notifyTo',
  'toolName',
  'skill',
  'humanSubtype',
  'humanPrompt',
  'humanAssignee',
  'humanOnTimeout',
  'humanInputKey',
] as const;
const DURATION_FIELDS = ['timeout', 'retryDelay', 'delay', 'humanTimeout'] as const;
const KNOWN_STEP_KEYS = new Set<string>([
  'id',
  'type',
  'role',
  'dependsOn',
  'budget',
  'retryMax',
  'allowDangerous',
  'parallel',
  'toolInput',
  'skillArgs',
  'humanOptions',
  'humanContext',
  ...STRING_FIELDS,
  ...DURATION_FIELDS,
  ...EXTERNAL_KEYS,
]);
const KNOWN_TOP_KEYS = new Set(['name', 'description', 'variables', 'timeout', 'gitWorktree', 'branch', 'workdir', 'onSuccess', 'onFailure', 'steps']);

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A short rendering of a wrong value for a message (never the whole of a long one). */
export function show(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}

class Parser {
  readonly errors: Problem[] = [];
  readonly warnings: Problem[] = [];

  err(path: string, message: string): void {
    this.errors.push({ path, message });
  }
  warn(path: string, message: string): void {
    this.warnings.push({ path, message });
  }

  string(obj: Record<string, unknown>, key: string, path: string): string | undefined {
    const v = obj[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v;
    this.err(`${path}.${key}`, `"${key}" must be text, not ${kindOf(v)} (${show(v)}); write it in quotes`);
    return undefined;
  }

  duration(obj: Record<string, unknown>, key: string, path: string): string | undefined {
    const v = obj[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v;
    if (typeof v === 'number') return String(v);
    this.err(`${path}.${key}`, `"${key}" must be a duration such as "90s", "15m" or "1h30m", not ${kindOf(v)} (${show(v)})`);
    return undefined;
  }

  stringList(obj: Record<string, unknown>, key: string, path: string, what: string): string[] | undefined {
    const v = obj[key];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) {
      const hint = typeof v === 'string' ? `; write ["${v}"]` : '';
      this.err(`${path}.${key}`, `"${key}" must be a list of ${what}, not ${kindOf(v)} (${show(v)})${hint}`);
      return undefined;
    }
    const out: string[] = [];
    v.forEach((item, i) => {
      if (typeof item === 'string') out.push(item);
      else this.err(`${path}.${key}[${i}]`, `each entry of "${key}" must be text (${what}), not ${kindOf(item)} (${show(item)})`);
    });
    return out;
  }

  step(raw: unknown, path: string): StepDef | undefined {
    if (!isObject(raw)) {
      this.err(path, `a step must be an object such as {"id": "research", "agent": "...", "prompt": "..."}, not ${kindOf(raw)} (${show(raw)})`);
      return undefined;
    }
    for (const key of Object.keys(raw)) {
      if (!KNOWN_STEP_KEYS.has(key)) this.warn(`${path}.${key}`, `key "${key}" is not a step field this version knows; it is ignored`);
    }
    let id = '';
    if (typeof raw.id === 'string') id = raw.id;
    else if (raw.id !== undefined && raw.id !== null) this.err(`${path}.id`, `"id" must be text, not ${kindOf(raw.id)} (${show(raw.id)}); write it in quotes`);
    let type = 'dispatch';
    if (typeof raw.type === 'string' && raw.type !== '') type = raw.type;
    else if (raw.type !== undefined && raw.type !== null && raw.type !== '') this.err(`${path}.type`, `"type" must be text, not ${kindOf(raw.type)} (${show(raw.type)})`);
    const step: StepDef = { id, type, dependsOn: this.stringList(raw, 'dependsOn', path, 'step ids') ?? [] };

    for (const key of STRING_FIELDS) {
      const v = this.string(raw, key, path);
      if (v !== undefined) step[key] = v;
    }
    const role = this.string(raw, 'role', path);
    if (role !== undefined) {
      if (step.agent === undefined) step.agent = role;
      else if (role !== step.agent) this.warn(`${path}.role`, `"role" (the original's old name for "agent") is ignored because "agent" is also given`);
    }
    for (const key of DURATION_FIELDS) {
      const v = this.duration(raw, key, path);
      if (v !== undefined) step[key] = v;
    }
    if (raw.budget !== undefined && raw.budget !== null) {
      if (typeof raw.budget === 'number' && Number.isFinite(raw.budget) && raw.budget >= 0) step.budget = raw.budget;
      else this.err(`${path}.budget`, `"budget" must be an amount in USD of 0 or more, such as 0.5, not ${show(raw.budget)}`);
    }
    if (raw.retryMax !== undefined && raw.retryMax !== null) {
      if (typeof raw.retryMax === 'number' && Number.isInteger(raw.retryMax) && raw.retryMax >= 0) step.retryMax = raw.retryMax;
      else this.err(`${path}.retryMax`, `"retryMax" must be a whole number of 0 or more, such as 2, not ${show(raw.retryMax)}`);
    }
    if (raw.allowDangerous !== undefined && raw.allowDangerous !== null) {
      if (typeof raw.allowDangerous === 'boolean') step.allowDangerous = raw.allowDangerous;
      else this.err(`${path}.allowDangerous`, `"allowDangerous" must be true or false, not ${show(raw.allowDangerous)}`);
    }
    const skillArgs = this.stringList(raw, 'skillArgs', path, 'arguments');
    if (skillArgs) step.skillArgs = skillArgs;
    const humanOptions = this.stringList(raw, 'humanOptions', path, 'options');
    if (humanOptions) step.humanOptions = humanOptions;
    if (raw.toolInput !== undefined && raw.toolInput !== null) {
      if (isObject(raw.toolInput)) step.toolInput = raw.toolInput;
      else this.err(`${path}.toolInput`, `"toolInput" must be an object such as {"command": "ls"}, not ${kindOf(raw.toolInput)} (${show(raw.toolInput)})`);
    }
    if (raw.humanContext !== undefined && raw.humanContext !== null) {
      if (isObject(raw.humanContext)) {
        const ctx: Array<[string, string]> = [];
        for (const [k, v] of Object.entries(raw.humanContext)) {
          if (typeof v === 'string') ctx.push([k, v]);
          else this.err(`${path}.humanContext.${k}`, `each value of "humanContext" must be text, not ${kindOf(v)} (${show(v)})`);
        }
        step.humanContext = Object.fromEntries(ctx);
      } else this.err(`${path}.humanContext`, `"humanContext" must be an object of texts, not ${kindOf(raw.humanContext)}`);
    }
    if (raw.parallel !== undefined && raw.parallel !== null) {
      if (Array.isArray(raw.parallel)) {
        const subs: StepDef[] = [];
        raw.parallel.forEach((sub, i) => {
          const s = this.step(sub, `${path}.parallel[${i}]`);
          if (s) subs.push(s);
        });
        step.parallel = subs;
      } else this.err(`${path}.parallel`, `"parallel" must be a list of sub-steps, not ${kindOf(raw.parallel)} (${show(raw.parallel)})`);
    }
    const external: Record<string, unknown> = {};
    for (const key of EXTERNAL_KEYS) if (raw[key] !== undefined) external[key] = raw[key];
    if (Object.keys(external).length > 0) step.external = external;
    return step;
  }

  workflow(raw: unknown): WorkflowDef {
    const def: WorkflowDef = { name: '', variables: {}, steps: [] };
    if (!isObject(raw)) {
      this.err('(top level)', `a workflow must be a JSON object such as {"name": "my-flow", "steps": [...]}, not ${kindOf(raw)}`);
      return def;
    }
    for (const key of Object.keys(raw)) {
      // `.key` like every top-level path here (tidy drops that dot), so a key that itself starts with a dot keeps it.
      if (!KNOWN_TOP_KEYS.has(key)) this.warn(`.${key}`, `key "${key}" is not a workflow field this version knows; it is ignored`);
    }
    def.name = this.string(raw, 'name', '') ?? '';
    const description = this.string(raw, 'description', '');
    if (description !== undefined) def.description = description;
    const timeout = this.duration(raw, 'timeout', '');
    if (timeout !== undefined) def.timeout = timeout;
    const branch = this.string(raw, 'branch', '');
    if (branch !== undefined) def.branch = branch;
    const workdir = this.string(raw, 'workdir', '');
    if (workdir !== undefined) def.workdir = workdir;
    if (raw.gitWorktree !== undefined && raw.gitWorktree !== null) {
      if (typeof raw.gitWorktree === 'boolean') def.gitWorktree = raw.gitWorktree;
      else this.err('gitWorktree', `"gitWorktree" must be true or false, not ${show(raw.gitWorktree)}`);
    }
    if (raw.onSuccess !== undefined) def.onSuccess = raw.onSuccess;
    if (raw.onFailure !== undefined) def.onFailure = raw.onFailure;
    if (raw.variables !== undefined && raw.variables !== null) {
      if (isObject(raw.variables)) {
        for (const [k, v] of Object.entries(raw.variables)) {
          if (typeof v === 'string') def.variables[k] = v;
          else this.err(`variables.${k}`, `the default of variable "${k}" must be text, not ${kindOf(v)} (${show(v)}); write it in quotes ("" declares a variable with no default)`);
        }
      } else this.err('variables', `"variables" must be an object of names and default values such as {"topic": "AI"}, not ${kindOf(raw.variables)}`);
    }
    if (Array.isArray(raw.steps)) {
      raw.steps.forEach((s, i) => {
        const step = this.step(s, `steps[${i}]`);
        // Keep the index: a step that is not an object still holds its place, so paths stay true.
        def.steps.push(step ?? { id: '', type: 'dispatch', dependsOn: [] });
      });
    } else if (raw.steps !== undefined && raw.steps !== null) {
      this.err('steps', `"steps" must be a list of steps, not ${kindOf(raw.steps)}`);
    }
    return def;
  }
}

/** Fixes the paths of top-level keys: `.name` → `name`. */
function tidy(p: Problem): Problem {
  return p.path.startsWith('.') ? { path: p.path.slice(1), message: p.message } : p;
}

export function parseWorkflow(raw: unknown): ParseResult {
  const parser = new Parser();
  const def = parser.workflow(raw);
  return { def, errors: parser.errors.map(tidy), warnings: parser.warnings.map(tidy) };
}

/** Parses JSON text; a syntax error is one problem at `(file)`. */
export function parseWorkflowText(text: string): ParseResult {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return {
      def: { name: '', variables: {}, steps: [] },
      errors: [{ path: '(file)', message: `the file is not valid JSON: ${(err as Error).message}; fix the syntax (a JSON linter shows where)` }],
      warnings: [],
    };
  }
  return parseWorkflow(raw);
}
