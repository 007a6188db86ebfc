/** `serve --log-format json`: every stderr line is JSON, with many SSE and ?wait clients (issue 10 item 18). */
import { describe, expect, it, vi } from 'vitest';
import { daemonPool } from '../helpers/daemon.js';
import { waitUntil } from '../helpers/engine-harness.js';

const pool = daemonPool();

describe('the JSON log', () => {
  it('has only JSON lines: no deprecation warning at start, no listener warning with 12 SSE and 12 ?wait clients', async () => {
    const d = await pool.start({ drainTimeout: '200ms', maxConcurrent: 2 });
    const streams = await Promise.all(Array.from({ length: 12 }, () => d.fetch('/api/events')));
    expect(streams.every((s) => s.status === 200)).toBe(true);
    const waits = Array.from({ length: 12 }, () => d.fetch('/api/dispatch?wait=true', { method: 'POST', body: JSON.stringify({ agent: 'a', prompt: d.prompt({ sleepMs: 30_000 }) }) }));
    await waitUntil(() => d.log().filter((l) => l.event === 'start').length === 2);
    // Every ?wait request accepted before the stop (a request still in flight at SIGTERM gets a 503 draining).
    await vi.waitFor(async () => expect((await d.json<{ tasks: unknown[] }>('/api/tasks?limit=50')).body.tasks).toHaveLength(12), { timeout: 30_000, interval: 50 });
    d.kill('SIGTERM');
    const answers = await Promise.all(waits);
    expect(answers.map((a) => a.status)).toEqual(Array.from({ length: 12 }, () => 202));
    expect(await d.exited()).toBe(0);
    // The harness keeps a line that is not JSON as { msg: line }: pino's lines always carry a level.
    const plain = d.logs.filter((l) => typeof l.level !== 'number');
    expect(plain.map((l) => l.msg)).toEqual([]);
    expect(d.logs.some((l) => String(l.msg).includes('FSTDEP') || String(l.msg).includes('MaxListeners'))).toBe(false);
  });
});
