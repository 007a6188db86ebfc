/**
 * The HTTP API of the real daemon (a child process) under hostile but fair input: issue 10 items 2, 5,
 * 6, 7, 8, 9, 10, 14, 15, 16 and 17.
 */
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { DaemonHarness, daemonPool, readSse, runCli, TOKEN } from '../helpers/daemon.js';
import { waitUntil } from '../helpers/engine-harness.js';

const pool = daemonPool();
const daemon = pool.start;

interface ErrorJson {
  error: { code: string; message: string; details: Record<string, unknown> };
}

const started = (d: DaemonHarness, taskId?: string) => d.log().filter((l) => l.event === 'start' && (!taskId || l.taskId === taskId));
const taskCount = async (d: DaemonHarness) => (await d.json<{ tasks: unknown[] }>('/api/tasks?limit=1000')).body.tasks.length;

/** A raw HTTP request (fetch refuses some of what a hostile client sends); `declaredLength` announces a body never sent. */
function rawRequest(d: DaemonHarness, path: string, headers: Record<string, string> = {}, opts: { method?: string; declaredLength?: number } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const extra: Record<string, string> = opts.declaredLength === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(opts.declaredLength) };
    const req = request({ host: '127.0.0.1', port: d.port, path, method: opts.method ?? 'GET', headers: { authorization: `Bearer ${TOKEN}`, ...extra, ...headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    if (opts.declaredLength === undefined) req.end();
    else req.flushHeaders();
  });
}

describe('queries are validated before anything is written (items 7, 15)', () => {
  it('a repeated or bad ?timeout is a 400 naming it, and no task is created; repeated status and agent filters are lists', async () => {
    const d = await daemon();
    const body = JSON.stringify({ agent: 'a', prompt: d.prompt({}) });
    for (const q of ['?wait=true&timeout=2s&timeout=3s', '?wait=true&timeout=abc', '?wait=true&timeout=-1', '?wiat=true']) {
      const res = await d.json<ErrorJson>(`/api/dispatch${q}`, { method: 'POST', body });
      expect(res.status, q).toBe(400);
      expect(res.body.error.code).toBe('TET_ERR_HTTP_BAD_REQUEST');
      expect(res.body.error.details.field).toBe(q === '?wiat=true' ? 'wiat' : 'timeout');
    }
    expect(await taskCount(d)).toBe(0);

    const res = await d.dispatch([{ agent: 'a', prompt: d.prompt({}) }, { agent: 'b', prompt: d.prompt({ exit: 3, out: 'no' }) }]);
    await d.waitTerminal(res.body.tasks.map((t) => t.id));
    const both = await d.json<{ tasks: Array<{ status: string }> }>('/api/tasks?status=succeeded&status=failed');
    expect(both.status).toBe(200);
    expect(both.body.tasks.map((t) => t.status).sort()).toEqual(['failed', 'succeeded']);
    const agents = await d.json<{ tasks: Array<{ agent: string }> }>('/api/tasks?agent=a&agent=b');
    expect(agents.status).toBe(200);
    expect(agents.body.tasks.map((t) => t.agent).sort()).toEqual(['a', 'b']);
    const one = await d.json<{ tasks: Array<{ agent: string }> }>('/api/tasks?agent=b');
    expect(one.body.tasks.map((t) => t.agent)).toEqual(['b']);
  });
});

describe('task requests (items 6, 10, 14)', () => {
  it('refuses NUL bytes, relative workdirs and the Tetora home as workdir at dispatch, naming the field', async () => {
    const d = await daemon();
    for (const [field, value] of [['sessionKey', 'a\0b'], ['model', 'm\0'], ['agent', 'a\0']] as const) {
      const res = await d.json<ErrorJson>('/api/dispatch', { method: 'POST', body: JSON.stringify({ agent: 'a', prompt: 'x', [field]: value }) });
      expect(res.status, field).toBe(400);
      expect(res.body.error.details.field).toBe(field);
      expect(res.body.error.message).toContain('NUL');
    }
    const rel = await d.json<ErrorJson>('/api/dispatch', { method: 'POST', body: JSON.stringify({ agent: 'a', prompt: 'x', workdir: '.' }) });
    expect(rel.status).toBe(400);
    expect(rel.body.error.details.field).toBe('workdir');
    expect(rel.body.error.message).toContain('absolute path');
    // The harness configures the home as defaultWorkdir: that is allowed; its parent is not.
    const parent = await d.json<ErrorJson>('/api/dispatch', { method: 'POST', body: JSON.stringify({ agent: 'a', prompt: 'x', workdir: '/' }) });
    expect(parent.status).toBe(400);
    expect(parent.body.error.message).toContain('config.json');
    expect(await taskCount(d)).toBe(0);
  });

  it('says what is wrong with the body: content type, __proto__, 1e309, priority; accepts bodiless POSTs that need no body', async () => {
    const d = await daemon({ drainTimeout: '60s' });
    const plainRes = await fetch(`${d.base}/api/dispatch`, { method: 'POST', body: JSON.stringify({ prompt: 'x' }), headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'text/plain' } });
    const plain = { status: plainRes.status, body: (await plainRes.json()) as ErrorJson };
    expect(plain.status).toBe(415);
    expect(plain.body.error.code).toBe('TET_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE');
    expect(plain.body.error.message).toContain('text/plain');
    expect(plain.body.error.message).toContain('application/json');
    const proto = await d.json<ErrorJson>('/api/dispatch', { method: 'POST', body: '{"prompt":"x","__proto__":{"a":1}}' });
    expect(proto.status).toBe(400);
    expect(proto.body.error.message).toContain('__proto__');
    const inf = await d.json<ErrorJson>('/api/dispatch', { method: 'POST', body: '{"prompt":"x","budget":1e309}' });
    expect(inf.status).toBe(400);
    expect(inf.body.error.message).toContain('budget is a number out of range');
    const prio = await d.json<ErrorJson>('/api/dispatch', { method: 'POST', body: '{"prompt":"x","priority":5000}' });
    expect(prio.body.error.message).toContain('from -1000 to 1000');
    const big = await rawRequest(d, '/api/dispatch', {}, { method: 'POST', declaredLength: 11 * 1024 * 1024 });
    expect(big.status).toBe(413);
    expect(JSON.parse(big.body)).toMatchObject({ error: { code: 'TET_ERR_HTTP_BODY_TOO_LARGE', details: { limitBytes: 10 * 1024 * 1024 } } });
    expect(await taskCount(d)).toBe(0);

    // A bodiless POST with a JSON content type: cancel answers on the task (409: it ended), drain drains.
    const done = await d.dispatch({ agent: 'a', prompt: d.prompt({}) });
    await d.waitTerminal([done.body.id!]);
    const cancel = await d.json<ErrorJson>(`/api/tasks/${done.body.id}/cancel`, { method: 'POST', headers: { 'content-type': 'application/json' } });
    expect(cancel.status).toBe(409);
    // A running task keeps the daemon draining while the refusal is checked.
    const busy = await d.dispatch({ agent: 'a', prompt: d.prompt({ sleepMs: 60_000 }) });
    await waitUntil(() => started(d, busy.body.id).length === 1);
    const drain = await d.json<{ status: string }>('/api/admin/drain', { method: 'POST', headers: { 'content-type': 'application/json' } });
    expect(drain.status).toBe(202);
    expect(drain.body.status).toBe('draining');
    const refused = await d.json<ErrorJson>('/api/dispatch', { method: 'POST', body: JSON.stringify({ agent: 'a', prompt: 'x' }) });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('30');
    expect(refused.body.error.details).toEqual({ retryAfterSeconds: 30 });
  });
});

describe('cancelling a task that ended (item 9)', () => {
  it('answers 409 TET_ERR_TASK_TRANSITION, and `tetora task cancel` exits 1 with the message', async () => {
    const d = await daemon();
    const res = await d.dispatch({ agent: 'a', prompt: d.prompt({ out: 'finished' }) });
    await d.waitTerminal([res.body.id!]);
    const api = await d.json<ErrorJson>(`/api/tasks/${res.body.id}/cancel`, { method: 'POST' });
    expect(api.status).toBe(409);
    expect(api.body.error.code).toBe('TET_ERR_TASK_TRANSITION');
    expect(api.body.error.message).toContain('already ended (succeeded)');
    const cli = await d.cli(['task', 'cancel', res.body.id!]);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain('already ended (succeeded)');
    expect((await d.task(res.body.id!)).status).toBe('succeeded');
  });
});

describe('idempotency keys (item 8)', () => {
  it('the same key with a different request is a 422 naming the key; batch keys cannot be reached by a single dispatch', async () => {
    const d = await daemon();
    const first = await d.json<{ id: string }>('/api/dispatch', { method: 'POST', body: JSON.stringify({ agent: 'a', prompt: d.prompt({ out: 'one' }) }), headers: { 'idempotency-key': 'k-9' } });
    expect(first.status).toBe(202);
    const retry = await d.json<{ id: string; tasks: Array<{ created: boolean }> }>('/api/dispatch', { method: 'POST', body: JSON.stringify({ prompt: d.prompt({ out: 'one' }), agent: 'a' }), headers: { 'idempotency-key': 'k-9' } });
    expect(retry.status).toBe(202);
    expect(retry.body.id).toBe(first.body.id);
    expect(retry.body.tasks[0]!.created).toBe(false);
    const other = await d.json<ErrorJson>('/api/dispatch', { method: 'POST', body: JSON.stringify({ agent: 'b', prompt: d.prompt({ out: 'two' }) }), headers: { 'idempotency-key': 'k-9' } });
    expect(other.status).toBe(422);
    expect(other.body.error.code).toBe('TET_ERR_IDEMPOTENCY_MISMATCH');
    expect(other.body.error.message).toContain('"k-9"');
    expect(other.body.error.details).toMatchObject({ key: 'k-9', taskId: first.body.id });
    const viaField = await d.json<ErrorJson>('/api/dispatch', { method: 'POST', body: JSON.stringify({ agent: 'a', prompt: 'something else', idempotencyKey: 'k-9' }) });
    expect(viaField.status).toBe(422);

    const batch = await d.json<{ tasks: Array<{ id: string }> }>('/api/dispatch', { method: 'POST', body: JSON.stringify([{ agent: 'a', prompt: d.prompt({}) }, { agent: 'b', prompt: d.prompt({}) }]), headers: { 'idempotency-key': 'h1' } });
    const single = await d.json<{ id: string; tasks: Array<{ created: boolean }> }>('/api/dispatch', { method: 'POST', body: JSON.stringify({ agent: 'b', prompt: d.prompt({}) }), headers: { 'idempotency-key': 'h1#1' } });
    expect(single.status).toBe(202);
    expect(single.body.id).not.toBe(batch.body.tasks[1]!.id);
    expect(single.body.tasks[0]!.created).toBe(true);
    const changedBatch = await d.json<ErrorJson>('/api/dispatch', { method: 'POST', body: JSON.stringify([{ agent: 'a', prompt: d.prompt({}) }, { agent: 'b', prompt: d.prompt({}) }, { agent: 'a', prompt: 'extra' }]), headers: { 'idempotency-key': 'h1' } });
    expect(changedBatch.status).toBe(422);
    expect(changedBatch.body.error.details.key).toBe('h1');
    expect(await taskCount(d)).toBe(4);
  });
});

describe('error bodies (item 17)', () => {
  it('bad URLs, huge ids, 401s, 413s and 415s answer in the API error format with their own codes; the Bearer scheme is case-insensitive', async () => {
    const d = await daemon();
    const badUrl = await rawRequest(d, '/api/tasks/%ZZ');
    expect(badUrl.status).toBe(400);
    expect(JSON.parse(badUrl.body)).toMatchObject({ error: { code: 'TET_ERR_HTTP_BAD_REQUEST', details: {} } });
    const huge = await rawRequest(d, `/api/tasks/${'x'.repeat(100_000)}`);
    expect(huge.status).toBe(431);
    expect(JSON.parse(huge.body)).toMatchObject({ error: { code: 'TET_ERR_HTTP_HEADERS_TOO_LARGE', details: {} } });
    const longId = await rawRequest(d, `/api/tasks/${'x'.repeat(5000)}`);
    expect(longId.status).toBe(400);
    expect(JSON.parse(longId.body)).toMatchObject({ error: { code: 'TET_ERR_HTTP_BAD_REQUEST' } });

    const none = await d.fetch('/api/tasks', { token: null });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(((await none.json()) as ErrorJson).error.details).toMatchObject({ scheme: 'Bearer' });
    const lower = await rawRequest(d, '/api/tasks', { authorization: `bearer ${TOKEN}` });
    expect(lower.status).toBe(200);
  });
});

describe('SSE with a Last-Event-ID beyond the last event (item 2)', () => {
  it('ends once the task ends', async () => {
    const d = await daemon();
    const res = await d.dispatch({ agent: 'a', prompt: d.prompt({ sleepMs: 800, out: 'late' }) });
    const stream = await d.fetch(`/api/tasks/${res.body.id}/events`, { headers: { 'last-event-id': '999999999' } });
    expect(stream.status).toBe(200);
    const events = await readSse(stream);
    expect(events).toEqual([]);
    expect((await d.task(res.body.id!)).status).toBe('succeeded');
    const garbage = await d.json<ErrorJson>('/api/events', { headers: { 'last-event-id': 'garbage' } });
    expect(garbage.status).toBe(400);
    expect(garbage.body.error.details.field).toBe('Last-Event-ID');
  });
});

describe('a second SIGTERM (item 5)', () => {
  it('answers ?wait clients 202 with the tasks\' states instead of closing their sockets', async () => {
    const d = await daemon({ drainTimeout: '60s' });
    const waiting = d.fetch('/api/dispatch?wait=true', { method: 'POST', body: JSON.stringify({ agent: 'a', prompt: d.prompt({ sleepMs: 60_000 }) }) });
    await waitUntil(() => started(d).length === 1);
    d.kill('SIGTERM');
    await waitUntil(() => d.hasLog('draining'));
    d.kill('SIGTERM');
    const answer = await waiting;
    expect(answer.status).toBe(202);
    const body = (await answer.json()) as { tasks: Array<{ status: string }> };
    expect(body.tasks[0]!.status).toMatch(/^(running|interrupted)$/);
    expect(await d.exited()).toBe(0);
  });
});

describe('serve --listen (item 16)', () => {
  it('refuses a port out of range in the argument check, and says when the address is not on this machine', async () => {
    const d = await DaemonHarness.create();
    pool.track(d);
    const range = await runCli(['--config', d.configPath, 'serve', '--log-format', 'json', '--listen', '127.0.0.1:99999'], { TETORA_HOME: d.home });
    expect(range.code).toBe(64);
    expect(range.stderr).toContain('port 99999 is out of range');
    const notHere = await runCli(['--config', d.configPath, 'serve', '--log-format', 'json', '--listen', '192.0.2.1:0'], { TETORA_HOME: d.home });
    expect(notHere.code).toBe(69);
    expect(notHere.stderr).toContain('not on this machine');
    expect(notHere.stderr).not.toContain('another daemon');
  });
});
