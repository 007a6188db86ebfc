import { describe, expect, it } from 'vitest';
import { engineLifecycle, Harness, intervals, processAlive, waitTerminal, waitUntil } from '../helpers/engine-harness.js';

const { started } = engineLifecycle();

describe('engine: caps and ordering', () => {
  it('never runs more than maxTasksPerAgent of one agent, never holds up another agent, and starts each agent in arrival order', async () => {
    const h = new Harness({
      agents: { a: { provider: 'fake', maxTasksPerAgent: 2 }, b: { provider: 'fake' } },
    });
    const e = await started(h);
    const aIds = Array.from({ length: 6 }, () => e.enqueue({ agent: 'a', prompt: h.prompt({ sleepMs: 300 }) }, { source: 'test' }).task.id);
    const bIds = Array.from({ length: 3 }, () => e.enqueue({ agent: 'b', prompt: h.prompt({ sleepMs: 50 }) }, { source: 'test' }).task.id);
    const done = await waitTerminal(e, [...aIds, ...bIds]);
    expect(done.map((t) => t.status)).toEqual(Array(9).fill('succeeded'));

    const runs = intervals(h.log());
    const aRuns = runs.filter((r) => aIds.includes(r.taskId));
    const bRuns = runs.filter((r) => bIds.includes(r.taskId));
    // Never more than 2 of agent a at once: at each start, count a-runs that overlap it.
    for (const r of aRuns) {
      const overlapping = aRuns.filter((o) => o.start <= r.start && (o.end ?? Infinity) > r.start);
      expect(overlapping.length).toBeLessThanOrEqual(2);
    }
    // Arrival order per agent, as the ledger claimed them (two runs started in one pass race to log their
    // own start, so the agents' clocks cannot order them).
    const claimSeq = (id: string) => e.events(id).find((ev) => ev.type === 'running')!.seq;
    // Agent b is never held up by a's cap: the ledger claimed every b task before the third a task.
    expect(bRuns).toHaveLength(bIds.length);
    const thirdA = aIds.map(claimSeq).sort((x, y) => x - y)[2] as number;
    for (const id of bIds) expect(claimSeq(id)).toBeLessThan(thirdA);
    const order = [...aIds].sort((x, y) => claimSeq(x) - claimSeq(y));
    expect(order).toEqual(aIds);
    // The ledger agrees: each task ran exactly once.
    for (const id of aIds) expect(e.runs(id)).toHaveLength(1);
  });

  it('never overlaps two tasks of one session key', async () => {
    const h = new Harness();
    const e = await started(h);
    const ids = [1, 2, 3].map(() => e.enqueue({ agent: 'a', sessionKey: 'chat-1', prompt: h.prompt({ sleepMs: 150 }) }, { source: 'test' }).task.id);
    await waitTerminal(e, ids);
    const runs = intervals(h.log()).sort((x, y) => x.start - y.start);
    expect(runs.map((r) => r.taskId)).toEqual(ids);
    for (let i = 1; i < runs.length; i++) expect(runs[i]!.start).toBeGreaterThanOrEqual(runs[i - 1]!.end as number);
  });

  it('applies a lowered cap (config reload) to the next start without a restart', async () => {
    const h = new Harness();
    const e = await started(h);
    h.writeConfig({ ...JSON.parse(JSON.stringify({})), maxConcurrent: 8, defaultProvider: 'fake', defaultWorkdir: h.home,
      providers: { fake: { type: 'command', path: process.execPath, args: [new URL('../helpers/fake-agent.mjs', import.meta.url).pathname] } },
      agents: { a: { provider: 'fake', maxTasksPerAgent: 1 } } });
    e.reload(h.config());
    const ids = [1, 2, 3].map(() => e.enqueue({ agent: 'a', prompt: h.prompt({ sleepMs: 100 }) }, { source: 'test' }).task.id);
    expect((await waitTerminal(e, ids)).map((t) => t.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    const runs = intervals(h.log()).sort((x, y) => x.start - y.start);
    expect(runs).toHaveLength(3);
    for (let i = 1; i < runs.length; i++) expect(runs[i]!.start).toBeGreaterThanOrEqual(runs[i - 1]!.end as number);
  });
});

describe('engine: retry policy', () => {
  it('retries a transient failure twice and succeeds on attempt 3, recording the backoff; a longer Retry-After is honoured', async () => {
    const h = new Harness();
    const e = await started(h);
    const { task } = e.enqueue(
      {
        agent: 'a',
        prompt: h.prompt(
          { exit: 1, stderr: 'service temporarily unavailable' },
          { exit: 1, stderr: 'service temporarily unavailable Retry-After: 0.6' },
          { out: 'finally' },
        ),
      },
      { source: 'test' },
    );
    const [t] = await waitTerminal(e, [task.id]);
    expect(t!.status).toBe('succeeded');
    expect(t!.attempt).toBe(3);
    expect(t!.output).toBe('finally');
    const retries = e.events(task.id).filter((ev) => ev.type === 'retry_wait');
    expect(retries).toHaveLength(2);
    expect(retries.map((r) => r.data.attempt)).toEqual([1, 2]);
    expect(retries[1]!.data.delayMs).toBeGreaterThanOrEqual(600);
    expect(retries[1]!.data.retryAfterMs).toBe(600);
    const runs = e.runs(task.id);
    expect(runs.map((r) => r.attempt)).toEqual([1, 2, 3]);
    // The third run started no earlier than the Retry-After allowed.
    expect(runs[2]!.startedAt).toBeGreaterThanOrEqual(retries[1]!.data.notBefore as number);
  });

  it('parks a rate-limited task until its reset time and resumes it without using an attempt', async () => {
    const h = new Harness();
    const e = await started(h);
    const { task } = e.enqueue({ agent: 'a', prompt: h.prompt({ exit: 1, stderr: 'RATE LIMITED', resetInMs: 1000 }, { out: 'after reset' }) }, { source: 'test' });
    const [t] = await waitTerminal(e, [task.id]);
    expect(t!.status).toBe('succeeded');
    expect(t!.attempt).toBe(1);
    const parked = e.events(task.id).find((ev) => ev.type === 'rate_limited');
    expect(parked).toBeDefined();
    const runs = e.runs(task.id);
    expect(runs).toHaveLength(2);
    expect(runs.map((r) => r.attempt)).toEqual([1, 1]);
    expect(runs[1]!.startedAt).toBeGreaterThanOrEqual(parked!.data.notBefore as number);
    expect(t!.parkedMs).toBeGreaterThan(0);
  });

  it('fails a permanent error after exactly one attempt with the agent message', async () => {
    const h = new Harness();
    const e = await started(h);
    const { task } = e.enqueue({ agent: 'a', prompt: h.prompt({ exit: 2, stderr: 'invalid API key: check providers.fake' }) }, { source: 'test' });
    const [t] = await waitTerminal(e, [task.id]);
    expect(t!.status).toBe('failed');
    expect(t!.attempt).toBe(1);
    expect(e.runs(task.id)).toHaveLength(1);
    expect(t!.errorMessage).toContain('invalid API key: check providers.fake');
    expect(t!.errorClass).toBe('permanent');
  });

  it('turns a successful run with empty output into failed "the agent produced no output"', async () => {
    const h = new Harness();
    const e = await started(h);
    const { task } = e.enqueue({ agent: 'a', prompt: h.prompt({ silent: true }) }, { source: 'test' });
    const [t] = await waitTerminal(e, [task.id]);
    expect(t!.status).toBe('failed');
    expect(t!.errorMessage).toBe('the agent produced no output');
  });
});

describe('engine: cancel and timeout kill the whole process group', () => {
  it('cancel kills a running agent and its grandchild', async () => {
    const h = new Harness();
    const e = await started(h);
    const { task } = e.enqueue({ agent: 'a', prompt: h.prompt({ sleepMs: 60_000, grandchild: true }) }, { source: 'test' });
    await waitUntil(() => h.log().some((l) => l.event === 'grandchild'));
    const gc = h.log().find((l) => l.event === 'grandchild')!.grandchildPid!;
    const agentPid = h.log().find((l) => l.event === 'start')!.pid;
    expect(processAlive(gc)).toBe(true);
    const t = await e.cancel(task.id);
    expect(t.status).toBe('cancelled');
    expect(t.errorMessage).toBe('cancelled by user');
    // The group is signalled at once; its members need a moment to act on it.
    await waitUntil(() => !processAlive(agentPid) && !processAlive(gc), 10_000);
  });

  it('timeout kills an agent that ignores SIGTERM, and its grandchild', async () => {
    const h = new Harness();
    const e = await started(h);
    const { task } = e.enqueue({ agent: 'a', timeout: '1s', prompt: h.prompt({ sleepMs: 60_000, grandchild: true, ignoreTerm: true }) }, { source: 'test' });
    const [t] = await waitTerminal(e, [task.id]);
    expect(t!.status).toBe('timed_out');
    expect(t!.errorMessage).toBe('timed out after 1s');
    const gc = h.log().find((l) => l.event === 'grandchild')!.grandchildPid!;
    await waitUntil(() => !processAlive(gc), 10_000).catch(() => {});
    expect(processAlive(gc)).toBe(false);
  });

  it('cancels a queued task at once', async () => {
    const h = new Harness({ maxConcurrent: 1 });
    const e = await started(h);
    const first = e.enqueue({ agent: 'a', prompt: h.prompt({ sleepMs: 500 }) }, { source: 'test' }).task;
    const second = e.enqueue({ agent: 'a', prompt: h.prompt({ sleepMs: 10 }) }, { source: 'test' }).task;
    const t = await e.cancel(second.id);
    expect(t.status).toBe('cancelled');
    await waitTerminal(e, [first.id]);
    expect(e.runs(second.id)).toHaveLength(0);
  });
});

describe('engine: enqueue', () => {
  it('rejects a bad request naming the field and records nothing', async () => {
    const h = new Harness();
    const e = await started(h);
    expect(() => e.enqueueMany([{ prompt: 'ok', agent: 'a' }, { prompt: '', agent: 'a' }], { source: 'test' })).toThrow(/tasks\[1\]\.prompt/);
    expect(() => e.enqueue({ prompt: 'x', agent: 'nobody' }, { source: 'test' })).toThrow(/agent "nobody" is not defined/);
    expect(e.list()).toHaveLength(0);
  });

  it('returns the same task for a repeated idempotency key', async () => {
    const h = new Harness();
    const e = await started(h);
    const a = e.enqueue({ prompt: h.prompt({}), agent: 'a', idempotencyKey: 'k1' }, { source: 'test' });
    const b = e.enqueue({ prompt: h.prompt({}), agent: 'a', idempotencyKey: 'k1' }, { source: 'test' });
    expect(a.created).toBe(true);
    expect(b.created).toBe(false);
    expect(b.task.id).toBe(a.task.id);
    await waitTerminal(e, [a.task.id]);
  });
});
