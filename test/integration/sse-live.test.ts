/**
 * Live SSE through the real daemon while a task publishes far faster than any socket drains: the runner
 * turns a 200k-line output into tens of thousands of events per turn, so a live client's unsent data passes
 * the per-client bound before its socket can drain. Such a client is switched back to paged replay from
 * the store and goes live again once caught up; it is never disconnected for it.
 */
import { describe, expect, it } from 'vitest';
import { daemonPool, readSse } from '../helpers/daemon.js';

const pool = daemonPool();

describe('a client that reads /api/events at full speed during a huge task', () => {
  it('gets every event once, in order, to the end of the task, and is live again afterwards', async () => {
    const d = await pool.start();
    const LINES = 200_000;
    const res = await d.fetch('/api/events');
    expect(res.status).toBe(200);
    let big: string | undefined;
    let after: string | undefined;
    // Reads until the event of the second (small) task's end: the stream has to stay open through the big one.
    const reading = readSse(res, (e) => after !== undefined && e.data.taskId === after && e.event === 'succeeded');
    big = (await d.dispatch({ agent: 'a', prompt: d.prompt({ bigOutput: LINES * 16, lineBytes: 16 }) })).body.id;
    const [done] = await d.waitTerminal([big!], 120_000);
    expect(done!.status).toBe('succeeded');
    after = (await d.dispatch({ agent: 'b', prompt: d.prompt({ out: 'after' }) })).body.id;
    const events = await reading;
    const seqs = events.map((e) => Number(e.id));
    expect(seqs.every((s, i) => i === 0 || s === (seqs[i - 1] as number) + 1)).toBe(true);
    // Exactly the task's events as the store has them (its own stream replays them from the store).
    const ofBig = events.filter((e) => e.data.taskId === big);
    const stored = await readSse(await d.fetch(`/api/tasks/${big}/events`));
    expect(ofBig.map((e) => e.id)).toEqual(stored.map((e) => e.id));
    expect(ofBig.filter((e) => e.event === 'provider.text').length).toBeGreaterThanOrEqual(LINES);
    expect(ofBig.at(-1)!.event).toBe('succeeded');
    expect(events.at(-1)).toMatchObject({ event: 'succeeded', data: { taskId: after } });
    expect(d.hasLog('SSE client disconnected')).toBe(false);
  }, 180_000);
});
