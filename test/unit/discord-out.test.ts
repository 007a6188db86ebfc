import { describe, expect, it } from 'vitest';
import { classifyError, classifyResponse } from '../../src/channels/discord/rest.js';
import { composeReply, discordOrigin } from '../../src/channels/discord/reply.js';
import { renderStatus, type StatusFacts } from '../../src/channels/discord/status-message.js';

const h = (o: Record<string, string> = {}) => new Headers(o);

describe('rest: classifying Discord answers', () => {
  it('429 waits for the Retry-After header, the body retry_after, or the longer of both; global too', () => {
    expect(classifyResponse(429, h({ 'retry-after': '2' }), null)).toMatchObject({ kind: 'rate_limited', waitMs: 2000, global: false });
    expect(classifyResponse(429, h(), { retry_after: 1.5, global: false })).toMatchObject({ kind: 'rate_limited', waitMs: 1500 });
    expect(classifyResponse(429, h({ 'retry-after': '1' }), { retry_after: 3.25 })).toMatchObject({ waitMs: 3250 });
    expect(classifyResponse(429, h({ 'retry-after': '1', 'x-ratelimit-global': 'true' }), null)).toMatchObject({ global: true });
    expect(classifyResponse(429, h(), { retry_after: 0.5, global: true })).toMatchObject({ global: true, waitMs: 500 });
    // Nothing given: a default wait, never a tight loop; zero: a short one.
    expect(classifyResponse(429, h(), null)).toMatchObject({ kind: 'rate_limited', waitMs: 1000 });
    expect(classifyResponse(429, h({ 'retry-after': '0' }), null)).toMatchObject({ waitMs: 50 });
  });

  it('5xx retries; 403, 404, 400 are dead letters with the reason and the fix', () => {
    expect(classifyResponse(500, h(), null)).toMatchObject({ kind: 'retry', label: 'server_error' });
    expect(classifyResponse(503, h(), 'upstream')).toMatchObject({ kind: 'retry' });
    const forbidden = classifyResponse(403, h(), { code: 50013, message: 'Missing Permissions' });
    expect(forbidden).toMatchObject({ kind: 'dead', status: 403 });
    expect(forbidden.kind === 'dead' && forbidden.reason).toMatch(/Missing Permissions \(code 50013\).*Send Messages/);
    expect(classifyResponse(404, h(), { code: 10003, message: 'Unknown Channel' })).toMatchObject({ kind: 'dead', status: 404 });
    expect(classifyResponse(400, h(), { code: 50035, message: 'Invalid Form Body' })).toMatchObject({ kind: 'dead', status: 400 });
  });

  it('2xx is done, with the channel bucket when Discord reports it', () => {
    expect(classifyResponse(200, h({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset-after': '4.5' }), { id: '1' })).toEqual({
      kind: 'ok',
      status: 200,
      body: { id: '1' },
      bucket: { remaining: 0, resetAfterMs: 4500 },
    });
    expect(classifyResponse(204, h(), null)).toEqual({ kind: 'ok', status: 204, body: null });
  });

  it('timeouts and network errors are retried', () => {
    expect(classifyError(Object.assign(new Error('t'), { name: 'TimeoutError' }))).toMatchObject({ kind: 'retry', label: 'timeout' });
    const reset = Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET', message: 'other side closed' } });
    expect(classifyError(reset)).toMatchObject({ kind: 'retry', label: 'network', reason: 'network error ECONNRESET: other side closed' });
  });
});

const base = { id: 'task-1234', outputFile: null, outputBytes: null, errorClass: null, errorMessage: null, output: null };

describe('reply: composing the answer', () => {
  it('success is the output; empty output says so', () => {
    expect(composeReply({ ...base, status: 'succeeded', output: 'hello' })).toBe('hello');
    expect(composeReply({ ...base, status: 'succeeded', output: '  ' })).toMatch(/without any output \(task task-1234\)/);
  });

  it('failure gives the class, the provider message and what to do', () => {
    const r = composeReply({ ...base, status: 'failed', errorClass: 'permanent', errorMessage: 'invalid x-api-key' });
    expect(r).toContain('(permanent): invalid x-api-key');
    expect(r).toMatch(/What to do: .*tetora doctor/);
    expect(composeReply({ ...base, status: 'timed_out', errorClass: 'timeout', errorMessage: 'ran 10m' })).toMatch(/timed out \(timeout\): ran 10m\nWhat to do: .*timeout/);
    expect(composeReply({ ...base, status: 'cancelled', errorClass: 'cancelled', errorMessage: 'cancelled by discord' })).toMatch(/^Cancelled: cancelled by discord/);
  });

  it('a reset session adds one line with the reason', () => {
    const r = composeReply({ ...base, status: 'succeeded', output: 'ok' }, ['provider or model changed', 'provider or model changed']);
    expect(r).toBe('ok\n\n↺ The earlier context of this channel was reset (provider or model changed); this answer comes from a fresh session.');
  });

  it('only Discord tasks with a channel get a reply', () => {
    expect(discordOrigin({ source: 'discord', origin: JSON.stringify({ channelId: 'c1', messageId: 'm1' }) })).toMatchObject({ channelId: 'c1' });
    expect(discordOrigin({ source: 'http', origin: JSON.stringify({ channelId: 'c1' }) })).toBeUndefined();
    expect(discordOrigin({ source: 'discord', origin: null })).toBeUndefined();
    expect(discordOrigin({ source: 'discord', origin: '{bad' })).toBeUndefined();
  });
});

describe('status message text', () => {
  const f: StatusFacts = { taskId: 't1', status: 'running', agent: 'coder', now: 65_000, createdAt: 0, startedAt: 1000, finishedAt: null, costUsd: 0.01234, attempt: 1, maxAttempts: 3, notBefore: null, errorClass: null, resumed: false };
  it('says what the task is doing and its situation', () => {
    expect(renderStatus({ ...f, tool: 'Bash', lastLine: 'compiling' })).toMatch(/Working… · agent coder · 1m5s\n🔧 Bash\n💬 compiling/);
    expect(renderStatus({ ...f, status: 'queued', queuePlace: 3 })).toContain('queued (place 3)');
    expect(renderStatus({ ...f, status: 'rate_limited', notBefore: Date.UTC(2026, 0, 1, 12, 34) })).toContain('reset at 12:34 UTC');
    expect(renderStatus({ ...f, status: 'retry_wait', attempt: 1 })).toContain('retrying (attempt 2 of 3)');
    expect(renderStatus({ ...f, resumed: true })).toContain('resuming after a daemon restart');
  });
  it('ends as one summary line', () => {
    const s = renderStatus({ ...f, status: 'succeeded', finishedAt: 61_000 });
    expect(s).not.toContain('\n');
    expect(s).toMatch(/succeeded · 1m · \$0\.0123 · task t1/);
  });
});

describe('rate gate: the channel buckets and the global limit', () => {
  it('waits for a channel whose bucket is empty, for every channel after a global 429, and for a rate-limited channel only', async () => {
    const { RateGate } = await import('../../src/channels/discord/deliver.js');
    let now = 1000;
    const g = new RateGate(() => now);
    g.learn('a', { kind: 'ok', status: 200, body: null, bucket: { remaining: 0, resetAfterMs: 4000 } });
    expect(g.waitFor('a')).toBe(4000);
    expect(g.waitFor('b')).toBe(0);
    g.learn('b', { kind: 'rate_limited', waitMs: 1500, global: false, reason: '' });
    expect(g.waitFor('b')).toBe(1500);
    expect(g.waitFor('c')).toBe(0);
    g.learn('c', { kind: 'rate_limited', waitMs: 2000, global: true, reason: '' });
    expect(g.waitFor('c')).toBe(2000);
    expect(g.waitFor('z')).toBe(2000);
    now += 5000;
    expect([g.waitFor('a'), g.waitFor('b'), g.waitFor('z')]).toEqual([0, 0, 0]);
    g.learn('a', { kind: 'ok', status: 200, body: null, bucket: { remaining: 3, resetAfterMs: 4000 } });
    expect(g.waitFor('a')).toBe(0);
  });
});
