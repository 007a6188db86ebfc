import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { BoardService } from '../../src/board/service.js';
import { Engine } from '../../src/engine/engine.js';
import { silentLogger } from '../../src/engine/logger.js';
import { TetoraError } from '../../src/errors.js';
import { ProviderRegistry } from '../../src/providers/registry.js';
import type { Ticket } from '../../src/store/board.js';
import { boardConfig, mixedText, promptOf, runs, script } from '../helpers/board.js';
import { Harness, waitUntil } from '../helpers/engine-harness.js';

/** The board on a real engine (real SQLite, the board agent as a `command` provider). */
const open: Array<{ stop(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.stop();
});

function harness(taskBoard: Record<string, unknown> = {}): Harness {
  const h = new Harness();
  h.writeConfig({ maxConcurrent: 8, defaultWorkdir: h.home, ...boardConfig(h.home, taskBoard) });
  return h;
}

async function started(h: Harness, opts: { scan?: boolean } = {}): Promise<{ engine: Engine; board: BoardService }> {
  const engine = h.engine();
  const board = new BoardService({ engine, config: () => engine.config, log: silentLogger });
  open.push(engine);
  await engine.start();
  if (opts.scan !== false) {
    board.start();
    open.unshift(board); // stopped before its engine
  }
  return { engine, board };
}

const status = (board: BoardService, id: string) => (board.store.get(id) as Ticket).status;
const settled = (board: BoardService, id: string, want: string[]) => waitUntil(() => want.includes(status(board, id)), 60_000);

describe('the task board on a real engine', () => {
  it('passes a 1 MB finding of mixed UTF-8 down a chain A → B → C byte for byte', async () => {
    const h = harness();
    const aOut = mixedText(1024 * 1024, 'A');
    const bOut = mixedText(1024 * 1024 + 7, 'B');
    script(h.home, 'T-1.out', aOut);
    script(h.home, 'T-2.out', bOut);
    const { board } = await started(h);
    const a = board.add({ title: 'A', description: 'first' });
    const b = board.add({ title: 'B', dependsOn: [a.id] });
    const c = board.add({ title: 'C', dependsOn: [b.id] });
    await settled(board, c.id, ['done', 'failed', 'review']);
    for (const t of [a, b, c]) expect(status(board, t.id)).toBe('done');
    const [ta, tb, tc] = [a, b, c].map((t) => board.store.get(t.id) as Ticket);
    expect(Buffer.from(ta!.finding as string, 'utf8').equals(aOut)).toBe(true);
    const promptB = promptOf(h.home, tb!.findingTask as string);
    const promptC = promptOf(h.home, tc!.findingTask as string);
    expect(promptB.length).toBeGreaterThan(aOut.length);
    expect(promptB.indexOf(aOut)).toBeGreaterThan(0);
    expect(promptC.indexOf(bOut)).toBeGreaterThan(0);
    expect(promptC.indexOf(aOut)).toBe(-1); // C gets its own dependency's finding, not A's
    expect(runs(h.home).filter((r) => r.event === 'start').map((r) => r.key)).toEqual(['T-1', 'T-2', 'T-3']);
  }, 120_000);

  it('never starts a ticket whose dependency failed', async () => {
    const h = harness();
    script(h.home, 'T-1.exit', '3');
    const { board } = await started(h);
    const a = board.add({ title: 'A' });
    const b = board.add({ title: 'B', dependsOn: [a.id] });
    await settled(board, a.id, ['failed']);
    board.scan();
    board.scan();
    expect(board.store.get(b.id)).toMatchObject({ status: 'todo', executions: 0, currentTask: null });
    expect(runs(h.home).map((r) => r.key)).not.toContain('T-2');
    const err = (() => {
      try {
        board.run(b.id);
      } catch (e) {
        return e as TetoraError;
      }
      throw new Error('run should refuse');
    })();
    expect(err.code).toBe('TET_ERR_BOARD_TRANSITION');
    expect(err.message).toContain('T-1 is failed');
  }, 60_000);

  it("never dispatches a person's ticket, and refuses to run it", async () => {
    const h = harness();
    const { board } = await started(h);
    const p = board.add({ title: 'talk to the client', assignee: 'alice' });
    const a = board.add({ title: 'agent work' });
    await settled(board, a.id, ['done']);
    board.scan();
    expect(board.store.get(p.id)).toMatchObject({ status: 'todo', executions: 0, currentTask: null });
    expect(() => board.run(p.id)).toThrow(/alice, a person/);
    // A person moves it to doing by hand: a mark, no task.
    expect(board.move(p.id, 'doing').task).toBeUndefined();
    expect(board.store.get(p.id)).toMatchObject({ status: 'doing', currentTask: null });
    board.scan();
    expect(status(board, p.id)).toBe('doing');
    expect(runs(h.home).map((r) => r.key)).toEqual(['T-2', 'T-2']);
  }, 60_000);

  it('fails a ticket whose prompt is larger than its provider takes, naming the sizes and the setting, without running it', async () => {
    const h = harness();
    const { board } = await started(h);
    const t = board.add({ title: 'big', assignee: 'small', description: 'x'.repeat(2000) });
    await settled(board, t.id, ['failed']);
    const got = board.store.get(t.id) as Ticket;
    expect(got.statusReason).toMatch(/is 2,\d{3} bytes, but provider "tiny" of agent "small" takes at most 1,000 bytes \(providers\.tiny\.maxPromptBytes/);
    expect(got.executions).toBe(0);
    expect(runs(h.home)).toEqual([]);
    expect(board.store.comments(t.id).map((c) => c.kind)).toEqual(['system']);
  }, 60_000);

  it('sends a BLOCKED run to review, to escalateAssignee, with the output as its finding', async () => {
    const h = harness({ escalateAssignee: 'lead-person' });
    script(h.home, 'T-1.out', 'I looked.\nBLOCKED: the API key is missing\n');
    const { board } = await started(h);
    const t = board.add({ title: 'needs a key' });
    await settled(board, t.id, ['review', 'done', 'failed']);
    expect(board.store.get(t.id)).toMatchObject({ status: 'review', assignee: 'lead-person', finding: 'I looked.\nBLOCKED: the API key is missing' }); // the command provider drops the one closing newline
  }, 60_000);

  it('retries a failed run automatically up to maxRetries, and fails a cancelled one without retry', async () => {
    const h = harness({ maxRetries: 1 });
    script(h.home, 'T-1.1.exit', '3');
    script(h.home, 'T-2.sleep', '60000');
    const { engine, board } = await started(h);
    const a = board.add({ title: 'flaky' });
    await settled(board, a.id, ['done', 'failed']);
    expect(board.store.get(a.id)).toMatchObject({ status: 'done', retries: 1, executions: 2 });
    expect(board.store.comments(a.id)[0]?.body).toMatch(/^\[auto-retry 1\/1\] Task .* failed/);
    const b = board.add({ title: 'slow' });
    await waitUntil(() => runs(h.home).some((r) => r.key === 'T-2'), 30_000);
    await engine.cancel(board.store.get(b.id)!.currentTask as string);
    await settled(board, b.id, ['failed', 'todo']);
    expect(board.store.get(b.id)).toMatchObject({ status: 'failed', retries: 0 });
    expect(board.store.comments(b.id)[0]?.body).toMatch(/^\[auto-flag\] Task .* was cancelled/);
    board.scan();
    expect(runs(h.home).filter((r) => r.key === 'T-2' && r.event === 'start')).toHaveLength(1);
  }, 90_000);

  describe('with a reviewAgent', () => {
    it('approve: the ticket is done', async () => {
      const h = harness({ reviewAgent: 'reviewer' });
      script(h.home, 'T-1.out', 'the work');
      script(h.home, 'T-1.review.out', 'Looks right.\n{"verdict": "approve", "comment": "fine"}');
      const { board } = await started(h);
      const t = board.add({ title: 'w' });
      await settled(board, t.id, ['done', 'review', 'failed']);
      expect(board.store.get(t.id)).toMatchObject({ status: 'done', finding: 'the work', currentTask: null });
      expect(runs(h.home).filter((r) => r.event === 'start').map((r) => r.key)).toEqual(['T-1', 'T-1.review']);
    }, 60_000);

    it('fix: one more run with the review as a comment, then approve', async () => {
      const h = harness({ reviewAgent: 'reviewer', maxRetries: 2 });
      script(h.home, 'T-1.1.out', 'first try');
      script(h.home, 'T-1.2.out', 'second try');
      script(h.home, 'T-1.review.1.out', '{"verdict": "fix", "comment": "add the missing tests 测试"}');
      script(h.home, 'T-1.review.2.out', '{"verdict": "approve"}');
      const { board } = await started(h);
      const t = board.add({ title: 'w' });
      await settled(board, t.id, ['done', 'review', 'failed']);
      const got = board.store.get(t.id) as Ticket;
      expect(got).toMatchObject({ status: 'done', finding: 'second try', retries: 1, executions: 2 });
      expect(promptOf(h.home, got.findingTask as string).toString('utf8')).toContain('add the missing tests 测试');
      expect(board.store.comments(t.id)).toMatchObject([{ kind: 'review', author: 'reviewer', body: 'add the missing tests 测试' }]);
      expect(runs(h.home).filter((r) => r.event === 'start').map((r) => r.key)).toEqual(['T-1', 'T-1.review', 'T-1', 'T-1.review']);
    }, 60_000);

    it('escalate (and an unreadable review): the ticket goes to review, to escalateAssignee', async () => {
      const h = harness({ reviewAgent: 'reviewer', escalateAssignee: 'boss' });
      script(h.home, 'T-1.review.out', '{"verdict": "escalate", "comment": "needs a human"}');
      script(h.home, 'T-2.review.out', 'I am not sure what to say');
      const { board } = await started(h);
      const t1 = board.add({ title: 'one' });
      const t2 = board.add({ title: 'two' });
      await settled(board, t1.id, ['done', 'review', 'failed']);
      await settled(board, t2.id, ['done', 'review', 'failed']);
      expect(board.store.get(t1.id)).toMatchObject({ status: 'review', assignee: 'boss' });
      expect(board.store.get(t1.id)!.statusReason).toContain('needs a human');
      expect(board.store.get(t2.id)).toMatchObject({ status: 'review', assignee: 'boss' });
      expect(board.store.get(t2.id)!.statusReason).toContain('no verdict');
    }, 60_000);
  });

  it('two scans on two connections claim a ticket once, and it runs once', async () => {
    const h = harness();
    const { engine: a, board: boardA } = await started(h, { scan: false });
    // A second engine on the same store (another connection), never started: what a second daemon's scan
    // would do. The home lock is the first engine's; this one is handed a lock that holds nothing.
    const config = a.config;
    const b = new Engine({ config, providers: new ProviderRegistry(config), homeLock: { release() {} } as never });
    open.push(b);
    const boardB = new BoardService({ engine: b, config: () => config, log: silentLogger });
    const tickets = Array.from({ length: 3 }, (_, i) => boardA.add({ title: `t${i}` }));
    const planA = boardA.plan();
    const planB = boardB.plan();
    expect(planA.map((t) => t.id)).toEqual(tickets.map((t) => t.id));
    expect(planB.map((t) => t.id)).toEqual(tickets.map((t) => t.id));
    // Interleaved: B claims first what A planned too, then A claims all it planned.
    const claimedB = boardB.dispatch(planB.slice(0, 2));
    const claimedA = boardA.dispatch(planA);
    expect(claimedB).toEqual(['T-1', 'T-2']);
    expect(claimedA).toEqual(['T-3']);
    const boardTasks = a.list({ source: 'board', limit: 100 });
    expect(boardTasks).toHaveLength(3);
    for (const t of tickets) expect(boardTasks.filter((x) => JSON.parse(x.origin as string).ticket === t.id)).toHaveLength(1);
    // The first engine runs them all (the tasks B enqueued too): each ticket runs once.
    boardA.start();
    open.unshift(boardA);
    for (const t of tickets) await settled(boardA, t.id, ['done', 'failed']);
    const starts = runs(h.home).filter((r) => r.event === 'start').map((r) => r.key).sort();
    expect(starts).toEqual(['T-1', 'T-2', 'T-3']);
  }, 60_000);

  it('two processes scanning one store at once claim each ticket once', async () => {
    const h = harness({ autoDispatch: { maxConcurrentTasks: 100 } });
    {
      const engine = h.engine();
      const board = new BoardService({ engine, config: () => engine.config, log: silentLogger });
      for (let i = 0; i < 20; i++) board.add({ title: `t${i}` });
      await engine.stop();
    }
    const barrier = join(h.home, 'go');
    const scanner = resolve(import.meta.dirname, '../helpers/board-scanner.mjs');
    const procs = [0, 1].map(() => {
      const child = spawn(process.execPath, [scanner, h.configPath, barrier, '30'], { stdio: ['ignore', 'pipe', 'inherit'] });
      const lines: string[] = [];
      const ready = new Promise<void>((r) => createInterface({ input: child.stdout! }).on('line', (l) => (l === 'READY' ? r() : lines.push(l))));
      const done = new Promise<number | null>((r) => child.once('exit', r));
      return { ready, done, lines };
    });
    await Promise.all(procs.map((p) => p.ready));
    writeFileSync(barrier, '');
    expect(await Promise.all(procs.map((p) => p.done))).toEqual([0, 0]);
    const [a, b] = procs.map((p) => JSON.parse(p.lines[0] as string) as string[]);
    expect([...a!, ...b!].sort()).toEqual(Array.from({ length: 20 }, (_, i) => `T-${i + 1}`).sort());
    expect(a!.filter((id) => b!.includes(id))).toEqual([]);
    const engine = h.engine();
    open.push(engine);
    const tasks = engine.list({ source: 'board', limit: 100 });
    expect(tasks).toHaveLength(20);
    expect(new Set(tasks.map((t) => JSON.parse(t.origin as string).ticket)).size).toBe(20);
  }, 60_000);

  it("the scan repairs a doing ticket whose task already ended (the hook missed it) or vanished, idempotently", async () => {
    const h = harness();
    const { board } = await started(h);
    const t = board.add({ title: 'w' });
    await settled(board, t.id, ['done']);
    const task = (board.store.get(t.id) as Ticket).findingTask as string;
    const now = Date.now();
    // As if the daemon had died between the task's end and the ticket's move.
    board.store.move(t.id, 'done', 'doing', { currentTask: task, currentKind: 'run', finding: null, completedAt: null }, now);
    board.repair();
    board.repair();
    expect(board.store.get(t.id)).toMatchObject({ status: 'done', currentTask: null, finding: 'done T-1' });
    board.store.move(t.id, 'done', 'doing', { currentTask: 'no-such-task', currentKind: 'run' }, now);
    board.repair();
    expect(board.store.get(t.id)).toMatchObject({ status: 'todo', currentTask: null });
    expect(board.store.get(t.id)!.statusReason).toContain('no longer exists');
  }, 60_000);

  it('a failed ticket moved back to todo by hand runs again as a new task, its counts started again', async () => {
    const h = harness({ autoDispatch: { maxExecutions: 1 } });
    script(h.home, 'T-1.1.exit', '3');
    const { board } = await started(h);
    const t = board.add({ title: 'w' });
    await settled(board, t.id, ['failed']);
    const first = runs(h.home).find((r) => r.key === 'T-1')?.taskId;
    board.move(t.id, 'todo');
    await settled(board, t.id, ['done', 'failed']);
    const got = board.store.get(t.id) as Ticket;
    expect(got).toMatchObject({ status: 'done', executions: 2, executionBase: 1, finding: 'done T-1' });
    expect(got.findingTask).not.toBe(first);
    expect(runs(h.home).filter((r) => r.event === 'start').map((r) => r.taskId)).toEqual([first, got.findingTask]);
  }, 60_000);

  it('fails a ticket that ran maxExecutions times instead of running it again, with the reason', async () => {
    const h = harness({ maxRetries: 5, autoDispatch: { maxExecutions: 2 } });
    script(h.home, 'T-1.exit', '3');
    const { board } = await started(h);
    const t = board.add({ title: 'always fails' });
    await settled(board, t.id, ['failed']);
    const got = board.store.get(t.id) as Ticket;
    expect(got.statusReason).toContain('ran 2 times, the most taskBoard.autoDispatch.maxExecutions (2) allows');
    expect(got).toMatchObject({ executions: 2, retries: 2 });
    expect(runs(h.home).filter((r) => r.event === 'start')).toHaveLength(2);
  }, 60_000);
});
