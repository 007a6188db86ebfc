/**
 * Smart dispatch, the pure tiers (no I/O, no model call): bindings → rules in order (keywords, then
 * patterns) → the agents' own keywords in config order → the fallback. Within a chat session, a rule,
 * keyword or model route sticks to the session's agent; an explicit agent or a binding to another agent
 * starts a new session. See README "Smart dispatch".
 */
import type { ResolvedAgent, SmartDispatchConfig } from '../config/types.js';
import type { PatternResult } from './regex.js';

export type RouteMethod = 'explicit' | 'binding' | 'rule' | 'keyword' | 'session' | 'coordinator' | 'llm' | 'llm-escalated' | 'fallback';
export type Confidence = 'high' | 'medium' | 'low';

/** What `tasks.route` holds (JSON) and what `tetora route` answers. */
export interface RouteRecord {
  agent: string;
  method: RouteMethod;
  confidence: Confidence;
  reason: string;
  /** The classifier tasks asked (the model routes), in order. */
  classifierTasks?: string[];
  /** This task starts a new chat session (its agent differs from the session's). */
  newSession?: boolean;
}

/** Where a task comes from, as bindings see it (`channel` defaults to the task's source). */
export interface RouteHints {
  channel?: string;
  userId?: string;
  channelId?: string;
  guildId?: string;
}

export interface RouteInput {
  prompt: string;
  source: string;
  hints?: RouteHints | undefined;
  /** The agent the request named, if any. */
  explicitAgent?: string | undefined;
  /** The chat session's agent (that of the latest earlier task of its session key), if the task has one. */
  session?: { key: string; agent: string } | undefined;
}

/** The tiers' answer: an agent chosen, or "ask the classifier". */
export type TierDecision = { kind: 'route'; route: RouteRecord } | { kind: 'classify'; notes: string[] };

export type PatternTester = (pattern: string, text: string, timeoutMs: number) => PatternResult;

const quote = (s: string) => JSON.stringify(s);

/** The binding a task matches: the source must be the binding's channel (when it names one), and any one id equal. */
export function matchBinding(sd: Pick<SmartDispatchConfig, 'bindings'>, source: string, hints: RouteHints | undefined): { index: number; on: string } | undefined {
  const channel = hints?.channel ?? source;
  for (const [index, b] of sd.bindings.entries()) {
    if (b.channel !== undefined && b.channel !== channel) continue;
    if (b.userId !== undefined && hints?.userId === b.userId) return { index, on: `userId ${b.userId}` };
    if (b.channelId !== undefined && hints?.channelId === b.channelId) return { index, on: `channelId ${b.channelId}` };
    if (b.guildId !== undefined && hints?.guildId === b.guildId) return { index, on: `guildId ${b.guildId}` };
  }
  return undefined;
}

/**
 * Rules in order, each rule's keywords (case-insensitive substrings) before its patterns
 * (case-insensitive regular expressions, under the time limit), then the agents' keywords in config
 * order. `notes` collects patterns that ran out of time (they count as no match).
 */
export function matchKeywords(
  sd: Pick<SmartDispatchConfig, 'rules' | 'patternTimeoutMs'>,
  agents: Record<string, Pick<ResolvedAgent, 'keywords'>>,
  prompt: string,
  test: PatternTester,
  notes: string[],
): RouteRecord | undefined {
  const lower = prompt.toLowerCase();
  for (const [i, rule] of sd.rules.entries()) {
    const kw = rule.keywords.find((k) => lower.includes(k.toLowerCase()));
    if (kw !== undefined) return { agent: rule.agent, method: 'rule', confidence: 'high', reason: `smartDispatch.rules[${i}] keyword ${quote(kw)} → ${rule.agent}` };
    for (const [j, p] of rule.patterns.entries()) {
      const r = test(p, prompt, sd.patternTimeoutMs);
      if (r === 'match') return { agent: rule.agent, method: 'rule', confidence: 'high', reason: `smartDispatch.rules[${i}] pattern ${quote(p)} → ${rule.agent}` };
      if (r === 'timeout') notes.push(`pattern smartDispatch.rules[${i}].patterns[${j}] ran past its ${sd.patternTimeoutMs} ms limit and was skipped`);
    }
  }
  for (const [name, a] of Object.entries(agents)) {
    const kw = a.keywords.find((k) => k.trim() !== '' && lower.includes(k.toLowerCase()));
    if (kw !== undefined) return { agent: name, method: 'keyword', confidence: 'medium', reason: `agent ${name}'s keyword ${quote(kw)}` };
  }
  return undefined;
}

function withNotes(reason: string, notes: string[]): string {
  return notes.length ? `${reason} (${notes.join('; ')})` : reason;
}

/**
 * Decide a task's agent by the tiers. An explicit agent is kept (method `explicit`); the caller only
 * routes tasks sent without one, but the explicit case tells whether a new session starts.
 */
export function decideByTiers(input: RouteInput, sd: SmartDispatchConfig, agents: Record<string, Pick<ResolvedAgent, 'keywords'>>, test: PatternTester): TierDecision {
  const session = input.session && Object.hasOwn(agents, input.session.agent) ? input.session : undefined;
  const fresh = (agent: string) => (session && session.agent !== agent ? { newSession: true } : {});
  if (input.explicitAgent !== undefined) {
    const a = input.explicitAgent;
    const why = session && session.agent !== a ? `; the chat session ${session.key} was with ${session.agent}, so a new session starts` : '';
    return { kind: 'route', route: { agent: a, method: 'explicit', confidence: 'high', reason: `the request named agent ${a}${why}`, ...fresh(a) } };
  }
  const b = matchBinding(sd, input.source, input.hints);
  if (b) {
    const agent = (sd.bindings[b.index] as { agent: string }).agent;
    const why = session && session.agent !== agent ? `; the chat session ${session.key} was with ${session.agent}, so a new session starts` : '';
    return { kind: 'route', route: { agent, method: 'binding', confidence: 'high', reason: `smartDispatch.bindings[${b.index}] (${b.on}) → ${agent}${why}`, ...fresh(agent) } };
  }
  const notes: string[] = [];
  const kw = matchKeywords(sd, agents, input.prompt, test, notes);
  if (session) {
    const would = kw ? (kw.agent === session.agent ? `; ${kw.reason} agrees` : `; ${kw.reason} would have chosen ${kw.agent}, but a chat keeps its agent (name an agent, or use a binding, to switch)`) : '';
    return {
      kind: 'route',
      route: { agent: session.agent, method: 'session', confidence: 'high', reason: withNotes(`the chat session ${session.key} is with ${session.agent}${would}`, notes) },
    };
  }
  if (kw) return { kind: 'route', route: { ...kw, reason: withNotes(kw.reason, notes) } };
  if (sd.fallback === 'coordinator') {
    return {
      kind: 'route',
      route: { agent: sd.defaultAgent, method: 'coordinator', confidence: 'low', reason: withNotes(`no binding, rule or keyword matched; fallback "coordinator" sends it to the default agent ${sd.defaultAgent} without a model call`, notes) },
    };
  }
  return { kind: 'classify', notes };
}
