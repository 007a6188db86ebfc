import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import { Harness, intervals, processAlive, waitTerminal, waitUntil } from '../helpers/engine-harness.js';

const HOST = resolve(import.meta.dirname, '../helpers/engine-host.mjs');
const TERMINAL = ['succeeded', 'failed', 'cancelled', 'timed_out'];

let children: ChildProcess[] = [];
let engines: Engine[] = [];
afterEach(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const e of engines) await e.stop().catch(() => {});
  children = [];
  engines = [];
});

function startHost(h: Harness, tasks: unknown[], env: Record<string, string> = {}): Promise<{ child: ChildProcess; ids: string[] }> {
  const tasksPath = join(h.home, 'tasks.json');
  writeFileSync(tasksPath, JSON.stringify(tasks));
  const child = spawn(process.execPath, [HOST, h.configPath, tasksPath], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  children.push(child);
  return new Promise((res, rej) => {
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (line) => {
      if (line.startsWith('READY ')) res({ child, ids: (JSON.parse(line.slice(6)) as { ids: string[] }).ids });
    });
    child.on('exit', (code) => rej(new Error(`engine host exited early with ${code}`)));
  });
}

describe('engine: crash recovery', () => {
  it('after a SIGKILL mid-run, a new engine re-attaches to the running agents: each runs once, no attempt is used, and what they left behind is killed at their end', async () => {
    const h = new Harness({ maxConcurrent: 3 });
    const tasks = Array.from({ length: 6 }, () => ({ agent: 'a', prompt: h.prompt({ sleepMs: 2500, grandchild: true }) }));
    const { child, ids } = await startHost(h, tasks);
    await waitUntil(() => h.log().filter((l) => l.event === 'grandchild').length >= 3);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));

    const agents = h.log().filter((l) => l.event === 'start');
    const grandchildren = h.log().filter((l) => l.event === 'grandchild').map((l) => l.grandchildPid!);
    expect(agents.length).toBe(3);
    expect(agents.every((a) => processAlive(a.pid))).toBe(true); // detached agents outlive the killed daemon…

    const e = h.engine();
    engines.push(e);
    const report = await e.start();
    // …and the next engine follows them instead of starting them again.
    expect(report.adopted.sort()).toEqual(agents.map((l) => l.taskId).sort());
    expect(report.interrupted).toEqual([]);
    for (const a of agents) expect(processAlive(a.pid)).toBe(true);

    const done = await waitTerminal(e, ids, 60_000);
    expect(done.map((t) => t.status)).toEqual(Array(6).fill('succeeded'));
    for (const id of ids) {
      expect(e.events(id).filter((ev) => TERMINAL.includes(ev.type))).toHaveLength(1);
      expect(e.events(id).filter((ev) => ev.type === 'queued')).toHaveLength(1);
      expect(e.get(id)!.attempt).toBe(1);
      expect(e.get(id)!.output).toBe(`done ${id}`);
    }
    // Every task ran exactly once (one start line each): nothing ran twice, at once or after.
    const runs = intervals(h.log());
    for (const id of ids) expect(runs.filter((r) => r.taskId === id)).toHaveLength(1);
    // The grandchildren the adopted agents left are killed once their runs end.
    await waitUntil(() => grandchildren.every((pid) => !processAlive(pid)));
  });

  it('a drained engine (SIGTERM) interrupts running tasks without using an attempt, and the next start resumes them', async () => {
    const h = new Harness({ maxConcurrent: 2 });
    const tasks = Array.from({ length: 3 }, () => ({ agent: 'a', prompt: h.prompt({ sleepMs: 20_000 }, { sleepMs: 10 }) }));
    const { child, ids } = await startHost(h, tasks, { DRAIN_MS: '300' });
    await waitUntil(() => h.log().filter((l) => l.event === 'start').length >= 2);
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);

    const e = h.engine();
    engines.push(e);
    const report = await e.start();
    expect(report.interrupted).toHaveLength(0); // nothing was left `running`
    expect(report.requeued).toHaveLength(2);
    // The third task never started; cancel it (it would sleep 20 s) and check the two resumed ones.
    const never = ids.find((id) => !report.requeued.includes(id))!;
    expect(e.runs(never)).toHaveLength(0);
    await e.cancel(never);
    const done = await waitTerminal(e, report.requeued, 60_000);
    expect(done.map((t) => t.status)).toEqual(['succeeded', 'succeeded']);
    for (const id of report.requeued) expect(e.get(id)!.attempt).toBe(1);
  });
});
