/**
 * Dry-run: the plan of a run, computed without running anything (no provider call, no process, no store).
 * Pure. It gives the execution order in levels (a level starts when the one before it ended), each step's
 * prompt resolved with a placeholder where an earlier step's result would go, the result of every
 * condition that can be decided before the run (its `if` reads only variables and the environment) with
 * the steps it would skip, and a rough cost from each agent's model.
 */
import type { ResolvedConfig } from '../config/types.js';
import { costOf, priceOf } from '../providers/pricing.js';
import { parseDuration } from '../util/duration.js';
import { explainCondition, type ConditionExplained } from './condition.js';
import { branchNotTaken, propagateSkips, topoLevels } from './order.js';
import { handoffPrompt } from '../agents/handoff.js';
import { renderDeep, renderTemplate, templateRefs, type StepRef, type TemplateContext, type TemplateOptions } from './template.js';
import type { StepDef, WorkflowDef } from './types.js';
import { missingVariables } from './validate.js';

export type DryRunConfig = Pick<ResolvedConfig, 'agents' | 'providers' | 'defaultModel' | 'defaultProvider' | 'workflowEnv'> & Partial<Pick<ResolvedConfig, 'defaultAgent'>>;

export interface DryRunOptions {
  config: DryRunConfig;
  /** Run variables (override the workflow's defaults). */
  vars?: Record<string, string>;
  /** The environment `{{env.NAME}}` reads; default: none (renders ""). */
  env?: (name: string) => string | undefined;
}

export interface DryRunCondition {
  if: string;
  /** False when the `if` reads a step's result, known only during the run. */
  decidable: boolean;
  result?: boolean;
  explained?: ConditionExplained;
  /** The target that would run / be skipped (when decidable). */
  taken?: string;
  notTaken?: string;
}

export interface DryRunStep {
  id: string;
  /** `parent/sub` for a sub-step. */
  label: string;
  type: string;
  /** The level of the step (its parallel step's for a sub-step). */
  level: number;
  agent?: string;
  provider?: string;
  model?: string;
  /** The prompt (or instruction, or message) with `{{…}}` resolved and placeholders for earlier results. */
  prompt?: string;
  condition?: DryRunCondition;
  /** True when a decidable condition makes this step skipped. */
  skipped?: boolean;
  /** What the step would do, in words, for types with no agent. */
  action?: string;
  /** Rough: input = prompt length / 4 tokens (+2,000 per earlier result it reads), output = 1,000 tokens. */
  estimatedCostUsd?: number;
  subSteps?: DryRunStep[];
  /** A template error met while resolving (a refused `{{env.NAME}}`). */
  error?: string;
}

export interface DryRunPlan {
  workflow: string;
  /** The variables a run would get: defaults overridden by the given ones. */
  variables: Record<string, string>;
  /** Variables the workflow reads that have no value: a real run would be refused. */
  missingVariables: string[];
  /** Top-level step ids by level. */
  levels: string[][];
  steps: DryRunStep[];
  estimatedCostUsd: number;
}

/** The text put where a step's result will go. */
export function placeholderFor(ref: Pick<StepRef, 'name' | 'field'>): string {
  return `<${ref.field || 'output'} of step "${ref.name}">`;
}

const ASSUMED_OUTPUT_TOKENS = 1000;
const ASSUMED_RESULT_TOKENS = 2000;

function roundUsd(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}

export function dryRun(def: WorkflowDef, opts: DryRunOptions): DryRunPlan {
  const { config } = opts;
  const variables = { ...def.variables, ...(opts.vars ?? {}) };
  const ctx: TemplateContext = { vars: variables, steps: {}, env: opts.env ?? (() => undefined) };
  let skipped = new Set<string>();
  // A step known to be skipped reads as it will in the run: no output, status "skipped".
  const tOpts: TemplateOptions = {
    workflowEnv: config.workflowEnv,
    stepPlaceholder: (ref) => (skipped.has(ref.name) ? (ref.field === 'status' ? 'skipped' : '') : placeholderFor(ref)),
  };
  const { levels } = topoLevels(def);
  const levelOf = new Map<string, number>();
  levels.forEach((ids, l) => ids.forEach((id) => levelOf.set(id, l)));

  // Conditions decidable now, in order, and the skips they cause.
  const decided = new Map<string, DryRunCondition>();
  const initialSkips = new Set<string>();
  for (const id of levels.flat()) {
    const s = def.steps.find((x) => x.id === id);
    if (!s || s.type !== 'condition' || s.if === undefined) continue;
    const cond: DryRunCondition = { if: s.if, decidable: !templateRefs(s.if).some((r) => r.kind === 'step') };
    if (skipped.has(s.id)) {
      // A skipped condition skips both of its branches.
      for (const t of [s.then, s.else]) if (t) initialSkips.add(t);
    } else if (cond.decidable) {
      try {
        const ex = explainCondition(s.if, ctx, tOpts);
        cond.result = ex.result;
        cond.explained = ex;
        const notTaken = branchNotTaken(s, ex.result);
        const taken = ex.result ? s.then : s.else;
        if (taken) cond.taken = taken;
        if (notTaken) {
          cond.notTaken = notTaken;
          initialSkips.add(notTaken);
        }
      } catch {
        cond.decidable = false;
      }
    }
    decided.set(s.id, cond);
    skipped = propagateSkips(def, initialSkips);
  }

  let total = 0;
  const plan = (s: StepDef, level: number, parent?: StepDef): DryRunStep => {
    const out: DryRunStep = { id: s.id, label: parent ? `${parent.id}/${s.id}` : s.id, type: s.type, level };
    const render = (text: string | undefined): string | undefined => {
      if (text === undefined) return undefined;
      try {
        return renderTemplate(text, ctx, tOpts);
      } catch (err) {
        out.error = (err as Error).message;
        return text;
      }
    };
    if (skipped.has(s.id) || (parent && skipped.has(parent.id))) out.skipped = true;
    const usesAgent = s.type === 'dispatch' || s.type === 'handoff';
    if (usesAgent) {
      const agentName = render(s.agent) || config.defaultAgent;
      const agent = agentName && Object.hasOwn(config.agents, agentName) ? config.agents[agentName] : undefined;
      const providerName = render(s.provider) || agent?.provider || config.defaultProvider;
      const provider = Object.hasOwn(config.providers, providerName) ? config.providers[providerName] : undefined;
      const model = render(s.model) || agent?.model || provider?.model || (provider?.type === 'command' ? undefined : config.defaultModel);
      if (agentName) out.agent = agentName;
      out.provider = providerName;
      if (model) out.model = model;
      let prompt = render(s.prompt) ?? '';
      if (s.type === 'handoff' && s.handoffFrom) {
        prompt = handoffPrompt(placeholderFor({ name: s.handoffFrom, field: 'output' }), prompt);
      }
      out.prompt = prompt;
      const reads = templateRefs(s.prompt ?? '').filter((r) => r.kind === 'step').length + (s.type === 'handoff' ? 1 : 0);
      const placeholders = reads * placeholderFor({ name: '', field: 'output' }).length;
      const tokensIn = Math.ceil(Math.max(0, prompt.length - placeholders) / 4) + reads * ASSUMED_RESULT_TOKENS;
      const cost = provider ? costOf(priceOf(provider, model), tokensIn, ASSUMED_OUTPUT_TOKENS) : 0;
      out.estimatedCostUsd = roundUsd(cost);
      if (!out.skipped) total += cost;
    }
    switch (s.type) {
      case 'condition': {
        const cond = decided.get(s.id) ?? { if: s.if ?? '', decidable: false };
        out.condition = cond;
        out.action = out.skipped
          ? 'skipped (what it depends on is skipped), and both of its branches with it'
          : cond.decidable && cond.result !== undefined
          ? `condition is ${cond.result}: ${cond.taken ? `runs "${cond.taken}"` : 'runs no branch'}${cond.notTaken ? `, skips "${cond.notTaken}"` : ''}`
          : `decided during the run (reads ${templateRefs(s.if ?? '').filter((r) => r.kind === 'step').map((r) => `"${r.name}"`).join(', ')}): then "${s.then ?? ''}"${s.else ? `, else "${s.else}"` : ''}`;
        break;
      }
      case 'parallel':
        out.subSteps = (s.parallel ?? []).map((sub) => plan(sub, level, s));
        out.estimatedCostUsd = roundUsd(out.subSteps.reduce((sum, x) => sum + (x.estimatedCostUsd ?? 0), 0));
        out.action = `runs ${out.subSteps.length} sub-steps together (${out.subSteps.map((x) => `"${x.id}"`).join(', ')}); output joined with "\\n---\\n"`;
        break;
      case 'delay': {
        const ms = s.delay === undefined ? undefined : parseDuration(s.delay);
        out.action = `waits ${s.delay ?? '?'}${ms === undefined ? '' : ` (${ms} ms)`}`;
        break;
      }
      case 'notify':
        out.prompt = render(s.notifyMsg) ?? '';
        out.action = `notifies ${render(s.notifyTo) || 'log'}`;
        break;
      case 'tool_call': {
        const input = (() => {
          try {
            return renderDeep(s.toolInput ?? {}, ctx, tOpts) as Record<string, unknown>;
          } catch (err) {
            out.error = (err as Error).message;
            return s.toolInput ?? {};
          }
        })();
        out.action =
          s.toolName === 'shell'
            ? `runs ${[input.command, ...(Array.isArray(input.args) ? input.args : [])].map((x) => JSON.stringify(x)).join(' ')}`
            : `sends HTTP ${String(input.method ?? 'GET').toUpperCase()} ${String(input.url ?? '')}`;
        break;
      }
      case 'skill':
        out.action = `runs skill "${s.skill ?? ''}"${s.skillArgs?.length ? ` with ${s.skillArgs.map((a) => JSON.stringify(render(a))).join(' ')}` : ''}`;
        break;
      case 'human':
        out.prompt = render(s.humanPrompt) ?? '';
        out.action = `waits for ${s.humanSubtype === 'input' ? 'an answer' : 'an approval'} (timeout ${s.humanTimeout ?? '72h'}, then ${s.humanOnTimeout ?? 'stop'})`;
        break;
      default:
        break;
    }
    return out;
  };

  const steps: DryRunStep[] = [];
  for (const id of levels.flat()) {
    const s = def.steps.find((x) => x.id === id);
    if (s) steps.push(plan(s, levelOf.get(id) ?? 0));
  }
  return {
    workflow: def.name,
    variables,
    missingVariables: missingVariables(def, opts.vars ?? {}),
    levels,
    steps,
    estimatedCostUsd: roundUsd(total),
  };
}
