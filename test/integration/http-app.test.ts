/** The HTTP app on a real engine and store: a 500 is logged with the request id its body carries (issue 10 item 7). */
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
