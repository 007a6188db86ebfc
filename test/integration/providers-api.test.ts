import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import type { TaskRow } from '../../src/store/tasks.js';
import type { FakeStep } from '../fake-model-server/server.mjs';
import { waitFor, waitTerminal } from '../helpers/engine-harness.js';
import { API_KEY, ProviderHarness } from '../helpers/provider-harness.js';

/** The `anthropic` and `openai-compatible` adapters (official SDKs) through the engine against the fake server. */

interface ApiCase {
  agent: 'anthropic' | 'local';
  family: 'anthropic' | 'openai';
  overloaded: FakeStep;
  unauthorized: FakeStep;
  /** The messages of a request, as the API received them. */
  messages(body: unknown): Array<{ role: string; content: unknown }>;
  costs: boolean;
}

const cases: ApiCase[] = [
  {
    agent: 'anthropic',
    family: 'anthropic',
    overloaded: { type: 'error', status: 529, errorType: 'overloaded_error', message: 'Overloaded' },
    unauthorized: { type: 'error', status: 401, errorType: 'authentication_error', message: 'invalid x-api-key' },
    messages: (b) => (b as { messages: Array<{ role: string; content: unknown }> }).messages,
    costs: true,
  },
  {
    agent: 'local',
    family: 'openai',
    overloaded: { type: 'error', status: 503, errorType: 'server_error', message: 'model is loading' },
    unauthorized: { type: 'error', status: 401, errorType: 'invalid_request_error', code: 'invalid_api_key', message: 'Incorrect API key provided' },
    messages: (b) => (b as { messages: Array<{ role: string; content: unknown }> }).messages.filter((m) => m.role !== 'system'),
    costs: false,
  },
];

describe.each(cases)('$agent API provider through the engine', (c) => {
  let p: ProviderHarness;
  let e: Engine;
  beforeAll(async () => {
    p = await ProviderHarness.create();
    e = await p.engine();
  });
  afterAll(async () => p.close());

  const run = async (prompt: string, extra: Record<string, unknown> = {}) => {
    const { task } = e.enqueue({ agent: c.agent, prompt, ...extra }, { source: 'test' });
    const [done] = await waitTerminal(e, [task.id], 60_000);
    return done!;
  };

  it('streams an answer, with usage and cost (zero for a local endpoint)', async () => {
    p.script({ [c.family]: [{ type: 'text', text: 'Hello from the fake model server.', usage: { input: 1000, output: 100 } }] });
    const t = await run('hello', { systemPrompt: 'You are terse.' });
    expect(t.status).toBe('succeeded');
    expect(t.output).toBe('Hello from the fake model server.');
    expect(t.tokensIn).toBe(1000);
    expect(t.tokensOut).toBe(100);
    if (c.costs) expect(t.costUsd).toBeCloseTo((1000 * 3 + 100 * 15) / 1e6, 10);
    else expect(t.costUsd).toBe(0);
    const [req] = p.fake.requests(c.family);
    expect(req!.body.stream).toBe(true);
    expect(JSON.stringify(req!.body)).toContain('You are terse.');
    expect(e.events(t.id).map((ev) => ev.type)).toEqual(expect.arrayContaining(['provider.session', 'provider.text', 'provider.usage']));
  });

  it('parks a 429 until its Retry-After, then succeeds', async () => {
    p.script({ [c.family]: [{ type: 'error', status: 429, errorType: 'rate_limit_error', code: 'rate_limit_exceeded', message: 'slow down', headers: { 'retry-after': '1' } }, { type: 'text', text: 'after the wall' }] });
    const before = Date.now();
    const t = await run('hello');
    expect(t.status).toBe('succeeded');
    expect(e.runs(t.id).map((r) => r.outcome)).toEqual(['rate_limited', 'success']);
    const parked = e.events(t.id).find((ev) => ev.type === 'rate_limited');
    // The reset comes from the header (1 s), not from the engine's default wait.
    expect(parked?.data.resetAt).toEqual(parked?.data.notBefore);
    expect(parked?.data.resetAt as number).toBeGreaterThanOrEqual(before + 1000);
  });

  it('retries an overloaded / 5xx answer as transient', async () => {
    p.script({ [c.family]: [c.overloaded, { type: 'text', text: 'recovered' }] });
    const t = await run('hello');
    expect(t.status).toBe('succeeded');
    expect(e.runs(t.id).map((r) => r.outcome)).toEqual(['transient', 'success']);
  });

  it('retries a stream that stalls as transient', async () => {
    p.script({ [c.family]: [{ type: 'stall' }, { type: 'text', text: 'flowing again' }] });
    const t = await run('hello');
    expect(t.errorMessage).toBeNull();
    expect(t.status).toBe('succeeded');
    expect(t.output).toBe('flowing again');
    const runs = e.runs(t.id);
    expect(runs.map((r) => r.outcome)).toEqual(['transient', 'success']);
    expect(runs[0]!.message).toMatch(/stream stalled/);
  });

  it('retries a stream cut off before its end (no message_stop / [DONE]) as transient', async () => {
    p.script({ [c.family]: [{ type: 'text', text: 'The first half of the answer', end: 'cut' }, { type: 'text', text: 'the whole answer' }] });
    const t = await run('hello');
    expect(t.status).toBe('succeeded');
    expect(t.output).toBe('the whole answer');
    const runs = e.runs(t.id);
    expect(runs.map((r) => r.outcome)).toEqual(['transient', 'success']);
    expect(runs[0]!.message).toBe(`provider ${c.agent}: the stream ended before the answer was complete`);
  });

  it('fails an answer cut at the output-token limit as permanent, keeping the partial output', async () => {
    p.script({ [c.family]: [{ type: 'text', text: 'The first half of the answer', end: 'max_tokens', times: -1 }] });
    const t = await run('hello');
    expect(t.status).toBe('failed');
    expect(t.errorClass).toBe('permanent');
    expect(t.errorMessage).toMatch(new RegExp(`the answer was cut at maxTokens.*raise providers\\.${c.agent}\\.maxTokens`));
    expect(t.output).toBe('The first half of the answer');
    expect(e.runs(t.id)).toHaveLength(1);
  });

  it('fails a 401 after one attempt with the provider message and without the key', async () => {
    p.script({ [c.family]: [{ ...c.unauthorized, times: -1 }] });
    const t = await run('hello');
    expect(t.status).toBe('failed');
    expect(t.errorClass).toBe('permanent');
    expect(t.errorMessage).toMatch(/HTTP 401/);
    expect(t.errorMessage).toMatch(/(invalid x-api-key|Incorrect API key provided); check the API key/);
    expect(e.runs(t.id)).toHaveLength(1);
    expect(JSON.stringify({ t, events: e.events(t.id), logs: p.logs })).not.toContain(API_KEY);
  });

  it('fails "context too long" at once as permanent', async () => {
    p.script({ [c.family]: [{ type: 'error', status: 400, errorType: 'invalid_request_error', code: 'context_length_exceeded', message: 'prompt is too long: 250000 tokens > 200000 maximum' }] });
    const t = await run('hello');
    expect(t.status).toBe('failed');
    expect(t.errorMessage).toMatch(/too long.*start a new session key/);
    expect(e.runs(t.id)).toHaveLength(1);
  });

  it('keeps the conversation of a session: the second task sends the first one\'s turns', async () => {
    p.script({ [c.family]: [{ type: 'text', text: 'noted' }, { type: 'text', text: 'it was pelican' }] });
    const key = `conv-${c.agent}`;
    const first = await run('remember the word pelican', { sessionKey: key });
    const second = await run('which word?', { sessionKey: key });
    expect([first.status, second.status]).toEqual(['succeeded', 'succeeded']);
    const sent = c.messages(p.fake.requests(c.family)[1]!.body);
    expect(sent).toEqual([
      { role: 'user', content: 'remember the word pelican' },
      { role: 'assistant', content: 'noted' },
      { role: 'user', content: 'which word?' },
    ]);
    expect(e.sessions.history(key)).toHaveLength(4);
  });

  it('archives a session whose model changed and starts a new one, with the two log lines', async () => {
    p.script({ [c.family]: [{ type: 'text', text: 'fresh start' }] });
    const key = `changed-${c.agent}`;
    e.sessions.record(key, c.agent, 'an-older-model', 'old-session');
    e.sessions.appendMessages(key, [{ role: 'user', content: 'from the old model' }, { role: 'assistant', content: 'old answer' }], 'old-task');
    p.logs.length = 0;
    const t = await run('hello', { sessionKey: key });
    expect(t.status).toBe('succeeded');
    expect(c.messages(p.fake.requests(c.family)[0]!.body)).toEqual([{ role: 'user', content: 'hello' }]);
    const msgs = p.logs.map((l) => l.msg);
    expect(msgs).toContain(`stale session detected for ${key} — recovering`);
    expect(msgs).toContain('session recovered');
    expect(e.sessions.active(key)?.model).not.toBe('an-older-model');
  });

  it('ends a server that never answers with our timeout', async () => {
    p.script({ [c.family]: [{ type: 'hang', times: -1 }] });
    const t = await run('hello', { timeout: '1s', maxAttempts: 1 });
    expect(t.status).toBe('timed_out');
    expect(t.errorMessage).toMatch(/timed out after/);
  });
});

describe('API providers: quota walls, fallback and daily budgets', () => {
  let p: ProviderHarness;
  let e: Engine;
  beforeAll(async () => {
    p = await ProviderHarness.create({
      agents: {
        anthropic: { provider: 'anthropic', dailyBudget: 0.001 },
        local: { provider: 'local' },
        switching: { provider: 'anthropic', fallbackProviders: ['local'] },
      },
    });
    e = await p.engine();
  });
  afterAll(async () => p.close());

  it('parks an OpenAI usage_limit_reached reply as quota until resets_at', async () => {
    const resetAt = Date.now() + 3_600_000;
    p.script({ openai: [{ type: 'usage_limit', resetAt }] });
    const { task } = e.enqueue({ agent: 'local', prompt: 'hello' }, { source: 'test' });
    await waitFor(e, () => e.get(task.id)?.status === 'rate_limited', 30_000);
    const t = e.get(task.id)!;
    expect(t.errorClass).toBe('quota');
    expect(t.notBefore).toBe(Math.floor(resetAt / 1000) * 1000);
    await e.cancel(task.id);
  });

  it('parks an Anthropic usage wall (429, unified status rejected) until the reset header', async () => {
    const resetAt = Date.now() + 3_600_000;
    p.script({ anthropic: [{ type: 'usage_limit', resetAt }] });
    const { task } = e.enqueue({ agent: 'anthropic', prompt: 'hello' }, { source: 'test' });
    await waitFor(e, () => e.get(task.id)?.status === 'rate_limited', 30_000);
    const t = e.get(task.id)!;
    expect(t.errorClass).toBe('rate_limited');
    expect(t.notBefore).toBe(Math.floor(resetAt / 1000) * 1000);
    await e.cancel(task.id);
  });

  it('switches to the fallback provider on a rate limit, as an event', async () => {
    p.script({ anthropic: [{ type: 'error', status: 429, errorType: 'rate_limit_error', message: 'slow down', headers: { 'retry-after': '600' } }], openai: [{ type: 'text', text: 'from the fallback' }] });
    const { task } = e.enqueue({ agent: 'switching', prompt: 'hello' }, { source: 'test' });
    const [t] = await waitTerminal(e, [task.id]);
    expect(t!.status).toBe('succeeded');
    expect(t!.output).toBe('from the fallback');
    expect(t!.provider).toBe('local');
    expect(p.fake.requests('openai')[0]!.body.model).toBe('fake-local-model');
    const sw = e.events(task.id).find((ev) => ev.type === 'queued' && ev.data.reason === 'fallback');
    expect(sw?.data).toMatchObject({ fromProvider: 'anthropic', toProvider: 'local' });
  });

  it('refuses new work for an agent once its daily budget is spent: queued tasks fail at start, new ones are refused', async () => {
    p.script({ anthropic: [{ type: 'text', text: 'costly', usage: { input: 1000, output: 100 } }] });
    // Two tasks of one session run in order: the second was accepted before the first spent the budget.
    const [first, second] = e.enqueueMany(
      [
        { agent: 'anthropic', prompt: 'hello', sessionKey: 'budget' },
        { agent: 'anthropic', prompt: 'again', sessionKey: 'budget' },
      ],
      { source: 'test' },
    ).map((r) => r.task) as [TaskRow, TaskRow];
    const [a, b] = await waitTerminal(e, [first.id, second.id]);
    expect(a!.status).toBe('succeeded');
    expect(b!.status).toBe('failed');
    expect(b!.errorMessage).toMatch(/^daily budget exhausted: agent "anthropic" spent \$0\.0045 of \$0\.0010 today \(UTC\); raise agents\.anthropic\.dailyBudget/);
    expect(p.fake.requests('anthropic')).toHaveLength(1);
    // New work is refused at once, with the same reason, and nothing is recorded.
    const before = e.list({ limit: 1000 }).length;
    expect(() => e.enqueue({ agent: 'anthropic', prompt: 'more' }, { source: 'test' })).toThrow(/^daily budget exhausted: agent "anthropic" spent/);
    expect(e.list({ limit: 1000 }).length).toBe(before);
  });
});

describe('global daily budget', () => {
  let p: ProviderHarness;
  let e: Engine;
  beforeAll(async () => {
    p = await ProviderHarness.create({ dailyBudget: 0.001 });
    e = await p.engine();
  });
  afterAll(async () => p.close());

  it('refuses new work for every agent once the day\'s spend reaches it', async () => {
    p.script({ anthropic: [{ type: 'text', text: 'costly', usage: { input: 1000, output: 100 } }] });
    const { task: first } = e.enqueue({ agent: 'anthropic', prompt: 'hello' }, { source: 'test' });
    expect((await waitTerminal(e, [first.id]))[0]!.status).toBe('succeeded');
    expect(() => e.enqueue({ agent: 'local', prompt: 'again' }, { source: 'test' })).toThrow(/^daily budget exhausted: all agents spent \$0\.0045 of \$0\.0010 today \(UTC\); raise dailyBudget/);
    expect(p.fake.requests('openai')).toHaveLength(0);
  });
});

describe('no-output watchdog and API streams', () => {
  // An answer that streams for ~3 s in small pieces, 250 ms apart: longer than the 1 s no-output limit as a
  // whole, never silent for that long.
  const slow = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let i = 0;
      const tick = setInterval(() => {
        if (i < 12) {
          res.write(`data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: `tok${i} ` }, finish_reason: null }] })}\n\n`);
          i += 1;
          return;
        }
        clearInterval(tick);
        res.end(`data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\ndata: [DONE]\n\n`);
      }, 250);
    });
  });
  let p: ProviderHarness;
  let e: Engine;
  beforeAll(async () => {
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(slow.address() as { port: number }).port}/v1`;
    p = await ProviderHarness.create({ noOutputTimeout: '1s', providers: { local: { baseUrl: url } } });
    e = await p.engine();
  });
  afterAll(async () => {
    await p.close();
    slow.close();
  });

  it('does not kill a stream whose tokens keep arriving (the adapter signals liveness)', async () => {
    const { task } = e.enqueue({ agent: 'local', prompt: 'hello', maxAttempts: 1 }, { source: 'test' });
    const [t] = await waitTerminal(e, [task.id], 60_000);
    expect(t!.errorMessage).toBeNull();
    expect(t!.status).toBe('succeeded');
    expect(t!.output).toBe(Array.from({ length: 12 }, (_, i) => `tok${i}`).join(' '));
  });
});

describe('fallback to a provider without a model of its own', () => {
  let p: ProviderHarness;
  let e: Engine;
  beforeAll(async () => {
    p = await ProviderHarness.create({ agents: { gpt: { provider: 'local', model: 'gpt-4o-mini', fallbackProviders: ['claude'] } } });
    e = await p.engine();
  });
  afterAll(async () => p.close());

  it("runs it with its own default model, not the first provider's", async () => {
    p.script({ openai: [{ type: 'error', status: 429, errorType: 'rate_limit_error', message: 'slow down', headers: { 'retry-after': '600' } }], anthropic: [{ type: 'text', text: 'from claude' }] });
    const { task } = e.enqueue({ agent: 'gpt', prompt: 'hello' }, { source: 'test' });
    const [t] = await waitTerminal(e, [task.id], 90_000);
    expect(t!.status).toBe('succeeded');
    expect(t!.provider).toBe('claude');
    expect(t!.model).toBeNull();
    expect(t!.output).toBe('from claude');
    expect(p.fake.requests('anthropic')[0]!.body.model).not.toBe('gpt-4o-mini');
  });
});
