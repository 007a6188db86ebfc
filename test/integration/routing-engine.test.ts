/**
 * Smart dispatch in the real engine (real SQLite, real child processes): the tiers at accept, the
 * classifier task (source `route`) through a fake provider for good JSON, bad JSON, an unknown agent, low
 * confidence with escalation, a timeout and a spent budget, sticky chat sessions, and a rule pattern that
 * would backtrack for ever.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Harness, engineLifecycle, waitTerminal } from '../helpers/engine-harness.js';
import type { Engine } from '../../src/engine/engine.js';
import type { TaskRow } from '../../src/store/tasks.js';

const ROUTE_AGENT = resolve(import.meta.dirname, '../helpers/route-agent.mjs');
const { started } = engineLifecycle();

/** The original's example config (spec §1) with fake providers: `lead` classifies through a fake claude. */
function harness(smart: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Harness & { routeLog: string } {
  const h = new Harness() as Harness & { routeLog: string };
  h.routeLog = join(h.home, 'route-log.jsonl');
  h.writeConfig({
    maxConcurrent: 4,
    defaultModel: 'sonnet',
    defaultProvider: 'fake',
    defaultPermissionMode: 'acceptEdits',
    defaultWorkdir: h.home,
    retry: { base: 20, cap: 200, maxAttempts: 1 },
    providers: {
      fake: { type: 'command', path: process.execPath, args: [ROUTE_AGENT], env: { ROUTE_LOG: h.routeLog } },
      cl: { type: 'claude-code', path: ROUTE_AGENT, env: { ROUTE_LOG: h.routeLog } },
    },
    agents: {
      lead: { model: 'opus', provider: 'cl', description: 'Plans and reviews', keywords: ['plan', 'review'] },
      coder: { model: 'sonnet', provider: 'fake', permissionMode: 'bypassPermissions', keywords: ['fix', 'bug', 'test'], timeout: '7m', budget: 3 },
      writer: { model: 'sonnet', provider: 'fake', description: 'Writes prose', keywords: ['essay'] },
    },
    smartDispatch: { enabled: true, coordinator: 'lead', defaultAgent: 'lead', classifyBudget: 0.05, escalateModel: 'big-model', ...smart },
    ...extra,
  });
  return h;
}

function route(t: TaskRow): Record<string, unknown> {
  return JSON.parse(t.route ?? 'null') as Record<string, unknown>;
}

function classifiersOf(e: Engine, id: string): TaskRow[] {
  return e.store
    .links(id)
    .from.filter((l) => l.kind === 'route')
    .map((l) => e.get(l.toTask) as TaskRow);
}

async function routed(e: Engine, prompt: string, extra: Record<string, unknown> = {}): Promise<{ task: TaskRow; classifiers: TaskRow[] }> {
  const { task } = e.enqueue({ prompt, ...extra }, { source: 'http' });
  expect(task.status).toBe('routing');
  expect(task.agent).toBeNull();
  const [done] = await waitTerminal(e, [task.id]);
  const classifiers = classifiersOf(e, task.id);
  await waitTerminal(e, classifiers.map((c) => c.id));
  return { task: done as TaskRow, classifiers: classifiers.map((c) => e.get(c.id) as TaskRow) };
}

describe('smart dispatch: the tiers at accept', () => {
  it('routes by agent keywords in config order, records the route and derives the agent\'s settings', async () => {
    const e = await started(harness());
    // "fix" (coder) and "plan" (lead): lead comes first in the config.
    const { task } = e.enqueue({ prompt: 'plan how to fix it' }, { source: 'http' });
    expect(task.status).toBe('queued');
    expect(task.agent).toBe('lead');
    expect(route(task)).toMatchObject({ agent: 'lead', method: 'keyword', confidence: 'medium' });
    const { task: c } = e.enqueue({ prompt: 'FIX the login' }, { source: 'http' });
    expect(c).toMatchObject({ agent: 'coder', provider: 'fake', model: 'sonnet', permissionMode: 'bypassPermissions', timeoutMs: 420_000, budgetUsd: 3 });
    const [done] = await waitTerminal(e, [c.id]);
    expect(done?.status).toBe('succeeded');
  });

  it('rules beat agent keywords, patterns match case-insensitively, bindings beat everything', async () => {
    const e = await started(
      harness({
        rules: [
          { agent: 'writer', keywords: ['release notes'] },
          { role: 'writer', patterns: ['^draft\\s+#\\d+'] },
        ],
        bindings: [{ channel: 'discord', channelId: '42', agent: 'coder' }],
      }),
    );
    // "review" is lead's keyword, but the rule comes first.
    expect(route(e.enqueue({ prompt: 'Review the Release Notes' }, { source: 'http' }).task)).toMatchObject({ agent: 'writer', method: 'rule', confidence: 'high' });
    expect(route(e.enqueue({ prompt: 'DRAFT #12 for the plan' }, { source: 'http' }).task)).toMatchObject({ agent: 'writer', method: 'rule' });
    const bound = e.enqueue({ prompt: 'plan the release notes' }, { source: 'discord', routeHints: { channelId: '42', userId: '7' } }).task;
    expect(bound.agent).toBe('coder');
    expect(route(bound)).toMatchObject({ method: 'binding', confidence: 'high' });
    // The same channel id from another source does not match the binding.
    expect(e.enqueue({ prompt: 'plan it' }, { source: 'http', routeHints: { channelId: '42' } }).task.agent).toBe('lead');
  });

  it('fallback "coordinator" sends an unmatched task to the default agent without a model call', async () => {
    const e = await started(harness({ fallback: 'coordinator', defaultAgent: 'writer' }));
    const { task } = e.enqueue({ prompt: 'hello there' }, { source: 'http' });
    expect(task).toMatchObject({ status: 'queued', agent: 'writer' });
    expect(route(task)).toMatchObject({ method: 'coordinator', confidence: 'low' });
    expect(classifiersOf(e, task.id)).toEqual([]);
  });

  it('a catastrophic pattern is cut off by its time limit and counts as no match', async () => {
    const e = await started(harness({ fallback: 'coordinator', rules: [{ agent: 'coder', patterns: ['(a+)+$'] }] }));
    const { task } = e.enqueue({ prompt: `${'a'.repeat(60)}b` }, { source: 'http' });
    expect(task.agent).toBe('lead');
    expect(String(route(task).reason)).toContain('smartDispatch.rules[0].patterns[0] ran past its 50 ms limit');
  });

  it('smart dispatch off: a task without an agent gets defaultAgent, no route', async () => {
    const e = await started(harness({ enabled: false }, { defaultAgent: 'writer' }));
    const { task } = e.enqueue({ prompt: 'fix the bug' }, { source: 'http' });
    expect(task).toMatchObject({ status: 'queued', agent: 'writer', route: null });
  });
});

describe('smart dispatch: the classifier task', () => {
  it('good JSON: the classifier (source route, the coordinator, classifyBudget) picks the agent', async () => {
    const h = harness();
    const e = await started(h);
    const { task, classifiers } = await routed(e, 'Compose a limerick @@route=writer:high@@', { timeout: '9m' });
    expect(task).toMatchObject({ status: 'succeeded', agent: 'writer', provider: 'fake', timeoutMs: 540_000 });
    expect(route(task)).toMatchObject({ agent: 'writer', method: 'llm', confidence: 'high', reason: 'fake classifier chose writer', classifierTasks: [classifiers[0]?.id] });
    expect(classifiers).toHaveLength(1);
    expect(classifiers[0]).toMatchObject({ source: 'route', parentId: task.id, agent: 'lead', provider: 'cl', budgetUsd: 0.05, status: 'succeeded', sessionKey: null });
    expect(classifiers[0]?.prompt).toContain('Valid agent names (use one exactly as written): "lead", "coder", "writer"');
    expect(classifiers[0]?.prompt).toContain('- coder: (no description) (keywords: fix, bug, test)');
    const events = e.events(task.id).map((ev) => ev.type).filter((t) => !t.startsWith('provider.'));
    expect(events).toEqual(['queued', 'queued', 'running', 'succeeded']);
  });

  it('bad JSON and an unknown agent fall back to the default agent with confidence low', async () => {
    const e = await started(harness());
    const bad = await routed(e, 'Say hi @@routeRaw=agent: writer please@@');
    expect(bad.task.agent).toBe('lead');
    expect(route(bad.task)).toMatchObject({ method: 'fallback', confidence: 'low' });
    expect(String(route(bad.task).reason)).toContain('holds no JSON object');
    const ghost = await routed(e, 'Say hi @@route=ghost:high@@');
    expect(ghost.task.agent).toBe('lead');
    expect(route(ghost.task)).toMatchObject({ method: 'fallback', confidence: 'low' });
    expect(String(route(ghost.task).reason)).toContain('named agent "ghost", which is not configured');
  });

  it('low confidence asks once more with escalateModel (llm-escalated)', async () => {
    const h = harness();
    const e = await started(h);
    const { task, classifiers } = await routed(e, 'Something vague @@route=writer:low@@ @@route2=coder:high@@');
    expect(task.agent).toBe('coder');
    expect(route(task)).toMatchObject({ method: 'llm-escalated', confidence: 'high', classifierTasks: classifiers.map((c) => c.id) });
    expect(classifiers).toHaveLength(2);
    expect(classifiers.map((c) => c.model)).toEqual(['opus', 'big-model']);
    const log = readFileSync(h.routeLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { stage: number; model: string });
    expect(log.filter((l) => l.stage > 0).map((l) => [l.stage, l.model])).toEqual([
      [1, 'opus'],
      [2, 'big-model'],
    ]);
  });

  it('a classifier that runs past classifyTimeout: the default agent, confidence low', async () => {
    const e = await started(harness({ classifyTimeout: '1s' }));
    const { task, classifiers } = await routed(e, 'Ponder @@route=writer:high@@ @@routeSleep=20000@@');
    expect(classifiers[0]?.status).toBe('timed_out');
    expect(task.agent).toBe('lead');
    expect(route(task)).toMatchObject({ method: 'fallback', confidence: 'low' });
    expect(String(route(task).reason)).toContain('timed out');
  });

  it('a route-only request whose caller has already gone (an aborted signal) stops waiting at once; the classifier goes on', async () => {
    const e = await started(harness({ classifyTimeout: '2s' }));
    await expect(e.route({ prompt: 'Ponder @@route=writer:high@@ @@routeSleep=20000@@' }, { source: 'http' }, AbortSignal.abort())).rejects.toMatchObject({ code: 'TET_ERR_ENGINE_STOPPED' });
    const [classifier] = e.store.list({ source: 'route', limit: 10 });
    expect(classifier).toBeDefined();
    await waitTerminal(e, [classifier!.id]);
  });

  it('a classifier that spends more than classifyBudget: the default agent, confidence low', async () => {
    const e = await started(harness({ defaultAgent: 'coder' }));
    const { task, classifiers } = await routed(e, 'Ponder @@route=writer:high@@ @@routeCost=0.5@@');
    expect(classifiers[0]).toMatchObject({ status: 'failed', errorClass: 'budget' });
    expect(task.agent).toBe('coder');
    expect(route(task)).toMatchObject({ method: 'fallback', confidence: 'low' });
    expect(String(route(task).reason)).toContain('ran out of budget');
  });

  it('cancelling a task being routed cancels its classifier too, and the task stays cancelled', async () => {
    const e = await started(harness());
    const { task } = e.enqueue({ prompt: 'Slow @@route=writer:high@@ @@routeSleep=30000@@' }, { source: 'http' });
    const [classifier] = classifiersOf(e, task.id);
    await e.cancel(task.id);
    await waitTerminal(e, [classifier?.id as string]);
    // The cancel cascades to what the task begot (its classifier, through parent_id): nothing more is spent on it.
    expect(e.get(classifier?.id as string)).toMatchObject({ status: 'cancelled' });
    expect(e.get(task.id)).toMatchObject({ status: 'cancelled', agent: null });
  });
});

describe('smart dispatch: sticky chat sessions', () => {
  it('a keyword route keeps the session\'s agent; an explicit agent starts a new session', async () => {
    const h = harness();
    const e = await started(h);
    const key = 'chat:1';
    const first = e.enqueue({ prompt: 'write an essay', sessionKey: key }, { source: 'http' }).task;
    expect(first.agent).toBe('writer');
    await waitTerminal(e, [first.id]);
    // "fix" would choose coder; the chat stays with writer.
    const second = e.enqueue({ prompt: 'fix the second paragraph', sessionKey: key }, { source: 'http' }).task;
    expect(second.agent).toBe('writer');
    expect(route(second)).toMatchObject({ method: 'session', confidence: 'high' });
    expect(String(route(second).reason)).toContain('would have chosen coder');
    await waitTerminal(e, [second.id]);
    const before = e.sessions.active(key);
    expect(before?.providerSessionId).toBeTruthy();
    // An explicit agent: a new session.
    const third = e.enqueue({ prompt: 'fix it properly', sessionKey: key, agent: 'coder' }, { source: 'http' }).task;
    expect(third.agent).toBe('coder');
    expect(route(third)).toMatchObject({ agent: 'coder', method: 'explicit', confidence: 'high', newSession: true });
    const [done] = await waitTerminal(e, [third.id]);
    expect(done?.status).toBe('succeeded');
    const recovery = e.events(third.id).find((ev) => ev.type === 'session_recovery');
    expect(recovery?.data).toMatchObject({ newSession: true });
    expect(String(recovery?.data.reason)).toContain('was with writer, so a new session starts');
    const log = readFileSync(h.routeLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { taskId: string; session: string | null });
    expect(log.find((l) => l.taskId === second.id)?.session).toBe(before?.providerSessionId);
    expect(log.find((l) => l.taskId === third.id)?.session).toBeNull();
    expect(e.sessions.active(key)?.providerSessionId).not.toBe(before?.providerSessionId);
    // The next keyword route sticks to the new agent.
    expect(e.enqueue({ prompt: 'write an essay about it', sessionKey: key }, { source: 'http' }).task.agent).toBe('coder');
    expect(existsSync(h.routeLog)).toBe(true);
  });

  it('after a fresh session is asked for (Discord !new), routing starts afresh too', async () => {
    const e = await started(harness());
    const key = 'discord:9';
    const first = e.enqueue({ prompt: 'write an essay', sessionKey: key }, { source: 'http' }).task;
    await waitTerminal(e, [first.id]);
    expect(e.enqueue({ prompt: 'fix that', sessionKey: key }, { source: 'http' }).task.agent).toBe('writer');
    await waitTerminal(e, e.list({ status: ['queued', 'running'] }).map((t) => t.id));
    expect(e.sessions.archive(key, 'a fresh session was asked for (!new)')).toBe(true);
    const after = e.enqueue({ prompt: 'fix the login', sessionKey: key }, { source: 'http' }).task;
    expect(after.agent).toBe('coder');
    expect(route(after)).toMatchObject({ method: 'keyword' });
  });

  it('a binding to another agent starts a new session too', async () => {
    const e = await started(harness({ bindings: [{ channel: 'discord', userId: '9', agent: 'coder' }] }));
    const key = 'discord:5';
    const first = e.enqueue({ prompt: 'write an essay', sessionKey: key }, { source: 'discord', routeHints: { userId: '1' } }).task;
    expect(first.agent).toBe('writer');
    await waitTerminal(e, [first.id]);
    const bound = e.enqueue({ prompt: 'write more', sessionKey: key }, { source: 'discord', routeHints: { userId: '9' } }).task;
    expect(bound.agent).toBe('coder');
    expect(route(bound)).toMatchObject({ method: 'binding', newSession: true });
    await waitTerminal(e, [bound.id]);
    expect(e.events(bound.id).find((ev) => ev.type === 'session_recovery')?.data).toMatchObject({ newSession: true });
  });
});
