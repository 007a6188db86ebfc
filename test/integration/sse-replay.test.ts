/**
 * SSE replay of a huge task through the real daemon (issue 10 item 1): paged, with backpressure. Checked
 * through the process — /healthz answers while clients that never read are mid-replay, and the daemon's
 * RSS stays under a bound — never by timing.
 */
import { connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { openDb } from '../../src/store/db.js';
import { TaskStore } from '../../src/store/tasks.js';
import { DaemonHarness, daemonPool, readSse, TOKEN } from '../helpers/daemon.js';
import { waitUntil } from '../helpers/engine-harness.js';
import { holdsConnection } from '../helpers/sockets.js';

const pool = daemonPool();
const sockets: Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
});

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1]) / 1024;
}

/** The daemon's count of open SSE streams, from /metrics. */
async function sseStreams(d: DaemonHarness): Promise<number> {
  const text = await (await d.fetch('/metrics')).text();
  return Number(/^tetora_sse_streams (\d+)$/m.exec(text)?.[1]);
}

/** A finished task with `count` text events of `size` bytes each, written straight into the store. */
function seedHugeTask(d: DaemonHarness, count: number, size: number): string {
  const db = openDb(d.config().dbPath);
  const store = new TaskStore(db);
  const id = '00000000-0000-4000-8000-000000000001';
  const line = 'x'.repeat(size);
  store.atomically(() => {
    store.insert({ id, source: 'test', prompt: 'huge', status: 'succeeded', maxAttempts: 1, priority: 0, createdAt: 1 }, { type: 'queued', data: {} });
    for (let i = 0; i < count; i++) store.appendEvent(id, 'provider.text', { text: line, i }, 2);
    store.appendEvent(id, 'succeeded', {}, 3);
  });
  db.close();
  return id;
}

/** An SSE client that sends its request and then never reads. */
function stuckClient(d: DaemonHarness, path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(d.port, '127.0.0.1', () => {
      s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\nAccept: text/event-stream\r\n\r\n`);
      // Read the first bytes (the status line) so the replay has surely started, then stop reading.
      s.once('data', () => {
        s.pause();
        resolve(s);
      });
    });
    s.on('error', reject);
    sockets.push(s);
  });
}

describe('SSE replay of a huge task', () => {
  it('four clients that never read keep the daemon answering /healthz and its RSS bounded; a reading client gets every event once, in order', async () => {
    const d = pool.track(await DaemonHarness.create());
    const COUNT = 16_000;
    const id = seedHugeTask(d, COUNT, 4096); // ~64 MiB of event data
    await d.start();
    const pid = d.child!.pid!;
    const before = rssMiB(pid);
    const stuck = await Promise.all([1, 2, 3, 4].map(() => stuckClient(d, `/api/tasks/${id}/events`)));
    expect(stuck).toHaveLength(4);
    const health = await d.fetch('/healthz', { token: null });
    expect(health.status).toBe(200);
    // The stuck clients are still mid-replay (their sockets are open, nothing ended them), and the
    // daemon holds about one page per client, not the task: 4 × 64 MiB would be far above this bound.
    expect(stuck.every((s) => !s.destroyed && !s.readableEnded)).toBe(true);
    const reading = await readSse(await d.fetch(`/api/tasks/${id}/events`));
    expect(reading).toHaveLength(COUNT + 2);
    const seqs = reading.map((e) => Number(e.id));
    expect(seqs.every((s, i) => i === 0 || s === (seqs[i - 1] as number) + 1)).toBe(true);
    expect(reading.at(-1)!.event).toBe('succeeded');
    const grown = rssMiB(pid) - before;
    expect(grown).toBeLessThan(150);
    // A garbage Last-Event-ID does not replay everything from the start.
    expect((await d.fetch('/api/events', { headers: { 'last-event-id': 'garbage' } })).status).toBe(400);
  });

  it('a client that stops reading mid-replay is disconnected once its socket sent nothing for the stall limit, and logged', async () => {
    const d = pool.track(await DaemonHarness.create());
    const id = seedHugeTask(d, 4000, 4096); // ~16 MiB: far more than the socket buffers take
    await d.start({ env: { TETORA_SSE_LIMITS: JSON.stringify({ stallMs: 1000 }) } });
    const pid = d.child!.pid!;
    // A control: an idle keep-alive connection the daemon holds (the check below can see a held connection).
    const idle = await new Promise<Socket>((resolve, reject) => {
      const s = connect(d.port, '127.0.0.1', () => s.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'));
      s.once('data', () => resolve(s));
      s.on('error', reject);
      sockets.push(s);
    });
    const stuck = await stuckClient(d, `/api/tasks/${id}/events`);
    await waitUntil(() => !holdsConnection(pid, d.port, stuck.localPort!), 30_000);
    expect(holdsConnection(pid, d.port, idle.localPort!)).toBe(true);
    const line = d.logs.find((l) => l.msg === 'SSE client disconnected');
    expect(line).toMatchObject({ path: `/api/tasks/${id}/events`, reason: expect.stringContaining('read nothing for 1 s') });
    expect(line!.reason).toContain('reconnect with Last-Event-ID');
    expect(await sseStreams(d)).toBe(0);
  });
});
