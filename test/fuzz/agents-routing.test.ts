/**
 * Fuzzing the `_delegate` parser and planner (src/agents/delegate.ts) and the smart-dispatch tiers
 * (src/routing/tiers.ts). Properties: no input throws; blocks written as JSON anywhere in prose come back
 * exactly, in order; the plan respects the caps; the tiers only ever choose an agent they were given
 * (explicit, a binding's, a rule's, a keyword's agent, the session's or the default) in the documented order.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { composeResult, matchBrace, parseDelegations, planDelegation, type DelegateBlock } from '../../src/agents/delegate.js';
import { decideByTiers, type PatternTester } from '../../src/routing/tiers.js';
import type { SmartDispatchConfig } from '../../src/config/types.js';
import { anyJson, runs } from './fc.js';

/** Prose that holds braces, quotes and backslashes but never starts a block. */
const prose = fc.string({ maxLength: 30 }).map((s) => s.replace(/_delegate/g, '_d'));
const field = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('', '  ', '{', '}', '"}', '\\', '{"_delegate": {}}', 'coder', 'reviewer'));
const block = fc.record({ agent: field, task: field, reason: fc.option(field, { nil: undefined }), useRole: fc.boolean(), fenced: fc.boolean(), spaced: fc.boolean() });

describe('fuzz: _delegate blocks', () => {
  it('any text: no throw; blocks in order, non-overlapping, each at a "{"', () => {
    const text = fc.array(fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('{"_delegate":', '{ "_delegate" : {"agent": "a", "task": "t"}}', '}', '{', '"', '\\"', '```json\n', '{"_delegate": "x"}')), { maxLength: 10 }).map((a) => a.join(''));
    fc.assert(
      fc.property(text, (t) => {
        const blocks = parseDelegations(t);
        let last = -1;
        for (const b of blocks) {
          expect(b.index).toBeGreaterThan(last);
          expect(t[b.index]).toBe('{');
          const end = matchBrace(t, b.index);
          expect(end).toBeGreaterThan(b.index);
          expect(() => JSON.parse(t.slice(b.index, end))).not.toThrow();
          last = end - 1;
        }
      }),
      runs(300),
    );
  });

  it('blocks written as JSON among prose come back exactly and in order', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(prose, block), { maxLength: 4 }), prose, (parts, tail) => {
        let text = '';
        const want: Array<Omit<DelegateBlock, 'index'>> = [];
        for (const [p, b] of parts) {
          // Prose never leaves a string or brace open that would swallow the block: drop its quotes and braces.
          text += p.replace(/["{}\\]/g, '') + ' ';
          const inner: Record<string, string> = { [b.useRole ? 'role' : 'agent']: b.agent, task: b.task };
          if (b.reason !== undefined) inner.reason = b.reason;
          const json = b.spaced ? JSON.stringify({ _delegate: inner }, null, 2) : JSON.stringify({ _delegate: inner });
          text += b.fenced ? `\n\`\`\`json\n${json}\n\`\`\`\n` : json;
          const ne = (s: string | undefined) => (s !== undefined && s.trim().length > 0 ? s : undefined);
          const w: Omit<DelegateBlock, 'index'> = {};
          if (ne(b.agent)) w.agent = b.agent;
          if (ne(b.task)) w.task = b.task;
          if (ne(b.reason)) w.reason = b.reason as string;
          want.push(w);
        }
        text += tail.replace(/["{}\\]/g, '');
        const got = parseDelegations(text).map(({ index: _i, ...rest }) => rest);
        expect(got).toEqual(want);
      }),
      runs(300),
    );
  });

  it('matchBrace finds the end of any JSON object written out, whatever its strings hold', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 5 }), anyJson, { maxKeys: 4 }), (o) => {
        const json = JSON.stringify(o);
        expect(matchBrace(`${json}}}{`, 0)).toBe(json.length);
      }),
      runs(200),
    );
  });

  it('planDelegation: every block accepted or refused once, at most maxChildrenPerTask accepted, none past maxDepth; composeResult keeps every output whole', () => {
    const blocks = fc.array(fc.record({ index: fc.nat(), agent: fc.option(fc.constantFrom('a', 'b', 'ghost', 'constructor'), { nil: undefined }), task: fc.option(fc.string({ minLength: 1, maxLength: 8 }), { nil: undefined }) }), { maxLength: 8 });
    fc.assert(
      fc.property(blocks, fc.nat(4), fc.nat(5), fc.nat(4), (bs, depth, maxChildren, maxDepth) => {
        const clean = bs.map((b) => Object.fromEntries(Object.entries(b).filter(([, v]) => v !== undefined)) as unknown as DelegateBlock);
        const { accepted, refused } = planDelegation(clean, depth, { maxChildrenPerTask: maxChildren, maxDepth }, (n) => n === 'a' || n === 'b');
        expect(accepted.length + refused.length).toBe(clean.length);
        expect(accepted.length).toBeLessThanOrEqual(maxChildren);
        if (depth >= maxDepth) expect(accepted).toEqual([]);
        accepted.forEach((c, i) => {
          expect(c.ord).toBe(i);
          expect(['a', 'b']).toContain(c.agent);
        });
        for (const r of refused) expect(r.why.length).toBeGreaterThan(0);
        const outputs = accepted.map((c, i) => ({ agent: c.agent, status: i % 2 ? 'failed' : 'succeeded', output: `out ${c.task} ${'x'.repeat(i * 1000)}`, error: 'boom' }));
        const result = composeResult('own', outputs, []);
        let at = 0;
        for (const o of outputs) {
          const piece = o.status === 'succeeded' ? o.output : `(failed: boom)`;
          const found = result.indexOf(piece, at);
          expect(found).toBeGreaterThanOrEqual(at);
          at = found + piece.length;
        }
      }),
      runs(200),
    );
  });
});

const agentNames = ['lead', 'coder', 'writer'];
const sdConfig: fc.Arbitrary<SmartDispatchConfig> = fc.record({
  enabled: fc.constant(true),
  coordinator: fc.constant('lead'),
  defaultAgent: fc.constantFrom(...agentNames),
  classifyBudget: fc.constant(0.1),
  classifyTimeoutMs: fc.constant(1000),
  fallback: fc.constantFrom('smart' as const, 'coordinator' as const),
  bindings: fc.array(
    fc.record({ channel: fc.option(fc.constantFrom('discord', 'http'), { nil: undefined }), userId: fc.option(fc.constantFrom('u1', 'u2'), { nil: undefined }), channelId: fc.option(fc.constantFrom('c1', 'c2'), { nil: undefined }), guildId: fc.option(fc.constantFrom('g1'), { nil: undefined }), agent: fc.constantFrom(...agentNames) }),
    { maxLength: 3 },
  ).map((bs) => bs.map((b) => Object.fromEntries(Object.entries(b).filter(([, v]) => v !== undefined)) as unknown as SmartDispatchConfig['bindings'][number])),
  rules: fc.array(fc.record({ agent: fc.constantFrom(...agentNames), keywords: fc.array(fc.stringMatching(/^[a-zA-Zİı ]{1,5}$/).filter((k) => k.trim() !== ''), { maxLength: 2 }), patterns: fc.array(fc.constantFrom('fix(es)? #\\d+', '^urgent', 'bug'), { maxLength: 2 }) }), { maxLength: 3 }),
  review: fc.constant(false),
  reviewBudget: fc.constant(0.2),
  patternTimeoutMs: fc.constant(50),
});
const agents = fc.record({ lead: fc.record({ keywords: fc.array(fc.constantFrom('plan', '', ' ', 'Review'), { maxLength: 2 }) }), coder: fc.record({ keywords: fc.array(fc.constantFrom('fix', 'bug', 'TEST'), { maxLength: 2 }) }), writer: fc.record({ keywords: fc.constant([] as string[]) }) });
const tester: PatternTester = (p, t) => (new RegExp(p, 'i').test(t) ? 'match' : 'no-match');

describe('fuzz: smart-dispatch tiers', () => {
  it('no throw; the chosen agent is one the tiers were given, by the documented order', () => {
    const input = fc.record({
      prompt: fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('please fix #12', 'URGENT bug', 'plan the review', 'İstanbul', 'nothing here')),
      source: fc.constantFrom('http', 'discord', 'cli'),
      hints: fc.option(fc.record({ userId: fc.constantFrom('u1', 'u3'), channelId: fc.constantFrom('c1', 'c3'), guildId: fc.constantFrom('g1', 'g2') }, { requiredKeys: [] }), { nil: undefined }),
      explicitAgent: fc.option(fc.constantFrom('coder', 'anyone'), { nil: undefined }),
      session: fc.option(fc.record({ key: fc.constant('discord:1'), agent: fc.constantFrom('writer', 'gone', 'constructor') }), { nil: undefined }),
    });
    fc.assert(
      fc.property(input, sdConfig, agents, (inp, sd, ags) => {
        const d = decideByTiers(inp, sd, ags, tester);
        if (inp.explicitAgent !== undefined) {
          expect(d).toMatchObject({ kind: 'route', route: { agent: inp.explicitAgent, method: 'explicit' } });
          return;
        }
        const liveSession = inp.session && Object.hasOwn(ags, inp.session.agent) ? inp.session : undefined;
        if (d.kind === 'classify') {
          expect(sd.fallback).toBe('smart');
          expect(liveSession).toBeUndefined();
          return;
        }
        const r = d.route;
        expect(r.reason.length).toBeGreaterThan(0);
        expect(agentNames).toContain(r.agent);
        if (r.method === 'binding') expect(sd.bindings.map((b) => b.agent)).toContain(r.agent);
        if (r.method === 'rule') {
          expect(sd.rules.map((x) => x.agent)).toContain(r.agent);
          expect(liveSession).toBeUndefined();
        }
        if (r.method === 'session') expect(r.agent).toBe(liveSession?.agent);
        if (r.method === 'coordinator') expect(r.agent).toBe(sd.defaultAgent);
        if (r.method === 'keyword') {
          const kws = (ags as Record<string, { keywords: string[] }>)[r.agent]!.keywords.filter((k) => k.trim() !== '');
          expect(kws.some((k) => inp.prompt.toLowerCase().includes(k.toLowerCase()))).toBe(true);
        }
        // A rule's keyword found in the prompt wins over agents' keywords, the session aside.
        const first = sd.rules.findIndex((x) => x.keywords.some((k) => inp.prompt.toLowerCase().includes(k.toLowerCase())) || x.patterns.some((p) => tester(p, inp.prompt, 50) === 'match'));
        if (first >= 0 && r.method !== 'binding' && r.method !== 'session') expect(r).toMatchObject({ method: 'rule', agent: sd.rules[first]!.agent });
      }),
      runs(400),
    );
  });
});
