/**
 * Static validation of a workflow definition: ALL problems at once, each with its JSON path
 * (`steps[2].dependsOn[0]`), what is wrong and the fix. Pure: the config is passed in. Runs for
 * `tetora workflow validate`, `POST /api/workflows/validate`, create, dry-run and before every run.
 * Goes beyond the original (spec §8.2): agents, providers and skills must exist in the config; template
 * references must name a step that ended before (an ancestor), not only a step that exists.
 */
import { MAX_DURATION_MS, permissionModes } from '../config/schema.js';
import { parseDuration } from '../util/duration.js';
import { splitCondition } from './condition.js';
import { findCycles, stepIndex, visibleSteps, type StepEntry } from './order.js';
import { parseWorkflow, show } from './parse.js';
import { envRefused, envRefusedMessage, renderDeep, renderTemplate, templateRefs, type TemplateContext, type TemplateOptions } from './template.js';
import {
  HUMAN_ON_TIMEOUT,
  HUMAN_SUBTYPES,
  ON_ERROR_MODES,
  PARALLEL_SUB_STEP_TYPES,
  STEP_FIELDS,
  STEP_TYPES,
  TOOL_NAMES,
  type CheckResult,
  type Problem,
  type StepDef,
  type WorkflowDef,
} from './types.js';

/** What validation reads from the config (a ResolvedConfig fits). Without it, config checks are skipped. */
export interface ValidationConfig {
  agents?: Record<string, unknown>;
  providers?: Record<string, unknown>;
  skills?: Record<string, unknown>;
  workflowEnv?: readonly string[];
  defaultAgent?: string | undefined;
  discord?: { enabled: boolean } | undefined;
}

export interface ValidateOptions {
  config?: ValidationConfig;
}

export const WORKFLOW_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
/** Characters a step id may not hold: they would break `{{steps.<id>.output}}` or `parent/sub` labels. */
const BAD_ID_CHARS = /[\s.{}/]/;

/** Step string fields rendered as templates before a step runs (`renderStep`), in this order. */
export const TEMPLATED_STEP_FIELDS = [
  'prompt',
  'agent',
  'model',
  'provider',
  'timeout',
  'permissionMode',
  'if',
  'notifyMsg',
  'notifyTo',
  'humanPrompt',
  'humanAssignee',
] as const;

/** Fields read by one type only: given on another type they are ignored (a warning). */
const TYPE_ONLY_FIELDS: Record<string, string> = {
  if: 'condition',
  then: 'condition',
  else: 'condition',
  parallel: 'parallel',
  handoffFrom: 'handoff',
  delay: 'delay',
  notifyMsg: 'notify',
  notifyTo: 'notify',
  toolName: 'tool_call',
  toolInput: 'tool_call',
  skill: 'skill',
  skillArgs: 'skill',
  humanSubtype: 'human',
  humanPrompt: 'human',
  humanAssignee: 'human',
  humanTimeout: 'human',
  humanOnTimeout: 'human',
  humanInputKey: 'human',
  humanOptions: 'human',
  humanContext: 'human',
};

/** Every templated text of a step with its JSON path (sub-steps not included: they are steps of their own). */
export function templatedTexts(step: StepDef, path: string): Array<{ path: string; text: string }> {
  const out: Array<{ path: string; text: string }> = [];
  for (const key of TEMPLATED_STEP_FIELDS) {
    const v = step[key];
    if (typeof v === 'string') out.push({ path: `${path}.${key}`, text: v });
  }
  (step.skillArgs ?? []).forEach((a, i) => out.push({ path: `${path}.skillArgs[${i}]`, text: a }));
  const walk = (v: unknown, p: string): void => {
    if (typeof v === 'string') out.push({ path: p, text: v });
    else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${p}[${i}]`));
    else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, `${p}.${k}`);
  };
  if (step.toolInput) walk(step.toolInput, `${path}.toolInput`);
  for (const [k, v] of Object.entries(step.humanContext ?? {})) out.push({ path: `${path}.humanContext.${k}`, text: v });
  return out;
}

/**
 * A copy of `step` with every templated field rendered (TEMPLATED_STEP_FIELDS, skillArgs, every string in
 * toolInput, humanContext). Sub-steps are left as they are: render each when it starts. Throws what
 * `renderTemplate` throws (a refused `{{env.NAME}}`).
 */
export function renderStep(step: StepDef, ctx: TemplateContext, opts: TemplateOptions = {}): StepDef {
  const out: StepDef = { ...step };
  for (const key of TEMPLATED_STEP_FIELDS) {
    const v = step[key];
    if (typeof v === 'string') out[key] = renderTemplate(v, ctx, opts);
  }
  if (step.skillArgs) out.skillArgs = step.skillArgs.map((a) => renderTemplate(a, ctx, opts));
  if (step.toolInput) out.toolInput = renderDeep(step.toolInput, ctx, opts) as Record<string, unknown>;
  if (step.humanContext) {
    out.humanContext = Object.fromEntries(Object.entries(step.humanContext).map(([k, v]) => [k, renderTemplate(v, ctx, opts)]));
  }
  return out;
}

/** Variable names the workflow reads (`{{name}}`), with the paths that read them. Names starting with `_` (set by triggers and the board) are left out. */
export function usedVariables(def: WorkflowDef): Map<string, string[]> {
  const used = new Map<string, string[]>();
  const add = (texts: Array<{ path: string; text: string }>) => {
    for (const { path, text } of texts) {
      for (const ref of templateRefs(text)) {
        if (ref.kind !== 'var' || ref.name.startsWith('_')) continue;
        const paths = used.get(ref.name) ?? [];
        if (!paths.includes(path)) paths.push(path);
        used.set(ref.name, paths);
      }
    }
  };
  if (def.branch !== undefined) add([{ path: 'branch', text: def.branch }]);
  def.steps.forEach((s, i) => {
    add(templatedTexts(s, `steps[${i}]`));
    (s.parallel ?? []).forEach((sub, j) => add(templatedTexts(sub, `steps[${i}].parallel[${j}]`)));
  });
  return used;
}

/** Variables the workflow reads but neither declares nor gets in `given`: a run must refuse to start (TET_ERR_WORKFLOW_VARIABLE_MISSING). */
export function missingVariables(def: WorkflowDef, given: Record<string, string>): string[] {
  return [...usedVariables(def).keys()].filter((name) => !Object.hasOwn(def.variables, name) && !Object.hasOwn(given, name));
}

/** The message for `missingVariables`' result, naming each variable and the fix. */
export function missingVariablesMessage(workflow: string, names: string[]): string {
  const list = names.map((n) => `"${n}"`).join(', ');
  const flags = names.map((n) => `--var ${n}=VALUE`).join(' ');
  return `workflow "${workflow}" uses ${names.length === 1 ? 'variable' : 'variables'} ${list} with no value: give ${names.length === 1 ? 'it' : 'each'} (${flags}, or "variables" in the request body), or declare ${names.length === 1 ? 'it' : 'them'} with a default under "variables" in the workflow`;
}

function isTemplated(v: string | undefined): boolean {
  return v !== undefined && templateRefs(v).length > 0;
}

function listOf(names: Iterable<string>): string {
  const all = [...names];
  return all.length === 0 ? 'none' : all.map((n) => `"${n}"`).join(', ');
}

class Validator {
  readonly errors: Problem[] = [];
  readonly warnings: Problem[] = [];
  readonly index: Map<string, StepEntry>;
  readonly topIds: Set<string>;

  constructor(
    readonly def: WorkflowDef,
    readonly config: ValidationConfig | undefined,
  ) {
    this.index = stepIndex(def);
    this.topIds = new Set(def.steps.map((s) => s.id).filter((id) => id !== ''));
  }

  err(path: string, message: string): void {
    this.errors.push({ path, message });
  }
  warn(path: string, message: string): void {
    this.warnings.push({ path, message });
  }

  /**
   * `timer: true` for durations a timer holds at once (timeouts, retry waits): at most MAX_DURATION_MS. Delays
   * and human timeouts are durable waits and may be longer.
   */
  duration(value: string | undefined, path: string, field: string, opts: { allowZero: boolean; timer?: boolean }): void {
    if (value === undefined || isTemplated(value)) return;
    const ms = parseDuration(value);
    if (ms === undefined) this.err(path, `"${field}" ${show(value)} is not a duration; write one such as "90s", "15m", "1h30m" or "2d"`);
    else if (ms === 0 && !opts.allowZero) this.err(path, `"${field}" is 0, which would end the wait at once; give a duration above 0 such as "10m"`);
    else if (opts.timer && ms > MAX_DURATION_MS) this.err(path, `"${field}" ${show(value)} is longer than ${MAX_DURATION_MS} ms (about 24.8 days, the longest a timer holds); give at most "24d"`);
  }

  run(): void {
    const { def } = this;
    if (def.name === '') this.err('name', 'missing: give the workflow a "name" such as "research-and-summarize" (letters, digits, - and _; it is how runs and the CLI find it)');
    else if (!WORKFLOW_NAME.test(def.name)) this.err('name', `"name" ${show(def.name)} is not valid: use letters, digits, - and _, starting with a letter or digit (e.g. "research-and-summarize")`);
    if (def.steps.length === 0) this.err('steps', 'the workflow has no steps: give "steps" at least one step such as {"id": "research", "agent": "...", "prompt": "..."}');
    this.duration(def.timeout, 'timeout', 'timeout', { allowZero: false, timer: true });
    if (def.branch !== undefined) {
      for (const ref of templateRefs(def.branch)) {
        if (ref.kind === 'step') this.err('branch', `template ${ref.raw} reads a step, but the branch is made before any step runs; use variables only`);
      }
      this.checkTemplateEnv([{ path: 'branch', text: def.branch }]);
    }
    this.checkIds();
    def.steps.forEach((s, i) => this.checkStep(s, `steps[${i}]`, undefined));
    this.checkCycles();
    this.checkVariables();
  }

  checkIds(): void {
    const seen = new Map<string, string>();
    const visit = (s: StepDef, path: string) => {
      if (s.id === '') {
        this.err(`${path}.id`, 'missing: every step needs an "id", unique in the workflow, such as "research"');
        return;
      }
      if (BAD_ID_CHARS.test(s.id)) {
        this.err(`${path}.id`, `step id ${show(s.id)} holds a space, ".", "/", "{" or "}", which templates cannot name; use letters, digits, - and _ (e.g. "${s.id.replace(/[\s.{}/]+/g, '-')}")`);
      }
      const first = seen.get(s.id);
      if (first !== undefined) this.err(`${path}.id`, `duplicate step id "${s.id}": ${first} has it already; give each step (sub-steps included) its own id`);
      else seen.set(s.id, path);
    };
    this.def.steps.forEach((s, i) => {
      visit(s, `steps[${i}]`);
      (s.parallel ?? []).forEach((sub, j) => visit(sub, `steps[${i}].parallel[${j}]`));
    });
  }

  /** The id as messages name it: `parent/sub` for a sub-step. */
  label(s: StepDef, parent: StepDef | undefined): string {
    return parent ? `${parent.id}/${s.id}` : s.id;
  }

  checkStep(s: StepDef, path: string, parent: StepDef | undefined): void {
    const label = this.label(s, parent);
    const known = (STEP_TYPES as readonly string[]).includes(s.type);
    if (!known) {
      this.err(`${path}.type`, `unknown step type ${show(s.type)}; use one of ${STEP_TYPES.filter((t) => t !== 'external').join(', ')} (or leave it out for dispatch)`);
    } else if (s.type === 'external') {
      this.err(`${path}.type`, 'step type "external" (HTTP callbacks) is not supported by this version yet; the step would not run, so the workflow is refused. Use a tool_call step with toolName "http", or a human step to wait for an answer');
    } else if (parent && !(PARALLEL_SUB_STEP_TYPES as readonly string[]).includes(s.type)) {
      this.err(`${path}.type`, `a sub-step of a parallel step cannot be of type "${s.type}"; use one of ${PARALLEL_SUB_STEP_TYPES.join(', ')}, or make it a step of its own`);
    }

    // Fields that only another type reads.
    if (known) {
      for (const [field, owner] of Object.entries(TYPE_ONLY_FIELDS)) {
        if (owner === s.type || (s as unknown as Record<string, unknown>)[field] === undefined) continue;
        this.warn(`${path}.${field}`, `"${field}" is only read by ${owner} steps and is ignored on a ${s.type} step${s.type === 'dispatch' ? `; did you mean "type": "${owner}"?` : ''}`);
      }
    }

    this.checkDependsOn(s, path, parent);
    if (s.onError !== undefined && !(ON_ERROR_MODES as readonly string[]).includes(s.onError)) {
      this.err(`${path}.onError`, `"onError" ${show(s.onError)} is not one of ${ON_ERROR_MODES.join(', ')}; use "stop" (end the run), "skip" (go on without this step) or "retry" (with retryMax and retryDelay)`);
    }
    this.duration(s.timeout, `${path}.timeout`, 'timeout', { allowZero: false, timer: true });
    this.duration(s.retryDelay, `${path}.retryDelay`, 'retryDelay', { allowZero: true, timer: true });
    if (s.permissionMode !== undefined && !isTemplated(s.permissionMode) && !(permissionModes as readonly string[]).includes(s.permissionMode)) {
      this.err(`${path}.permissionMode`, `"permissionMode" ${show(s.permissionMode)} is not one of ${permissionModes.join(', ')}`);
    }
    this.checkAgent(s, path);
    if (s.provider !== undefined && this.config?.providers && !isTemplated(s.provider) && !Object.hasOwn(this.config.providers, s.provider)) {
      this.err(`${path}.provider`, `provider "${s.provider}" is not in the config (providers: ${listOf(Object.keys(this.config.providers))}); use one of them or add it under "providers" in config.json`);
    }

    switch (s.type) {
      case 'dispatch':
        if (!s.prompt?.trim()) this.err(`${path}.prompt`, 'missing: a dispatch step needs a "prompt", the instruction given to the agent');
        break;
      case 'skill':
        this.checkSkill(s, path);
        break;
      case 'condition':
        this.checkCondition(s, path);
        break;
      case 'parallel':
        if (!s.parallel || s.parallel.length === 0) {
          this.err(`${path}.parallel`, 'missing: a parallel step needs "parallel", a non-empty list of sub-steps such as [{"id": "a", "agent": "...", "prompt": "..."}]');
        } else {
          s.parallel.forEach((sub, j) => this.checkStep(sub, `${path}.parallel[${j}]`, s));
        }
        break;
      case 'handoff':
        this.checkHandoff(s, path, label);
        break;
      case 'tool_call':
        this.checkToolCall(s, path);
        break;
      case 'delay':
        if (s.delay === undefined) this.err(`${path}.delay`, 'missing: a delay step needs "delay", a duration such as "30s" or "2h"');
        else this.duration(s.delay, `${path}.delay`, 'delay', { allowZero: true });
        break;
      case 'notify':
        this.checkNotify(s, path);
        break;
      case 'human':
        this.checkHuman(s, path);
        break;
      default:
        break;
    }
    this.checkTemplates(s, path, label);
  }

  checkDependsOn(s: StepDef, path: string, parent: StepDef | undefined): void {
    if (parent) {
      if (s.dependsOn.length > 0) this.warn(`${path}.dependsOn`, `"dependsOn" of a sub-step is ignored: sub-steps start together when parallel step "${parent.id}" starts; put the dependency on "${parent.id}"`);
      return;
    }
    const seen = new Set<string>();
    s.dependsOn.forEach((d, k) => {
      const p = `${path}.dependsOn[${k}]`;
      if (seen.has(d)) {
        this.warn(p, `"${d}" is listed twice in dependsOn; remove one`);
        return;
      }
      seen.add(d);
      if (d === s.id && d !== '') this.err(p, `step "${s.id}" depends on itself; remove "${d}" from its dependsOn`);
      else if (this.topIds.has(d)) return;
      else {
        const e = this.index.get(d);
        if (e?.parent !== undefined) this.err(p, `"${d}" is a sub-step of parallel step "${e.parent}"; depend on "${e.parent}" instead (its sub-steps end with it)`);
        else this.err(p, `depends on unknown step "${d}" (steps: ${listOf(this.topIds)}); fix the id or remove it`);
      }
    });
  }

  checkAgent(s: StepDef, path: string): void {
    const agents = this.config?.agents;
    if (!agents) return;
    if (s.agent !== undefined && s.agent !== '') {
      if (!isTemplated(s.agent) && !Object.hasOwn(agents, s.agent)) {
        this.err(`${path}.agent`, `agent "${s.agent}" is not in the config (agents: ${listOf(Object.keys(agents))}); use one of them or add it under "agents" in config.json`);
      }
    } else if (s.type === 'dispatch' && !this.config?.defaultAgent) {
      this.err(`${path}.agent`, `missing: this ${s.type} step names no "agent" and the config has no "defaultAgent"; name one of ${listOf(Object.keys(agents))}`);
    }
  }

  checkSkill(s: StepDef, path: string): void {
    if (!s.skill) {
      this.err(`${path}.skill`, 'missing: a skill step needs "skill", the name of a skill in the config\'s "skills"');
      return;
    }
    const skills = this.config?.skills;
    if (skills && !Object.hasOwn(skills, s.skill)) {
      this.err(
        `${path}.skill`,
        `unknown skill "${s.skill}" (skills in the config: ${listOf(Object.keys(skills))}); add it to config.json as "skills": {"${s.skill}": {"command": "...", "args": [], "timeout": "5m"}} or fix the name`,
      );
    }
  }

  checkCondition(s: StepDef, path: string): void {
    if (!s.if?.trim()) this.err(`${path}.if`, 'missing: a condition step needs "if", such as "{{steps.check.output}} == \'yes\'" or "{{flag}}"');
    else {
      const split = splitCondition(s.if);
      const left = split?.left.trim() ?? '';
      if (split && /^['"].*['"]$/.test(left) && left.length >= 2) {
        this.warn(`${path}.if`, `the left side ${left} keeps its quotes in the comparison (only the right side loses them, as in the original), so it never equals an unquoted value; remove the quotes on the left`);
      }
    }
    if (s.then === undefined || s.then === '') this.err(`${path}.then`, 'missing: a condition step needs "then", the id of the step to run when the condition holds');
    for (const key of ['then', 'else'] as const) {
      const target = s[key];
      if (target === undefined || target === '') continue;
      const p = `${path}.${key}`;
      if (target === s.id) {
        this.err(p, `"${key}" names the condition itself; name the step to run instead`);
        continue;
      }
      const e = this.index.get(target);
      if (!e) {
        this.err(p, `"${key}" names unknown step "${target}" (steps: ${listOf(this.topIds)}); fix the id`);
        continue;
      }
      if (e.parent !== undefined) {
        this.err(p, `"${key}" names "${target}", a sub-step of parallel step "${e.parent}"; name "${e.parent}" instead`);
        continue;
      }
      if (!e.step.dependsOn.includes(s.id)) {
        this.err(
          p,
          `"${key}" target "${target}" (${e.path}) does not depend on condition "${s.id}": a condition does not jump, it only skips the branch not taken; add "${s.id}" to ${e.path}.dependsOn`,
        );
      }
    }
    if (s.then !== undefined && s.then === s.else) this.warn(`${path}.else`, `"then" and "else" both name "${s.then}", so the condition decides nothing`);
  }

  checkHandoff(s: StepDef, path: string, label: string): void {
    if (!s.handoffFrom) {
      this.err(`${path}.handoffFrom`, 'missing: a handoff step needs "handoffFrom", the id of the step whose output the agent receives');
    } else if (!this.index.has(s.handoffFrom)) {
      this.err(`${path}.handoffFrom`, `"handoffFrom" names unknown step "${s.handoffFrom}" (steps: ${listOf(this.index.keys())}); fix the id`);
    } else if (!visibleSteps(this.def, s.id).has(s.handoffFrom)) {
      const e = this.index.get(s.id);
      const at = e?.parent ? `parallel step "${e.parent}"` : `"${label}"`;
      this.err(`${path}.handoffFrom`, `"${s.handoffFrom}" may not have ended when ${at} starts (it is not among its dependencies); add "${s.handoffFrom}" to the dependsOn of ${at}`);
    }
    if (!s.agent) this.err(`${path}.agent`, 'missing: a handoff step needs "agent", the agent that receives the work');
  }

  checkToolCall(s: StepDef, path: string): void {
    if (!s.toolName) {
      this.err(`${path}.toolName`, `missing: a tool_call step needs "toolName", one of ${TOOL_NAMES.join(', ')}`);
      return;
    }
    if (!(TOOL_NAMES as readonly string[]).includes(s.toolName)) {
      this.err(`${path}.toolName`, `tool ${show(s.toolName)} is not one this version runs; use "shell" (toolInput: command, args, timeout) or "http" (toolInput: method, url, headers, body)`);
      return;
    }
    const input = s.toolInput ?? {};
    const ip = `${path}.toolInput`;
    if (s.toolName === 'shell') {
      if (typeof input.command !== 'string' || input.command.trim() === '') {
        this.err(`${ip}.command`, 'missing: a shell tool_call needs "toolInput": {"command": "..."} (the program to run; "args" a list of arguments)');
      }
      if (input.args !== undefined && (!Array.isArray(input.args) || input.args.some((a) => typeof a !== 'string'))) {
        this.err(`${ip}.args`, `"args" must be a list of texts, not ${show(input.args)}`);
      }
      if (input.timeout !== undefined) {
        if (typeof input.timeout === 'string' || typeof input.timeout === 'number') this.duration(String(input.timeout), `${ip}.timeout`, 'timeout', { allowZero: false, timer: true });
        else this.err(`${ip}.timeout`, `"timeout" must be a duration such as "5m", not ${show(input.timeout)}`);
      }
    } else {
      if (typeof input.url !== 'string' || input.url.trim() === '') {
        this.err(`${ip}.url`, 'missing: an http tool_call needs "toolInput": {"url": "https://..."} (and optionally method, headers, body)');
      } else if (!isTemplated(input.url) && !/^https?:\/\/[^\s]+$/i.test(input.url)) {
        this.err(`${ip}.url`, `"url" ${show(input.url)} is not an http(s) URL; write one such as "https://example.com/hook"`);
      }
      const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'];
      if (input.method !== undefined && (typeof input.method !== 'string' || !methods.includes(input.method.toUpperCase()))) {
        this.err(`${ip}.method`, `"method" ${show(input.method)} is not one of ${methods.join(', ')}`);
      }
      if (input.headers !== undefined) {
        const h = input.headers;
        if (h === null || typeof h !== 'object' || Array.isArray(h) || Object.values(h).some((v) => typeof v !== 'string')) {
          this.err(`${ip}.headers`, `"headers" must be an object of texts such as {"Content-Type": "application/json"}, not ${show(h)}`);
        }
      }
    }
  }

  checkNotify(s: StepDef, path: string): void {
    if (!s.notifyMsg?.trim()) this.err(`${path}.notifyMsg`, 'missing: a notify step needs "notifyMsg", the message to send');
    const to = s.notifyTo;
    if (to === undefined || to === '' || to === 'log' || isTemplated(to)) return;
    if (/^https?:\/\/[^\s]+$/i.test(to)) return;
    const discord = /^discord:(\d+)$/.exec(to);
    if (discord) {
      if (this.config && this.config.discord?.enabled !== true) {
        this.warn(`${path}.notifyTo`, `Discord is not enabled in the config, so the message to "${to}" will be logged and not sent; enable "discord" in config.json to send it`);
      }
      return;
    }
    this.warn(
      `${path}.notifyTo`,
      `notify target ${show(to)} is not one this version has; the step will log the message and succeed with a note that it was not sent. Use "log", "discord:<channelId>" or a webhook URL (http/https)`,
    );
  }

  checkHuman(s: StepDef, path: string): void {
    const subtype = s.humanSubtype ?? 'approval';
    if (!(HUMAN_SUBTYPES as readonly string[]).includes(subtype)) {
      this.err(`${path}.humanSubtype`, `"humanSubtype" ${show(subtype)} is not one this version has; use "approval" (approve or reject) or "input" (answer with text)`);
    }
    if (!s.humanPrompt?.trim()) this.warn(`${path}.humanPrompt`, 'no "humanPrompt": the person asked sees no question; say what to approve or answer');
    this.duration(s.humanTimeout, `${path}.humanTimeout`, 'humanTimeout', { allowZero: false });
    if (s.humanOnTimeout !== undefined) {
      if (!(HUMAN_ON_TIMEOUT as readonly string[]).includes(s.humanOnTimeout)) {
        this.err(`${path}.humanOnTimeout`, `"humanOnTimeout" ${show(s.humanOnTimeout)} is not one of ${HUMAN_ON_TIMEOUT.join(', ')}`);
      } else if (s.humanOnTimeout === 'approve' && subtype === 'input') {
        this.err(`${path}.humanOnTimeout`, '"approve" has no meaning for an "input" step (there is no answer to assume); use "stop" or "skip"');
      }
    }
  }

  checkTemplates(s: StepDef, path: string, label: string): void {
    const texts = templatedTexts(s, path);
    const visible = s.id ? visibleSteps(this.def, s.id) : new Set<string>();
    const entry = s.id ? this.index.get(s.id) : undefined;
    const owner = entry?.parent !== undefined ? `parallel step "${entry.parent}"` : `"${label}"`;
    for (const { path: p, text } of texts) {
      for (const ref of templateRefs(text)) {
        if (ref.kind !== 'step') continue;
        if (!(STEP_FIELDS as readonly string[]).includes(ref.field)) {
          this.err(p, `template ${ref.raw} reads field "${ref.field}" of a step; use output, status or error (e.g. {{steps.${ref.name}.output}})`);
        }
        if (!this.index.has(ref.name)) {
          this.err(p, `step "${label}" field "${p.slice(path.length + 1)}": template ${ref.raw} references unknown step "${ref.name}" (steps: ${listOf(this.index.keys())}); fix the id`);
        } else if (ref.name === s.id || (entry?.parent !== undefined && ref.name === entry.parent)) {
          this.err(p, `template ${ref.raw} reads the result of "${ref.name}" from inside "${label}", before it exists; read an earlier step`);
        } else if (s.id && !visible.has(ref.name)) {
          const target = this.index.get(ref.name);
          const dep = target?.parent ?? ref.name;
          this.err(p, `template ${ref.raw} reads step "${ref.name}", which is not an ancestor of ${owner}, so it may not have ended (or run) when ${owner} starts; add "${dep}" to the dependsOn of ${owner}`);
        }
      }
    }
    this.checkTemplateEnv(texts);
  }

  checkTemplateEnv(texts: Array<{ path: string; text: string }>): void {
    for (const { path: p, text } of texts) {
      for (const ref of templateRefs(text)) {
        if (ref.kind === 'env' && envRefused(ref.name, this.config?.workflowEnv)) this.err(p, envRefusedMessage(ref.name));
      }
    }
  }

  checkCycles(): void {
    const position = (id: string) => this.def.steps.findIndex((s) => s.id === id);
    for (const found of findCycles(this.def)) {
      // Start at the step written first in the file, so the path does not depend on the search.
      const start = found.reduce((best, id, k) => (position(id) < position(found[best] as string) ? k : best), 0);
      const cycle = [...found.slice(start), ...found.slice(0, start)];
      const first = cycle[0] as string;
      const i = position(first);
      const text = [...cycle, first].map((id) => `"${id}"`).join(' → ');
      this.err(`steps[${i}].dependsOn`, `dependency cycle: ${text} (each waits for the one before it, so none can start); remove one of these dependencies`);
    }
  }

  checkVariables(): void {
    for (const [name, paths] of usedVariables(this.def)) {
      if (Object.hasOwn(this.def.variables, name)) continue;
      this.warn(
        paths[0] as string,
        `variable "${name}" is used${paths.length > 1 ? ` (also at ${paths.slice(1).join(', ')})` : ''} but not declared in "variables": a run without --var ${name}=VALUE is refused; declare it, e.g. "variables": {"${name}": ""}`,
      );
    }
  }
}

/** Validates a parsed definition. `config` (a ResolvedConfig fits) enables the agent, provider, skill, workflowEnv and Discord checks. */
export function validateWorkflow(def: WorkflowDef, opts: ValidateOptions = {}): CheckResult {
  const v = new Validator(def, opts.config);
  v.run();
  return { errors: v.errors, warnings: v.warnings };
}

/** Parses raw JSON and validates it: every parse and validation problem together. */
export function checkWorkflow(raw: unknown, opts: ValidateOptions = {}): CheckResult & { def: WorkflowDef } {
  const parsed = parseWorkflow(raw);
  const checked = validateWorkflow(parsed.def, opts);
  return { def: parsed.def, errors: [...parsed.errors, ...checked.errors], warnings: [...parsed.warnings, ...checked.warnings] };
}

/** One line per problem: `<path>: <message>`. */
export function formatProblems(problems: Problem[]): string[] {
  return problems.map((p) => `${p.path}: ${p.message}`);
}
