/**
 * The `smartDispatch` block, compiled (pure; the config loader calls it). Every agent it names must exist
 * and every pattern must be a valid regular expression: a config error names the rule, e.g.
 * `smartDispatch.rules.2.patterns.0`. `role` is accepted for `agent` (the original's name).
 */
import type { SmartDispatchBinding, SmartDispatchConfig, SmartDispatchRule } from '../config/types.js';
import type { TetoraError } from '../errors.js';
import { patternProblem } from './regex.js';

export interface RawSmartDispatch {
  enabled?: boolean | undefined;
  coordinator?: string | undefined;
  defaultAgent?: string | undefined;
  classifyBudget?: number | undefined;
  classifyTimeout?: number | undefined;
  classifyModel?: string | undefined;
  escalateModel?: string | undefined;
  fallback?: 'smart' | 'coordinator' | undefined;
  bindings?: Array<{ channel?: string | undefined; userId?: string | undefined; channelId?: string | undefined; guildId?: string | undefined; agent?: string | undefined; role?: string | undefined }> | undefined;
  rules?: Array<{ agent?: string | undefined; role?: string | undefined; keywords?: string[] | undefined; patterns?: string[] | undefined }> | undefined;
  review?: boolean | undefined;
  reviewAgent?: string | undefined;
  reviewBudget?: number | undefined;
  patternTimeout?: number | undefined;
}

type Bad = (path: string, value: unknown, expected: string) => TetoraError;

export const REVIEW_NOT_SUPPORTED =
  'smartDispatch.review is on, but review of routed tasks is not supported yet by this version of Tetora: routed tasks run without a review (reviewAgent and reviewBudget are checked, not used)';

export function resolveSmartDispatch(
  raw: RawSmartDispatch,
  agents: Record<string, unknown>,
  globalDefault: string | undefined,
  bad: Bad,
  warn: (message: string) => void,
): SmartDispatchConfig {
  const names = Object.keys(agents);
  const known = `one of the configured agents (${names.join(', ') || 'none defined'})`;
  const isAgent = (a: string) => Object.hasOwn(agents, a);
  const agentAt = (path: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    if (!isAgent(v)) throw bad(path, v, known);
    return v;
  };
  const enabled = raw.enabled ?? false;
  agentAt('smartDispatch.coordinator', raw.coordinator);
  agentAt('smartDispatch.defaultAgent', raw.defaultAgent);
  agentAt('smartDispatch.reviewAgent', raw.reviewAgent);
  const coordinator = raw.coordinator ?? raw.defaultAgent ?? globalDefault ?? names[0];
  const defaultAgent = raw.defaultAgent ?? globalDefault ?? coordinator;
  if (coordinator === undefined || defaultAgent === undefined) {
    if (enabled) throw bad('smartDispatch.coordinator', raw.coordinator, 'the name of an agent; smart dispatch needs at least one agent under "agents"');
  }

  const bindings: SmartDispatchBinding[] = (raw.bindings ?? []).map((b, i) => {
    const path = `smartDispatch.bindings.${i}`;
    const agent = b.agent ?? b.role;
    if (agent === undefined) throw bad(path, b, 'a binding naming its agent, e.g. {"channel": "discord", "channelId": "123", "agent": "coder"}');
    agentAt(`${path}.${b.agent !== undefined ? 'agent' : 'role'}`, agent);
    if (b.userId === undefined && b.channelId === undefined && b.guildId === undefined) {
      throw bad(path, b, 'a binding with at least one of userId, channelId or guildId (a binding matches on any one of them)');
    }
    const out: SmartDispatchBinding = { agent };
    if (b.channel !== undefined && b.channel !== '') out.channel = b.channel;
    if (b.userId !== undefined) out.userId = b.userId;
    if (b.channelId !== undefined) out.channelId = b.channelId;
    if (b.guildId !== undefined) out.guildId = b.guildId;
    return out;
  });

  const rules: SmartDispatchRule[] = (raw.rules ?? []).map((r, i) => {
    const path = `smartDispatch.rules.${i}`;
    const agent = r.agent ?? r.role;
    if (agent === undefined) throw bad(path, r, 'a rule naming its agent, e.g. {"agent": "coder", "keywords": ["bug"], "patterns": ["fix(es)? #\\\\d+"]}');
    agentAt(`${path}.${r.agent !== undefined ? 'agent' : 'role'}`, agent);
    const keywords = (r.keywords ?? []).filter((k) => k.trim() !== '');
    const patterns = r.patterns ?? [];
    patterns.forEach((p, j) => {
      const problem = p === '' ? 'an empty pattern matches every text' : patternProblem(p);
      if (problem) throw bad(`${path}.patterns.${j}`, p, `a valid regular expression (${problem})`);
    });
    if (keywords.length === 0 && patterns.length === 0) warn(`${path} (agent ${agent}) has no keywords and no patterns: it never matches`);
    return { agent, keywords, patterns };
  });

  const review = raw.review ?? false;
  if (review) warn(REVIEW_NOT_SUPPORTED);
  const out: SmartDispatchConfig = {
    enabled,
    coordinator: coordinator ?? '',
    defaultAgent: defaultAgent ?? '',
    classifyBudget: raw.classifyBudget ?? 0.1,
    classifyTimeoutMs: raw.classifyTimeout ?? 30_000,
    fallback: raw.fallback ?? 'smart',
    bindings,
    rules,
    review,
    reviewBudget: raw.reviewBudget ?? 0.2,
    patternTimeoutMs: raw.patternTimeout ?? 50,
  };
  if (raw.classifyModel !== undefined) out.classifyModel = raw.classifyModel;
  if (raw.escalateModel !== undefined) out.escalateModel = raw.escalateModel;
  if (raw.reviewAgent !== undefined) out.reviewAgent = raw.reviewAgent;
  return out;
}
