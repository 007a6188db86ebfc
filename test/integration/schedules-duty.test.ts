import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import { silentLogger } from '../../src/engine/logger.js';
import type { ScheduleClock } from '../../src/schedules/clock.js';
import { ScheduleService } from '../../src/schedules/service.js';
import type { WorkflowStartMeta } from '../../src/schedules/types.js';
import { ScheduleStore } from '../../src/store/schedules.js';
import { engineLifecycle, Harness, waitUntil } from '../helpers/engine-harness.js';

/**
 * Two daemons on one store (here two schedule services with different instance ids over one engine: the
 * home lock keeps two engines off one store on one host, but schedules are built not to assume it). A
 * job's schedule is held by one of them at a time, and a time fired by one is not fired again by the
 * other when it takes the schedule over at that same time.
 */
const { started } = engineLifecycle();

/** The engine as another daemon instance sees the same store. */
function asInstance(engine: Engine, instanceId: string): Engine {
  return {
    db: engine.db,
    instanceId,
    config: engine.config,
    atomically: <T>(fn: () => T) => engine.atomically(fn),
    enqueue: (input: unknown, ctx: Parameters<Engine['enqueue']>[1]) => engine.enqueue(input, ctx),
    subscribe: (fn: Parameters<Engine['subscribe']>[0]) => engine.subscribe(fn),
    get: (id: string) => engine.get(id),
  } as unknown as Engine;
}

describe('a schedule shared by two daemons', () => {
  it('is held by one at a time and fires each time once, also across a takeover at that time', async () => {
    const h = new Harness();
    writeFileSync(join(h.home, 'jobs.json'), JSON.stringify({ jobs: [{ id: 'tick', schedule: '* * * * *', task: { prompt: h.prompt({ out: 'ok' }), agent: 'a' } }] }));
    const engine = await started(h);
    let now = Date.parse('2026-01-01T00:00:30Z');
    const clock: ScheduleClock = { now: () => now, pollMs: 20, test: true };
    const make = (id: string) => new ScheduleService({ engine: asInstance(engine, id), config: engine.config, log: silentLogger, clock, leaseTtlMs: 600 });
    const a = make('daemon-A');
    const b = make('daemon-B');
    await a.start();
    await b.start();
    const held = () => [a.listJobs().jobs[0]?.held, b.listJobs().jobs[0]?.held];
    await waitUntil(() => held().includes(true));
    expect(held().filter(Boolean)).toHaveLength(1);
    const [first, second] = held()[0] ? [a, b] : [b, a];

    now = Date.parse('2026-01-01T00:01:00Z');
    await waitUntil(() => first.store.recent('job:tick').length === 1);

    // The holder stops (its lease is given up) with the clock still at 00:01: the other takes the
    // schedule over, finds 00:01 due, and the recorded firing keeps it from firing again.
    await first.stop();
    await waitUntil(() => second.listJobs().jobs[0]?.held === true);
    now = Date.parse('2026-01-01T00:01:30Z');
    await waitUntil(() => second.listJobs().jobs[0]?.nextFireAt === '2026-01-01T00:02:00.000Z');
    now = Date.parse('2026-01-01T00:02:00Z');
    await waitUntil(() => second.store.recent('job:tick').length === 2);
    const times = second.store.recent('job:tick').map((f) => new Date(f.scheduledAt).toISOString()).reverse();
    expect(times).toEqual(['2026-01-01T00:01:00.000Z', '2026-01-01T00:02:00.000Z']);
    expect(engine.list({ source: 'cron' })).toHaveLength(2);
    await second.stop();
  });
});

describe('a trigger firing recorded but not confirmed before a crash', () => {
  it('starts its workflow again when the schedule is taken up, with the same idempotency key, and records the run', async () => {
    const h = new Harness({ workflowTriggers: [{ name: 'hourly', workflowName: 'report', trigger: { type: 'cron', cron: '0 * * * *' } }] });
    const engine = await started(h);
    const at = Date.parse('2026-01-01T01:00:00Z');
    const store = new ScheduleStore(engine.db);
    // What a daemon killed between recording the firing and hearing back from the runner leaves.
    const f = store.insert({ schedule: 'trigger:hourly', scheduledAt: at, kind: 'cron', firedAt: at, status: 'starting', detail: { workflow: 'report', variables: { depth: '2' } } });
    const calls: Array<{ name: string; variables: Record<string, string>; meta: WorkflowStartMeta }> = [];
    const starter = {
      start: async (name: string, variables: Record<string, string>, meta: WorkflowStartMeta) => {
        calls.push({ name, variables, meta });
        return { runId: 'run-1' };
      },
    };
    const clock: ScheduleClock = { now: () => Date.parse('2026-01-01T01:20:00Z'), pollMs: 20, test: true };
    const svc = new ScheduleService({ engine, config: engine.config, log: silentLogger, clock, starter });
    await svc.start();
    await waitUntil(() => store.get(f?.id as number)?.status === 'started');
    expect(calls).toEqual([{ name: 'report', variables: { depth: '2' }, meta: { source: 'trigger', trigger: { name: 'hourly', firingId: f?.id, scheduledAt: at, kind: 'cron', idempotencyKey: `trigger:hourly:${at}` } } }]);
    expect(store.get(f?.id as number)).toMatchObject({ status: 'started', workflowRunId: 'run-1' });
    await svc.stop();
  });
});
