/**
 * Workflow templates, as the original writes them (spec §8.1): `{{var}}`, `{{steps.<id>.output|status|error}}`,
 * `{{env.NAME}}`. Pure: no I/O, no clock.
 *
 * Differences from the original, on purpose:
 * - step outputs pass IN FULL (the original cut them to 16,000 runes);
 * - `{{env.NAME}}` is refused for names that look secret (TOKEN, KEY, SECRET, PASSWORD, any case) unless the
 *   config's `workflowEnv` lists the name, so a prompt cannot leak the daemon's credentials by accident;
 * - text between `{{` and `}}` that is not a reference at all (`{{ .Name }}`, `{{"a": 1}}`, a JSON or Go
 *   template example inside a prompt) is left as written instead of becoming "".
 * An unknown variable or a step with no result renders "" as in the original; validation (`validate.ts`)
 * and `missingVariables` catch those before a run starts.
 */
import { TetoraError } from '../errors.js';

export interface StepResultView {
  output?: string;
  status?: string;
  error?: string;
}

export interface TemplateContext {
  /** Variables: the workflow's defaults overridden by the run's values. */
  vars: Record<string, string>;
  /** Results of the steps that ended so far, by step id (sub-steps of parallel steps by their own id). */
  steps: Record<string, StepResultView>;
  /** The environment (`config.env` for a run). */
  env: (name: string) => string | undefined;
}

export interface TemplateOptions {
  /** Names allowed in `{{env.NAME}}` although they look secret (config `workflowEnv`). */
  workflowEnv?: readonly string[];
  /**
   * Called for every step reference before the context is read; a string returned replaces the reference
   * (dry-run uses it to show where an earlier output will go), undefined reads `ctx.steps` as usual.
   */
  stepPlaceholder?: (ref: StepRef) => string | undefined;
}

export interface VarRef {
  kind: 'var';
  name: string;
  /** The whole `{{…}}` text. */
  raw: string;
}
export interface StepRef {
  kind: 'step';
  /** The step id. */
  name: string;
  /** `output`, `status`, `error`, or what the text gave ("" when none). */
  field: string;
  raw: string;
}
export interface EnvRef {
  kind: 'env';
  name: string;
  raw: string;
}
export type TemplateRef = VarRef | StepRef | EnvRef;

const TEMPLATE = /\{\{([^}]+)\}\}/g;
/** What may stand between the braces to be a reference; anything else is left as written. */
const STEP_EXPR = /^steps\.([^.\s{}]+)(?:\.([A-Za-z0-9_]*))?$/;
const ENV_EXPR = /^env\.([A-Za-z_][A-Za-z0-9_]*)$/;
/** Variable names in any script (the original's users write `{{主題}}`), digits, `_`, `-` and `.`. */
const VAR_EXPR = /^[\p{L}_][\p{L}\p{N}\p{M}_.-]*$/u;

/** Reads one `{{…}}` body; undefined when it is not a reference. */
function refOf(body: string, raw: string): TemplateRef | undefined {
  const expr = body.trim();
  if (expr.startsWith('steps.')) {
    const m = STEP_EXPR.exec(expr);
    return m ? { kind: 'step', name: m[1] as string, field: m[2] ?? '', raw } : undefined;
  }
  if (expr.startsWith('env.')) {
    const m = ENV_EXPR.exec(expr);
    return m ? { kind: 'env', name: m[1] as string, raw } : undefined;
  }
  return VAR_EXPR.test(expr) ? { kind: 'var', name: expr, raw } : undefined;
}

/** Every reference in `text`, in order (duplicates kept). */
export function templateRefs(text: string): TemplateRef[] {
  const refs: TemplateRef[] = [];
  for (const m of text.matchAll(TEMPLATE)) {
    const ref = refOf(m[1] as string, m[0]);
    if (ref) refs.push(ref);
  }
  return refs;
}

/** True when `text` holds at least one reference. */
export function hasTemplate(text: string): boolean {
  return templateRefs(text).length > 0;
}

const SECRET_NAME = /TOKEN|KEY|SECRET|PASSWORD/i;

/** A name that looks like a credential (TOKEN, KEY, SECRET, PASSWORD, any case). */
export function isSecretEnvName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** True when `{{env.NAME}}` may not be used: a secret-looking name that `workflowEnv` does not list. */
export function envRefused(name: string, workflowEnv: readonly string[] = []): boolean {
  return isSecretEnvName(name) && !workflowEnv.includes(name);
}

/** The message for a refused `{{env.NAME}}`, naming the variable and the fix. */
export function envRefusedMessage(name: string): string {
  return (
    `{{env.${name}}} is refused: the name "${name}" looks like a secret (it contains TOKEN, KEY, SECRET or PASSWORD), ` +
    `and a template would put its value into a prompt or a message. If this is intended, add "${name}" to "workflowEnv" in config.json ` +
    `(e.g. "workflowEnv": ["${name}"]); otherwise pass the value as a workflow variable.`
  );
}

/**
 * Renders `text`. Outputs are inserted in full, byte for byte (no `$` patterns, no cut). Throws a
 * TetoraError `TET_ERR_WORKFLOW_ENV_REFUSED` for a refused `{{env.NAME}}`; never throws otherwise.
 */
export function renderTemplate(text: string, ctx: TemplateContext, opts: TemplateOptions = {}): string {
  if (!text.includes('{{')) return text;
  return text.replace(TEMPLATE, (whole: string, body: string) => {
    const ref = refOf(body, whole);
    if (!ref) return whole;
    switch (ref.kind) {
      case 'var':
        return Object.hasOwn(ctx.vars, ref.name) ? String(ctx.vars[ref.name] ?? '') : '';
      case 'env':
        if (envRefused(ref.name, opts.workflowEnv)) {
          throw new TetoraError('TET_ERR_WORKFLOW_ENV_REFUSED', envRefusedMessage(ref.name), { variable: ref.name });
        }
        return ctx.env(ref.name) ?? '';
      case 'step': {
        const placeholder = opts.stepPlaceholder?.(ref);
        if (placeholder !== undefined) return placeholder;
        const result = Object.hasOwn(ctx.steps, ref.name) ? ctx.steps[ref.name] : undefined;
        if (!result) return '';
        if (ref.field === 'output') return result.output ?? '';
        if (ref.field === 'status') return result.status ?? '';
        if (ref.field === 'error') return result.error ?? '';
        return '';
      }
    }
  });
}

/** Renders every string inside a JSON-like value (objects and arrays walked; other values kept). */
export function renderDeep(value: unknown, ctx: TemplateContext, opts: TemplateOptions = {}): unknown {
  if (typeof value === 'string') return renderTemplate(value, ctx, opts);
  if (Array.isArray(value)) return value.map((v) => renderDeep(v, ctx, opts));
  if (value !== null && typeof value === 'object') {
    // fromEntries defines own keys: a "__proto__" key stays a key (an assignment would replace the prototype).
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderDeep(v, ctx, opts)]));
  }
  return value;
}

/** A parallel step's output: its sub-steps' outputs (in the order the file lists them) joined as the original joins them. */
export function joinParallelOutputs(outputs: readonly string[]): string {
  return outputs.join('\n---\n');
}
