/**
 * Idempotency under concurrency, through the real daemon: two different requests sent at once with one
 * Idempotency-Key. Whatever order they commit in, exactly one of them is accepted and the other is a 422
 * that wrote nothing (no task of it exists, none runs); requests with other keys sent at the same moment
 * (often in the same group commit) are accepted as usual.
 */
import { describe, expect, it } from 'vitest';
import { daemonPool, type DaemonHarness } from '../helpers/daemon.js';

const pool = daemonPool();

interface DispatchJson {
  tasks?: Array<{ id: string; created: boolean }>;
  error?: { code: string; details: Record<string, unknown> };
}

const post = (d: DaemonHarness, body: unknown, key?: string) =>
  d.json<DispatchJson>('/api/dispatch', { method: 'POST', body: JSON.stringify(body), ...(key ? { headers: { 'idempotency-key': key } } : {}) });

describe('two batches with one Idempotency-Key sent at once', () => {
  it('one is accepted, the other is refused with 422 and leaves no task; other requests of the same moment are accepted', async () => {
    // One task at a time: the tasks run (as a written task would), without loading the machine.
    const d = await pool.start({ maxConcurrent: 1 });
    const ROUNDS = 40;
    let expected = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const key = `race-${round}`;
      const task = (n: number) => ({ agent: 'a', prompt: d.prompt({ out: `r${round}-${n}` }) });
      const [two, three, other, plain] = await Promise.all([
        post(d, [task(0), task(1)], key),
        post(d, [task(0), task(1), task(2)], key),
        post(d, { agent: 'b', prompt: d.prompt({}) }, `other-${round}`),
        post(d, { agent: 'b', prompt: d.prompt({}) }),
      ]);
      const statuses = [two.status, three.status].sort();
      expect(statuses, `round ${round}`).toEqual([202, 422]);
      const [won, lost] = two.status === 202 ? [two, three] : [three, two];
      expect(won.body.tasks!.every((t) => t.created)).toBe(true);
      expect(lost.body.error!.code).toBe('TET_ERR_IDEMPOTENCY_MISMATCH');
      expect(lost.body.error!.details).toMatchObject({ key, taskId: won.body.tasks![0]!.id });
      expect(other.status).toBe(202);
      expect(other.body.tasks![0]!.created).toBe(true);
      expect(plain.status).toBe(202);
      expect(plain.body.tasks![0]!.created).toBe(true);
      expected += won.body.tasks!.length + 2;
    }
    const all = await d.json<{ tasks: Array<{ id: string }> }>('/api/tasks?limit=1000');
    expect(all.body.tasks.length).toBe(expected);
  });
});
