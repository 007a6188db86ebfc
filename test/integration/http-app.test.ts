/** The HTTP app on a real engine and store: a 500 is logged with the request id its body carries (issue 10 item 7). */
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../src/http/app.js';
import { Harness } from '../helpers/engine-harness.js';

describe('internal errors', () => {
  it('are logged through the daemon logger with the request id that the 500 body carries (details.requestId)', async () => {
    const h = new Harness();
    const engine = h.engine();
    await engine.start();
    const lines: Array<{ obj: Record<string, unknown>; msg?: string }> = [];
    const record = (obj: object, msg?: string) => void lines.push({ obj: obj as Record<string, unknown>, ...(msg ? { msg } : {}) });
    const { app, metrics } = buildApp({ engine, version: 't', apiToken: () => undefined, requestDrain: () => {}, draining: () => false, log: { info: () => {}, debug: () => {}, warn: record, error: record } });
    // A real fault: the store is closed under the app (as when the disk or the database fails).
    await engine.stop();
    const res = await app.inject({ method: 'GET', url: '/api/tasks' });
    expect(res.statusCode).toBe(500);
    const body = res.json<{ error: { code: string; message: string; details: { requestId?: string } } }>();
    expect(body.error.code).toBe('TET_ERR_INTERNAL');
    const id = body.error.details.requestId;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.error.message).toContain(id);
    expect(res.headers['x-request-id']).toBe(id);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.obj).toMatchObject({ requestId: id, method: 'GET', url: '/api/tasks' });
    metrics.close();
    await app.close();
  });
});

describe('a live SSE client that falls behind', () => {
  it('gets no more live events past the per-client bound, catches up from the store once it reads again, and is not disconnected', async () => {
    const h = new Harness();
    const engine = h.engine();
    // Not started: the task stays queued, so its stream stays live while the test appends events.
    const { task } = engine.enqueue({ agent: 'a', prompt: 'x' }, { source: 'test' });
    const { app, metrics } = buildApp({ engine, version: 't', apiToken: () => undefined, requestDrain: () => {}, draining: () => false, sse: { maxBufferedBytes: 256 * 1024 } });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const port = (app.server.address() as AddressInfo).port;
    const chunks: Buffer[] = [];
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write(`GET /api/tasks/${task.id}/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    await new Promise<void>((r) => socket.once('data', (b: Buffer) => (chunks.push(b), r())));
    socket.pause();
    // 16 MiB of live events to a client that does not read: beyond the kernel's socket buffers and the bound.
    const text = 'y'.repeat(4096);
    let lastSeq = 0;
    for (let i = 0; i < 4_000; i += 100) {
      const batch = engine.store.atomically(() => Array.from({ length: 100 }, () => engine.store.appendEvent(task.id, 'provider.text', { text }, Date.now())));
      for (const e of batch) engine.bus.emit(e);
      lastSeq = batch.at(-1)!.seq;
      await new Promise((r) => setImmediate(r));
    }
    const all = new Promise<string>((resolve) => {
      let tail = '';
      socket.on('data', (b: Buffer) => {
        chunks.push(b);
        tail = (tail + b.toString('latin1')).slice(-64 - b.length);
        if (tail.includes(`id: ${lastSeq}\n`)) resolve(Buffer.concat(chunks).toString('utf8'));
      });
      socket.once('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
    socket.resume();
    const got = await all;
    expect(got).not.toContain(': disconnected:');
    const ids = [...got.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(ids).toHaveLength(4_000 + 1); // the queued event, then every appended one
    expect(ids.every((s, i) => i === 0 || s === (ids[i - 1] as number) + 1)).toBe(true);
    // Live again: a new event arrives at once.
    const next = new Promise<void>((r) => socket.on('data', (b: Buffer) => b.includes('"late"') && r()));
    engine.bus.emit(engine.store.appendEvent(task.id, 'provider.text', { text: 'late' }, Date.now()));
    await next;
    socket.destroy();
    metrics.close();
    await app.close();
    await engine.stop();
  });
});
