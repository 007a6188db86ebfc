/**
 * Smart dispatch, the pure parts: the `smartDispatch` block as the loader compiles it (errors naming the
 * rule), the tiers on the original's example config (spec §1), the classifier's prompt and the reading of
 * its answer, and rule patterns under their time limit.
 */
import { describe, expect, it } from 'vitest';
import { configHomes, load, thrown } from '../helpers/config.js';
import { decideByTiers, matchBinding, type RouteInput } from '../../src/routing/tiers.js';
import { classifierPrompt, parseClassifierAnswer } from '../../src/routing/classifier.js';
import { patternProblem, testPattern } from '../../src/routing/regex.js';
import { REVIEW_NOT_SUPPORTED } from '../../src/routing/config.js';
import type { ResolvedConfig } from '../../src/config/types.js';

const home = configHomes('tetora-routing-');

/** The original's example config (spec §1), its smartDispatch block given rules and bindings. */
function example(smartDispatch: Record<string, unknown> = {}, agents?: Record<string, unknown>) {
  return {
    'config.json': {
      defaultModel: 'sonnet',
      agents: agents ?? {
        lead: { model: 'opus', description: 'Plans and reviews', keywords: ['plan', 'review'] },
        coder: { model: 'sonnet', permissionMode: 'bypassPermissions', keywords: ['fix', 'bug', 'test'] },
        docs: { description: 'Writes docs', keywords: ['readme', 'plan'] },
      },
      smartDispatch: { enabled: true, coordinator: 'lead', defaultAgent: 'lead', ...smartDispatch },
    },
  };
}

function loaded(sd: Record<string, unknown> = {}): ResolvedConfig {
  return load(home(example(sd))).config;
}

function decide(config: ResolvedConfig, input: Partial<RouteInput> & { prompt: string }) {
  return decideByTiers({ source: 'http', ...input }, config.smartDispatch!, config.agents, testPattern);
}

describe('smartDispatch config', () => {
  it('compiles the original shape with its defaults; role is accepted for agent', () => {
    const { config, warnings } = load(home(example({ rules: [{ role: 'coder', keywords: ['deploy'] }], bindings: [{ channel: 'discord', userId: '5', role: 'docs' }] })));
    expect(config.smartDispatch).toEqual({
      enabled: true,
      coordinator: 'lead',
      defaultAgent: 'lead',
      classifyBudget: 0.1,
      classifyTimeoutMs: 30_000,
      fallback: 'smart',
      bindings: [{ channel: 'discord', userId: '5', agent: 'docs' }],
      rules: [{ agent: 'coder', keywords: ['deploy'], patterns: [] }],
      review: false,
      reviewBudget: 0.2,
      patternTimeoutMs: 50,
    });
    expect(warnings).toEqual([]);
  });

  it('an unknown agent is a config error naming the rule or binding', () => {
    const rule = thrown(() => load(home(example({ rules: [{ agent: 'coder', keywords: ['x'] }, { agent: 'ghost', keywords: ['y'] }] }))));
    expect(rule.code).toBe('TET_ERR_CONFIG_INVALID');
    expect(rule.message).toContain('smartDispatch.rules.1.agent is "ghost", expected one of the configured agents (lead, coder, docs)');
    const role = thrown(() => load(home(example({ rules: [{ role: 'ghost', keywords: ['y'] }] }))));
    expect(role.message).toContain('smartDispatch.rules.0.role is "ghost"');
    const binding = thrown(() => load(home(example({ bindings: [{ channel: 'discord', userId: '1', agent: 'nobody' }] }))));
    expect(binding.message).toContain('smartDispatch.bindings.0.agent is "nobody"');
    expect(thrown(() => load(home(example({ coordinator: 'boss' })))).message).toContain('smartDispatch.coordinator is "boss"');
    expect(thrown(() => load(home(example({ reviewAgent: 'qa' })))).message).toContain('smartDispatch.reviewAgent is "qa"');
    expect(thrown(() => load(home(example({ rules: [{ keywords: ['y'] }] })))).message).toContain('smartDispatch.rules.0 is');
  });

  it('an invalid regular expression is a config error naming the pattern', () => {
    const e = thrown(() => load(home(example({ rules: [{ agent: 'coder', patterns: ['ok'] }, { agent: 'docs', keywords: ['a'], patterns: ['fine', 'broken(['] }] }))));
    expect(e.code).toBe('TET_ERR_CONFIG_INVALID');
    expect(e.message).toContain('smartDispatch.rules.1.patterns.1 is "broken([", expected a valid regular expression');
    expect(e.details).toMatchObject({ path: 'smartDispatch.rules.1.patterns.1' });
  });

  it('review is validated and warned about: review of routed tasks is not supported yet', () => {
    const { config, warnings } = load(home(example({ review: true, reviewAgent: 'coder', reviewBudget: 0.5 })));
    expect(config.smartDispatch).toMatchObject({ review: true, reviewAgent: 'coder', reviewBudget: 0.5 });
    expect(warnings).toEqual([expect.stringContaining(REVIEW_NOT_SUPPORTED)]);
    expect(thrown(() => load(home(example({ reviewBudget: -1 })))).message).toContain('smartDispatch.reviewBudget');
    expect(thrown(() => load(home(example({ fallback: 'llm' })))).message).toContain('smartDispatch.fallback is "llm", expected one of smart, coordinator');
  });

  it('enabled with no agent at all is an error; the coordinator defaults to defaultAgent', () => {
    expect(thrown(() => load(home(example({ coordinator: undefined, defaultAgent: undefined }, {})))).message).toContain('smartDispatch.coordinator');
    const { config } = load(home({ 'config.json': { defaultAgent: 'b', agents: { a: {}, b: {} }, smartDispatch: { enabled: true } } }));
    expect(config.smartDispatch).toMatchObject({ coordinator: 'b', defaultAgent: 'b' });
  });
});

describe('the tiers (the original\'s example config)', () => {
  it('agent keywords in config order: a tie goes to the agent written first, whatever the prompt order', () => {
    const c = loaded({ fallback: 'coordinator' });
    // "plan" is a keyword of lead and of docs: lead is first in the config.
    expect(decide(c, { prompt: 'readme plan' })).toMatchObject({ kind: 'route', route: { agent: 'lead', method: 'keyword', confidence: 'medium' } });
    expect(decide(c, { prompt: 'update the README' })).toMatchObject({ route: { agent: 'docs', method: 'keyword' } });
    // Over and over: the same answer (the original's map order was not).
    for (let i = 0; i < 20; i++) expect(decide(c, { prompt: 'a plan to fix' }).kind === 'route' && (decide(c, { prompt: 'a plan to fix' }) as { route: { agent: string } }).route.agent).toBe('lead');
  });

  it('rules come before agent keywords, in order; keywords before patterns; both case-insensitive', () => {
    const c = loaded({
      rules: [
        { agent: 'docs', keywords: ['Release Notes'] },
        { agent: 'coder', patterns: ['^hotfix[- ]\\d+'] },
        { agent: 'docs', patterns: ['hotfix'] },
      ],
    });
    expect(decide(c, { prompt: 'review the RELEASE NOTES' })).toMatchObject({ route: { agent: 'docs', method: 'rule', confidence: 'high', reason: 'smartDispatch.rules[0] keyword "Release Notes" → docs' } });
    expect(decide(c, { prompt: 'HOTFIX-12: fix the plan' })).toMatchObject({ route: { agent: 'coder', method: 'rule', reason: 'smartDispatch.rules[1] pattern "^hotfix[- ]\\\\d+" → coder' } });
    expect(decide(c, { prompt: 'a HotFix for the plan' })).toMatchObject({ route: { agent: 'docs', method: 'rule' } });
    // Nothing matches: the classifier.
    expect(decide(c, { prompt: 'hello' })).toEqual({ kind: 'classify', notes: [] });
  });

  it('bindings come first: the channel must be the source, any one id matches', () => {
    const c = loaded({
      rules: [{ agent: 'docs', keywords: ['fix'] }],
      bindings: [
        { channel: 'discord', channelId: '100', agent: 'coder' },
        { channel: 'discord', guildId: '9', userId: '7', agent: 'docs' },
        { userId: '8', agent: 'lead' },
      ],
    });
    const sd = c.smartDispatch!;
    expect(decide(c, { prompt: 'fix it', source: 'discord', hints: { channelId: '100', userId: '7' } })).toMatchObject({ route: { agent: 'coder', method: 'binding', confidence: 'high', reason: 'smartDispatch.bindings[0] (channelId 100) → coder' } });
    expect(matchBinding(sd, 'discord', { guildId: '9' })).toEqual({ index: 1, on: 'guildId 9' });
    expect(matchBinding(sd, 'discord', { userId: '7' })).toEqual({ index: 1, on: 'userId 7' });
    expect(matchBinding(sd, 'http', { channelId: '100' })).toBeUndefined();
    // A binding's channel may be given by the hints (a source that relays another's messages).
    expect(matchBinding(sd, 'http', { channel: 'discord', channelId: '100' })).toEqual({ index: 0, on: 'channelId 100' });
    // A binding without a channel matches every source.
    expect(matchBinding(sd, 'cli', { userId: '8' })).toEqual({ index: 2, on: 'userId 8' });
  });

  it('fallback coordinator: the default agent, no classifier', () => {
    const c = loaded({ fallback: 'coordinator', defaultAgent: 'docs' });
    expect(decide(c, { prompt: 'hello' })).toMatchObject({ route: { agent: 'docs', method: 'coordinator', confidence: 'low' } });
  });

  it('a chat session keeps its agent for rule, keyword and model routes; an explicit agent or another binding starts a new session', () => {
    const c = loaded({ rules: [{ agent: 'docs', keywords: ['readme'] }], bindings: [{ channel: 'discord', userId: '7', agent: 'lead' }] });
    const session = { key: 'discord:1', agent: 'coder' };
    expect(decide(c, { prompt: 'update the readme', session })).toMatchObject({ route: { agent: 'coder', method: 'session', confidence: 'high' } });
    expect((decide(c, { prompt: 'update the readme', session }) as { route: { reason: string } }).route.reason).toBe(
      'the chat session discord:1 is with coder; smartDispatch.rules[0] keyword "readme" → docs would have chosen docs, but a chat keeps its agent (name an agent, or use a binding, to switch)',
    );
    // What the classifier would have been asked: the session's agent, no model call.
    expect(decide(c, { prompt: 'hello', session })).toMatchObject({ route: { agent: 'coder', method: 'session' } });
    expect(decide(c, { prompt: 'hello', session, explicitAgent: 'docs' })).toMatchObject({ route: { agent: 'docs', method: 'explicit', newSession: true } });
    expect(decide(c, { prompt: 'hello', session, explicitAgent: 'coder' }).kind === 'route' && 'newSession' in (decide(c, { prompt: 'hello', session, explicitAgent: 'coder' }) as { route: object }).route).toBe(false);
    expect(decide(c, { prompt: 'hello', session, source: 'discord', hints: { userId: '7' } })).toMatchObject({ route: { agent: 'lead', method: 'binding', newSession: true } });
    // A session whose agent left the config routes as a new one.
    expect(decide(c, { prompt: 'update the readme', session: { key: 'k', agent: 'gone' } })).toMatchObject({ route: { agent: 'docs', method: 'rule' } });
  });

  it('a catastrophic pattern does not hang routing: it runs out of time and counts as no match', () => {
    const c = loaded({ fallback: 'coordinator', rules: [{ agent: 'coder', patterns: ['(a+)+$'] }, { agent: 'docs', patterns: ['b$'] }] });
    const d = decide(c, { prompt: `${'a'.repeat(5000)}b${'a'.repeat(40)}c` });
    expect(d).toMatchObject({ route: { agent: 'lead', method: 'coordinator' } });
    expect((d as { route: { reason: string } }).route.reason).toContain('pattern smartDispatch.rules[0].patterns[0] ran past its 50 ms limit and was skipped');
  });
});

describe('rule patterns', () => {
  it('match case-insensitively; time out instead of hanging', () => {
    expect(testPattern('fix(es)? #\\d+', 'FIXES #12', 50)).toBe('match');
    expect(testPattern('^deploy$', 'deploy now', 50)).toBe('no-match');
    expect(testPattern('(a+)+$', `${'a'.repeat(40)}b`, 20)).toBe('timeout');
    // The context is still usable after a timeout.
    expect(testPattern('b', 'ABC', 50)).toBe('match');
    expect(patternProblem('(')).toMatch(/Unterminated group|Invalid regular expression/);
    expect(patternProblem('a|b')).toBeUndefined();
  });
});

describe('the classifier', () => {
  const agents = { lead: { description: 'Plans', keywords: ['plan'] }, coder: { description: '', keywords: [] } };

  it('its prompt lists the agents, their descriptions and keywords, and the exact valid names', () => {
    const p = classifierPrompt(agents, 'please do X');
    expect(p).toContain('- lead: Plans (keywords: plan)\n- coder: (no description)\n');
    expect(p).toContain('Valid agent names (use one exactly as written): "lead", "coder"');
    expect(p).toContain('--- request ---\nplease do X\n--- end of request ---');
    expect(classifierPrompt(agents, 'x', true)).toContain('was not confident');
  });

  it('reads JSON wrapped in text, role for agent, missing confidence as medium; refuses the rest with why', () => {
    const names = Object.keys(agents);
    expect(parseClassifierAnswer('Here: {"agent": "coder", "confidence": "HIGH", "reason": "code"} done', names)).toEqual({ ok: true, agent: 'coder', confidence: 'high', reason: 'code' });
    expect(parseClassifierAnswer('{"role": "lead"}', names)).toEqual({ ok: true, agent: 'lead', confidence: 'medium', reason: '(the classifier gave no reason)' });
    expect(parseClassifierAnswer('no idea', names)).toMatchObject({ ok: false, problem: expect.stringContaining('holds no JSON object') });
    expect(parseClassifierAnswer('{agent: lead}', names)).toMatchObject({ ok: false, problem: expect.stringContaining('not valid JSON') });
    expect(parseClassifierAnswer('{"agent": ""}', names)).toMatchObject({ ok: false, problem: expect.stringContaining('names no agent') });
    expect(parseClassifierAnswer('{"agent": "ghost", "confidence": "high"}', names)).toMatchObject({ ok: false, problem: expect.stringContaining('"ghost", which is not configured') });
  });
});
