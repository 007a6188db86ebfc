import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import type { ProviderAdapter } from '../../src/engine/provider.js';
import { ProviderRegistry } from '../../src/providers/registry.js';
import type { TaskEvent } from '../../src/store/tasks.js';
import { engineLifecycle, Harness, waitFor, waitTerminal, waitUntil } from '../helpers/engine-harness.js';

const { started, track } = engineLifecycle();

describe('engine: accepting tasks', () => {
  it('groups the requests of one turn into one commit; a bad request is refused alone; a repeated key in the group is one task', async () => {
    const h = new Harness();
    const e = await started(h);
    const published: TaskEvent[] = [];
    e.subscribe((ev) => published.push(ev));
    const good = Array.from({ length: 20 }, (_, i) => e.enqueueGrouped([{ agent: i % 2 ? 'a' : 'b', prompt: h.prompt({ out: `r${i}` }) }], { source: 'test' }));
    const bad = e.enqueueGrouped([{ agent: 'nobody', prompt: 'x' }], { source: 'test' }).then(
      () => 'accepted',
      (err: Error) => err.message,
    );
    const dupA = e.enqueueGrouped([{ agent: 'a', prompt: h.prompt({}), idempotencyKey: 'same' }], { source: 'test' });
    const dupB = e.enqueueGrouped([{ agent: 'a', prompt: h.prompt({}), idempotencyKey: 'same' }], { source: 'test' });
    // Nothing is committed (or published) before the group's commit.
    expect(e.list({ limit: 100 })).toEqual([]);
    expect(published).toEqual([]);

    const results = await Promise.all(good);
    expect(await bad).toMatch(/agent "nobody" is not defined/);
    const [[a], [b]] = await Promise.all([dupA, dupB]);
    expect(b!.task.id).toBe(a!.task.id);
    expect([a!.created, b!.created]).toEqual([true, false]);
    expect(results.map(([r]) => r!.created)).toEqual(Array(20).fill(true));
    expect(e.list({ limit: 100 }).length).toBe(21);
    const done = await waitTerminal(e, [...results.map(([r]) => r!.task.id), a!.task.id]);
    expect(done.every((t) => t.status === 'succeeded')).toBe(true);
    expect(done.slice(0, 20).map((t) => t.output)).toEqual(Array.from({ length: 20 }, (_, i) => `r${i}`));
  });

  it('a request whose key was taken by another request of the same group is refused whole (422), the others of the group commit', async () => {
    const h = new Harness();
    const e = await started(h);
    const batch = (n: number) => Array.from({ length: n }, (_, i) => ({ agent: 'a', prompt: h.prompt({}), idempotencyKey: `k\u001f${i}` }));
    // Two batches under one header key, as the HTTP API sends them (2 tasks, then 3: different digests).
    const two = batch(2);
    const three = batch(3);
    const first = e.enqueueGrouped(two, { source: 'test', requestDigest: 'two' });
    const second = e.enqueueGrouped(three, { source: 'test', requestDigest: 'three' }).then(
      () => undefined,
      (err: { code?: string; details?: Record<string, unknown> }) => err,
    );
    const other = e.enqueueGrouped([{ agent: 'b', prompt: h.prompt({}), idempotencyKey: 'other' }], { source: 'test' });
    const plain = e.enqueueGrouped([{ agent: 'b', prompt: h.prompt({}) }], { source: 'test' });
    const accepted = await first;
    expect(accepted.map((r) => r.created)).toEqual([true, true]);
    const refused = await second;
    expect(refused?.code).toBe('TET_ERR_IDEMPOTENCY_MISMATCH');
    expect(refused?.details).toMatchObject({ key: 'k', taskId: accepted[0]!.task.id });
    expect((await other)[0]!.created).toBe(true);
    expect((await plain)[0]!.created).toBe(true);
    // The refused batch wrote nothing: not its third task, not an event.
    expect(e.list({ limit: 100 }).length).toBe(4);
    expect(e.store.byIdempotencyKey('k\u001f2')).toBeUndefined();
    // The same batch again (a retry) is no conflict: it returns its tasks.
    const again = await e.enqueueGrouped(two, { source: 'test', requestDigest: 'two' });
    expect(again.map((r) => [r.task.id, r.created])).toEqual(accepted.map((r) => [r.task.id, false]));
    // enqueueMany checks the same way.
    expect(() => e.enqueueMany(three, { source: 'test', requestDigest: 'three' })).toThrow(/idempotency key "k" was already used/);
    expect(e.list({ limit: 100 }).length).toBe(4);
  });

  it('enqueueMany records a batch in one transaction: all or nothing', async () => {
    const h = new Harness();
    const e = await started(h);
    expect(() => e.enqueueMany([{ agent: 'a', prompt: 'ok' }, { agent: 'a', prompt: '' }], { source: 'test' })).toThrow(/prompt/);
    expect(e.list({ limit: 10 })).toEqual([]);
    const ok = e.enqueueMany([{ agent: 'a', prompt: h.prompt({}) }, { agent: 'b', prompt: h.prompt({}) }], { source: 'test' });
    expect(ok.map((r) => r.task.status)).toEqual(['queued', 'queued']);
    await waitTerminal(e, ok.map((r) => r.task.id));
  });
});

describe('engine: an abort that arrives after the run completed', () => {
  it('a cancel while the worktree is being released does not throw the finished answer away', async () => {
    const h = new Harness({ agents: { a: { provider: 'fake', worktree: true } } });
    let releasing!: () => void;
    const releaseStarted = new Promise<void>((r) => (releasing = r));
    let finishRelease!: () => void;
    const workspaces = {
      acquire: async () => ({
        workdir: h.home,
        heartbeat: () => {},
        release: async () => {
          releasing();
          await new Promise<void>((r) => (finishRelease = r));
          return { path: h.home, branch: 'tetora/a/x', baseBranch: 'main', commits: 1, dirty: false, removed: false };
        },
      }),
      reconcile: async () => {},
    };
    const config = h.config();
    const e = new Engine({ config, providers: new ProviderRegistry(config), killGraceMs: 500, workspaces });
    track(e);
    await e.start();
    const { task } = e.enqueue({ agent: 'a', prompt: h.prompt({ out: 'finished work' }) }, { source: 'test' });
    await releaseStarted;
    const cancelling = e.cancel(task.id, 'test');
    finishRelease();
    await cancelling;
    const [t] = await waitTerminal(e, [task.id]);
    expect(t).toMatchObject({ status: 'succeeded', output: 'finished work', runs: 1 });
  });
});

describe('engine: a worktree that never gets ready', () => {
  it('cancel and timeout end the run while the worktree is still being prepared, and a late lease is released', async () => {
    const h = new Harness({ agents: { a: { provider: 'fake', worktree: true } } });
    const pending: Array<(l: { workdir: string; heartbeat(): void; release(): Promise<never> }) => void> = [];
    let released = 0;
    const workspaces = {
      acquire: () => new Promise<never>((resolve) => pending.push(resolve as never)),
      reconcile: async () => {},
    };
    const config = h.config();
    const e = new Engine({ config, providers: new ProviderRegistry(config), killGraceMs: 500, workspaces: workspaces as never });
    track(e);
    await e.start();
    const cancelled = e.enqueue({ agent: 'a', prompt: h.prompt({}) }, { source: 'test' }).task;
    const timed = e.enqueue({ agent: 'a', prompt: h.prompt({}), timeout: '300ms' }, { source: 'test' }).task;
    await waitFor(e, () => pending.length === 2);
    await e.cancel(cancelled.id, 'test');
    const [c, t] = await waitTerminal(e, [cancelled.id, timed.id]);
    expect(c).toMatchObject({ status: 'cancelled' });
    expect(t).toMatchObject({ status: 'timed_out' });
    expect(h.log()).toEqual([]); // the agent never ran
    // The worktrees get ready after all: their leases are given back at once.
    for (const resolve of pending) resolve({ workdir: h.home, heartbeat: () => {}, release: async () => (released++, undefined as never) });
    await waitUntil(() => released === 2);
  });
});

describe('engine: the no-output watchdog and silent tools', () => {
  /** An adapter that reports a tool call (or not), stays silent for a while, then answers. */
  const silentFor = (ms: number, withTool: boolean): ProviderAdapter => ({
    name: 'scripted',
    type: 'scripted',
    run: async (_req, signal, sink) => {
      if (withTool) sink.event({ type: 'tool_call', data: { id: 'call-1', name: 'Bash', input: 'npm test' } });
      const aborted = await new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), ms);
        signal.addEventListener('abort', () => (clearTimeout(t), resolve(true)), { once: true });
      });
      if (aborted) return { class: 'cancelled', output: '' };
      if (withTool) sink.event({ type: 'tool_result', data: { id: 'call-1', output: 'all tests pass' } });
      return { class: 'success', output: 'done' };
    },
  });

  it('does not end a run while a tool it started is still running, but does end a silent run with no tool open', async () => {
    const h = new Harness({ noOutputTimeout: '200ms', defaultProvider: 'scripted', providers: { scripted: { type: 'command', path: '/bin/true' } }, agents: { tool: { provider: 'scripted' }, quiet: { provider: 'scripted' } } });
    const config = h.config();
    const adapters: Record<string, ProviderAdapter> = { tool: silentFor(1_000, true), quiet: silentFor(1_000, false) };
    let agentOf = '';
    const e = new Engine({ config, providers: { get: () => adapters[agentOf] }, killGraceMs: 500 });
    track(e);
    await e.start();
    agentOf = 'tool';
    const withTool = e.enqueue({ agent: 'tool', prompt: 'run the tests' }, { source: 'test' }).task;
    const [a] = await waitTerminal(e, [withTool.id]);
    agentOf = 'quiet';
    const quiet = e.enqueue({ agent: 'quiet', prompt: 'think' }, { source: 'test' }).task;
    const [b] = await waitTerminal(e, [quiet.id]);
    expect(a).toMatchObject({ status: 'succeeded', output: 'done' });
    expect(b).toMatchObject({ status: 'timed_out', errorMessage: 'no output from the provider for 200ms' });
  });
});
