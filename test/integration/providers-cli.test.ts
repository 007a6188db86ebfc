import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import { groupAlive } from '../../src/providers/spawn.js';
import type { FakeStep } from '../fake-model-server/server.mjs';
import { waitFor, waitTerminal } from '../helpers/engine-harness.js';
import { CLAUDE_KEY, CODEX_KEY, ProviderHarness } from '../helpers/provider-harness.js';

/**
 * The REAL claude and codex CLIs (pinned devDependencies) driven through the engine against the fake model
 * server. Each case scripts the server, runs a task and checks what the engine recorded.
 */

interface CliCase {
  agent: 'claude' | 'codex';
  family: 'anthropic' | 'openai';
  key: string;
  tool: FakeStep;
  overloaded: FakeStep;
  unauthorized: FakeStep;
  unauthorizedText: RegExp;
  /** The body of a request after the first task of a session: must carry the first prompt. */
  firstPromptSeen(body: unknown): boolean;
}

const cases: CliCase[] = [
  {
    agent: 'claude',
    family: 'anthropic',
    key: CLAUDE_KEY,
    tool: { type: 'tool_use', name: 'Bash', input: { command: 'echo tool-says-hi', description: 'say hi' } },
    overloaded: { type: 'error', status: 529, errorType: 'overloaded_error', message: 'Overloaded' },
    unauthorized: { type: 'error', status: 401, errorType: 'authentication_error', message: 'invalid x-api-key' },
    unauthorizedText: /Invalid API key/,
    firstPromptSeen: (body) => JSON.stringify((body as { messages: unknown[] }).messages).includes('remember the word pelican'),
  },
  {
    agent: 'codex',
    family: 'openai',
    key: CODEX_KEY,
    tool: { type: 'function_call', name: 'exec_command', arguments: { cmd: 'echo tool-says-hi' } },
    overloaded: { type: 'error', status: 500, message: 'upstream exploded' },
    unauthorized: { type: 'error', status: 401, errorType: 'invalid_request_error', code: 'invalid_api_key', message: 'Incorrect API key provided' },
    unauthorizedText: /401 Unauthorized: Incorrect API key provided/,
    firstPromptSeen: (body) => JSON.stringify((body as { input: unknown[] }).input).includes('remember the word pelican'),
  },
];

describe.each(cases)('$agent CLI through the engine', (c) => {
  let p: ProviderHarness;
  let e: Engine;
  beforeAll(async () => {
    p = await ProviderHarness.create();
    e = await p.engine();
  });
  afterAll(async () => p.close());

  const run = async (prompt: string, extra: Record<string, unknown> = {}) => {
    const { task } = e.enqueue({ agent: c.agent, prompt, ...extra }, { source: 'test' });
    const [done] = await waitTerminal(e, [task.id], 90_000);
    return done!;
  };
  const types = (id: string) => e.events(id).map((ev) => ev.type);

  it('answers, streaming the tool call and its result into the task events', async () => {
    p.script({ [c.family]: [c.tool, { type: 'text', text: 'The command printed tool-says-hi.' }] });
    const t = await run('run echo');
    expect(t.errorMessage).toBeNull();
    expect(t.status).toBe('succeeded');
    expect(t.output).toBe('The command printed tool-says-hi.');
    const evs = e.events(t.id);
    expect(types(t.id)).toEqual(expect.arrayContaining(['provider.session', 'provider.tool_call', 'provider.tool_result', 'provider.text']));
    const result = evs.find((ev) => ev.type === 'provider.tool_result');
    expect(JSON.stringify(result?.data)).toContain('tool-says-hi');
    // The tool really ran: the second model request carries its output.
    const reqs = p.fake.requests(c.family);
    expect(reqs).toHaveLength(2);
    expect(JSON.stringify(reqs[1]!.body)).toContain('tool-says-hi');
    expect(t.tokensIn).toBeGreaterThan(0);
  });

  it('runs a tool without bypassing permissions (acceptEdits: claude --allowedTools, codex workspace-write sandbox)', async () => {
    p.script({ [c.family]: [c.tool, { type: 'text', text: 'done safely' }] });
    const t = await run('run echo', { permissionMode: 'acceptEdits', allowedTools: ['Bash(echo:*)'] });
    expect(t.errorMessage).toBeNull();
    expect(t.output).toBe('done safely');
    expect(JSON.stringify(p.fake.requests(c.family)[1]!.body)).toContain('tool-says-hi');
  });

  it('parks a 429 as rate_limited and succeeds on the next attempt', async () => {
    p.script({ [c.family]: [{ type: 'error', status: 429, errorType: 'rate_limit_error', code: 'rate_limit_exceeded', message: 'slow down', headers: { 'retry-after': '1' } }, { type: 'text', text: 'after the wall' }] });
    const t = await run('hello');
    expect(t.status).toBe('succeeded');
    expect(t.output).toBe('after the wall');
    const runs = e.runs(t.id);
    expect(runs.map((r) => r.outcome)).toEqual(['rate_limited', 'success']);
    const parked = e.events(t.id).find((ev) => ev.type === 'rate_limited');
    expect(parked?.data.notBefore).toEqual(expect.any(Number));
  });

  it('retries an overloaded / 5xx answer as transient', async () => {
    p.script({ [c.family]: [c.overloaded, { type: 'text', text: 'recovered' }] });
    const t = await run('hello');
    expect(t.status).toBe('succeeded');
    expect(t.output).toBe('recovered');
    expect(e.runs(t.id).map((r) => r.outcome)).toEqual(['transient', 'success']);
    expect(e.events(t.id).find((ev) => ev.type === 'retry_wait')?.data.class).toBe('transient');
  });

  it('fails a 401 after one attempt with the provider message and without the key', async () => {
    p.script({ [c.family]: [{ ...c.unauthorized, times: -1 }] });
    const t = await run('hello');
    expect(t.status).toBe('failed');
    expect(t.errorClass).toBe('permanent');
    expect(t.errorMessage).toMatch(c.unauthorizedText);
    expect(t.errorMessage).toMatch(/API key/i);
    expect(e.runs(t.id)).toHaveLength(1);
    const everything = JSON.stringify({ t, events: e.events(t.id), logs: p.logs });
    expect(everything).not.toContain(c.key);
  });

  it('continues the conversation for a second task of the same session key', async () => {
    p.script({ [c.family]: [{ type: 'text', text: 'noted' }, { type: 'text', text: 'it was pelican' }] });
    const first = await run('remember the word pelican', { sessionKey: `conv-${c.agent}`, systemPrompt: 'SOUL-MARKER' });
    expect(first.status).toBe('succeeded');
    // Each task may run in its own worktree: the session must resume from another folder.
    const elsewhere = mkdtempSync(join(p.h.home, 'other-workdir-'));
    const second = await run('which word?', { sessionKey: `conv-${c.agent}`, workdir: elsewhere, systemPrompt: 'SOUL-MARKER' });
    expect(second.status).toBe('succeeded');
    expect(second.output).toBe('it was pelican');
    const reqs = p.fake.requests(c.family);
    expect(c.firstPromptSeen(reqs[1]!.body)).toBe(true);
    expect(second.providerSessionId).toBe(first.providerSessionId);
    // Codex reports thread totals: the second task is charged only for its own turn (the fake answers 12 in / 7 out).
    expect([first.tokensOut, second.tokensOut]).toEqual([7, 7]);
    expect(e.sessions.active(`conv-${c.agent}`)?.providerSessionId).toBe(first.providerSessionId);
    // Claude's total_cost_usd after --resume covers the whole session: the second task pays only its own
    // turn, which costs what the first did (same scripted usage), not the session's total.
    if (c.agent === 'claude') {
      expect(first.costUsd).toBeGreaterThan(0);
      expect(second.costUsd).toBeCloseTo(first.costUsd, 9);
    }
    // The system prompt reaches the model once: a resumed codex turn does not prepend it again.
    expect(JSON.stringify(reqs[1]!.body).split('SOUL-MARKER').length - 1).toBe(1);
  });

  it('keeps API keys out of the task events when a tool prints them', async () => {
    const printEnv: FakeStep =
      c.agent === 'claude'
        ? { type: 'tool_use', name: 'Bash', input: { command: 'env | grep -i key', description: 'print keys' } }
        : { type: 'function_call', name: 'exec_command', arguments: { cmd: 'env | grep -i key' } };
    p.script({ [c.family]: [printEnv, { type: 'text', text: 'done' }] });
    const t = await run('print the keys');
    expect(t.status).toBe('succeeded');
    const result = e.events(t.id).find((ev) => ev.type === 'provider.tool_result');
    expect(JSON.stringify(result?.data)).toContain('_API_KEY=[redacted]');
    expect(JSON.stringify(e.events(t.id))).not.toContain(c.key);
  });

  it('recovers a session the CLI does not know on a fresh session, with the two log lines', async () => {
    p.script({ [c.family]: [{ type: 'text', text: 'fresh answer' }] });
    const key = `stale-${c.agent}`;
    const model = c.agent === 'codex' ? 'gpt-5.5' : 'sonnet';
    e.sessions.record(key, c.agent, model, '0b9c7a8e-1d2f-4a3b-9c8d-7e6f5a4b3c2d');
    p.logs.length = 0;
    const t = await run('hello again', { sessionKey: key });
    expect(t.errorMessage).toBeNull();
    expect(t.status).toBe('succeeded');
    expect(t.output).toBe('fresh answer');
    expect(e.runs(t.id).map((r) => r.outcome)).toEqual(['session_invalid', 'success']);
    const msgs = p.logs.map((l) => l.msg);
    expect(msgs).toContain(`stale session detected for ${key} — recovering`);
    expect(msgs).toContain('session recovered');
    expect(e.sessions.active(key)?.providerSessionId).toBe(t.providerSessionId);
    expect(t.providerSessionId).not.toBe('0b9c7a8e-1d2f-4a3b-9c8d-7e6f5a4b3c2d');
  });

  it('ends a server that never answers with our timeout and the process group gone', async () => {
    p.script({ [c.family]: [{ type: 'hang', times: -1 }] });
    const t = await run('hello', { timeout: '3s', maxAttempts: 1 });
    expect(t.status).toBe('timed_out');
    expect(t.errorMessage).toMatch(/timed out after/);
    const pgid = e.runs(t.id)[0]?.pgid;
    expect(pgid).toEqual(expect.any(Number));
    expect(groupAlive(pgid as number)).toBe(false);
  });
});

describe('claude CLI: budget and usage limit', () => {
  let p: ProviderHarness;
  let e: Engine;
  beforeAll(async () => {
    p = await ProviderHarness.create();
    e = await p.engine();
  });
  afterAll(async () => p.close());

  it('fails with "budget exceeded" once the reported cost passes the task budget', async () => {
    // 200k input tokens at list price: far above a one-cent budget.
    p.script({ anthropic: [{ type: 'text', text: 'expensive', usage: { input: 200_000, output: 1000 } }] });
    const { task } = e.enqueue({ agent: 'claude', prompt: 'hello', budget: 0.01 }, { source: 'test' });
    const [t] = await waitTerminal(e, [task.id], 90_000);
    expect(t!.status).toBe('failed');
    expect(t!.errorClass).toBe('budget');
    expect(t!.errorMessage).toMatch(/^budget exceeded: \$\d+\.\d{4} of \$0\.0100$/);
  });

  it('parks a usage-limit 429 until its reset', async () => {
    p.script({ anthropic: [{ type: 'usage_limit', resetsInSeconds: 1 }, { type: 'text', text: 'back' }] });
    const { task } = e.enqueue({ agent: 'claude', prompt: 'hello' }, { source: 'test' });
    const [t] = await waitTerminal(e, [task.id], 90_000);
    expect(t!.status).toBe('succeeded');
    expect(e.runs(t!.id).map((r) => r.outcome)).toEqual(['rate_limited', 'success']);
  });
});

describe('codex CLI: quota', () => {
  let p: ProviderHarness;
  let e: Engine;
  beforeAll(async () => {
    p = await ProviderHarness.create();
    e = await p.engine();
  });
  afterAll(async () => p.close());

  it('parks a usage-limit reply as quota until the reset time parsed from "try again at …"', async () => {
    const resetAt = Date.now() + 2 * 3_600_000;
    p.script({ openai: [{ type: 'usage_limit', resetAt }] });
    const { task } = e.enqueue({ agent: 'codex', prompt: 'hello' }, { source: 'test' });
    await waitFor(e, () => e.get(task.id)?.status === 'rate_limited', 90_000);
    const t = e.get(task.id)!;
    expect(t.errorClass).toBe('quota');
    expect(t.errorMessage).toMatch(/usage limit.*try again at/i);
    // Codex prints the reset as a local time of day (minute precision).
    const parked = e.events(task.id).find((ev) => ev.type === 'rate_limited');
    expect(parked?.data.resetAt).toEqual(t.notBefore);
    expect(Math.abs((t.notBefore as number) - resetAt)).toBeLessThan(60_000);
    await e.cancel(task.id);
  });
});

describe('claude CLI: budget during a long run', () => {
  let p: ProviderHarness;
  let e: Engine;
  beforeAll(async () => {
    // Claude reports its cost only at the end; `pricing` drives our running estimate until then.
    p = await ProviderHarness.create({ providers: { claude: { pricing: { input: 1000, output: 1000 } } } });
    e = await p.engine();
  });
  afterAll(async () => p.close());

  it('stops a long multi-turn run once the running estimate passes the budget, killing the CLI', async () => {
    // A model that calls a tool for ever: only the budget can end this run (1000 tokens at $1000/M = $1 a turn).
    p.script({ anthropic: [{ type: 'tool_use', name: 'Bash', input: { command: 'echo again', description: 'loop' }, usage: { input: 1000, output: 10 }, times: -1 }] });
    const { task } = e.enqueue({ agent: 'claude', prompt: 'loop', budget: 2.5 }, { source: 'test' });
    const [t] = await waitTerminal(e, [task.id], 90_000);
    expect(t!.status).toBe('failed');
    expect(t!.errorMessage).toMatch(/^budget exceeded: \$\d+\.\d{4} of \$2\.5000$/);
    expect(p.fake.requests('anthropic').length).toBeGreaterThanOrEqual(3);
    expect(groupAlive(e.runs(t!.id)[0]!.pgid as number)).toBe(false);
  });
});
