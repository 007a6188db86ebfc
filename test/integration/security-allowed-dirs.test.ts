/**
 * allowedDirs through the real daemon (`tetora serve` as a child process, real HTTP on 127.0.0.1): the
 * config's top-level list (relative entries resolved against the config's folder) and an agent's own list
 * (which replaces it) hold a dispatched task's workdir, its agent's addDirs and a workflow run's workdir;
 * `..`, a symlink leading out and the prefix trick are refused with 400 TET_ERR_TASK_INVALID naming the
 * field, the resolved path and the allowed dirs, and nothing is enqueued. A SIGHUP that narrows the list
 * fails a task queued before it at its start (workdir or addDirs now outside) instead of running it.
 */
import { mkdirSync, readFileSync, realpathSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DaemonHarness, daemonPool } from '../helpers/daemon.js';
import { startRun, waitRun, writeWorkflow } from '../helpers/workflow.js';

const pool = daemonPool();

type Refusal = { error: { code: string; message: string; details: { field: string; path: string; resolved: string; allowedDirs: string[] } } };

async function daemon(): Promise<{ d: DaemonHarness; home: string }> {
  const d = pool.track(
    await DaemonHarness.create({
      defaultWorkdir: 'projects/main',
      allowedDirs: ['projects'],
      agents: {
        a: { provider: 'fake' },
        b: { provider: 'fake', addDirs: ['outside'] },
        c: { provider: 'fake', allowedDirs: ['outside'] },
        e: { provider: 'fake', allowedDirs: [] },
      },
    }),
  );
  const home = realpathSync(d.home);
  for (const dir of ['projects/main', 'projects/p2', 'outside', 'projects-evil']) mkdirSync(join(home, dir), { recursive: true });
  symlinkSync(join(home, 'outside'), join(home, 'projects', 'escape'));
  await d.start();
  return { d, home };
}

async function taskCount(d: DaemonHarness): Promise<number> {
  return d.query<{ n: number }>('SELECT count(*) AS n FROM tasks')[0]!.n;
}

describe('allowedDirs', () => {
  it('holds a dispatched task\'s workdir and its agent\'s addDirs inside the allowed dirs', async () => {
    const { d, home } = await daemon();
    const allowed = join(home, 'projects');

    const inside = await d.dispatch({ agent: 'a', prompt: d.prompt({ out: 'in' }), workdir: join(home, 'projects', 'p2') }, '?wait=true');
    expect(inside.status).toBe(200);
    expect(inside.body.tasks[0]!.status).toBe('succeeded');
    const byDefault = await d.dispatch({ agent: 'a', prompt: d.prompt({ out: 'default' }) }, '?wait=true');
    expect(byDefault.status).toBe(200);
    const before = await taskCount(d);

    const cases: Array<[string, string]> = [
      [join(home, 'projects', 'escape', 'sub'), join(home, 'outside', 'sub')],
      [join(home, 'projects', 'p2', '..', '..', 'outside'), join(home, 'outside')],
      [join(home, 'projects-evil'), join(home, 'projects-evil')],
    ];
    for (const [workdir, resolved] of cases) {
      const r = await d.json<Refusal>('/api/dispatch', { method: 'POST', body: JSON.stringify({ agent: 'a', prompt: 'x', workdir }) });
      expect(r.status, workdir).toBe(400);
      expect(r.body.error.code).toBe('TET_ERR_TASK_INVALID');
      expect(r.body.error.details).toMatchObject({ path: workdir, resolved, allowedDirs: [allowed] });
      expect(r.body.error.details.field).toMatch(/workdir$/);
      expect(r.body.error.message).toContain(resolved);
      expect(r.body.error.message).toContain(allowed);
    }

    const addDir = await d.json<Refusal>('/api/dispatch', { method: 'POST', body: JSON.stringify({ agent: 'b', prompt: 'x', workdir: join(home, 'projects', 'p2') }) });
    expect(addDir.status).toBe(400);
    expect(addDir.body.error.details).toMatchObject({ field: 'agents.b.addDirs[0]', resolved: join(home, 'outside'), allowedDirs: [allowed] });

    // Agent c's own list replaces the top-level one.
    const own = await d.dispatch({ agent: 'c', prompt: d.prompt({ out: 'c' }), workdir: join(home, 'outside') }, '?wait=true');
    expect(own.status).toBe(200);
    expect(own.body.tasks[0]!.status).toBe('succeeded');
    const notOwn = await d.json<Refusal>('/api/dispatch', { method: 'POST', body: JSON.stringify({ agent: 'c', prompt: 'x', workdir: join(home, 'projects', 'p2') }) });
    expect(notOwn.status).toBe(400);
    expect(notOwn.body.error.details.allowedDirs).toEqual([join(home, 'outside')]);

    // An empty own list does not lift the top-level one.
    const emptyOwn = await d.json<Refusal>('/api/dispatch', { method: 'POST', body: JSON.stringify({ agent: 'e', prompt: 'x', workdir: join(home, 'outside') }) });
    expect(emptyOwn.status).toBe(400);
    expect(emptyOwn.body.error.details.allowedDirs).toEqual([allowed]);

    expect(await taskCount(d)).toBe(before + 1);
  });

  it('holds a workflow run\'s workdir inside the allowed dirs', async () => {
    const { d, home } = await daemon();
    const step = { id: 's', agent: 'a', prompt: d.prompt({ out: 'step done' }) };
    writeWorkflow(d, { name: 'inside', workdir: join(home, 'projects', 'p2'), steps: [step] });
    writeWorkflow(d, { name: 'escapes', workdir: join(home, 'projects', 'escape'), steps: [step] });
    writeWorkflow(d, { name: 'dotdot', workdir: join(home, 'projects', '..', 'outside'), steps: [step] });

    const run = await waitRun(d, await startRun(d, 'inside'));
    expect(run.status).toBe('success');

    for (const name of ['escapes', 'dotdot']) {
      const r = await d.json<Refusal>(`/api/workflows/${name}/run`, { method: 'POST', body: '{}' });
      expect(r.status, name).toBe(400);
      expect(r.body.error.code).toBe('TET_ERR_TASK_INVALID');
      expect(r.body.error.details).toMatchObject({ field: `workflow ${name}: workdir`, resolved: join(home, 'outside'), allowedDirs: [join(home, 'projects')] });
    }
    expect(d.query<{ n: number }>('SELECT count(*) AS n FROM workflow_runs')[0]!.n).toBe(1);

    // A step whose agent has its own list (c: only `outside`) is held by it: the step's task is refused, the step fails naming why.
    writeWorkflow(d, { name: 'own-list', workdir: join(home, 'projects', 'p2'), steps: [{ ...step, agent: 'c' }] });
    const ended = await waitRun(d, await startRun(d, 'own-list'));
    expect(ended.status).toBe('error');
    const failed = ended.steps.find((x) => x.id === 's')!;
    expect(failed.status).toBe('error');
    expect(failed.error).toContain('outside allowedDirs');
    expect(failed.error).toContain(join(home, 'outside'));
  });

  it('a SIGHUP that narrows allowedDirs fails a queued task at its start instead of running it', async () => {
    const d = pool.track(
      await DaemonHarness.create({
        maxConcurrent: 1,
        allowedDirs: ['projects'],
        agents: { a: { provider: 'fake' }, b: { provider: 'fake', addDirs: ['projects/p2'] } },
      }),
    );
    const home = realpathSync(d.home);
    for (const dir of ['projects/main', 'projects/p2']) mkdirSync(join(home, dir), { recursive: true });
    await d.start();
    const main = join(home, 'projects', 'main');
    const p2 = join(home, 'projects', 'p2');

    // One slot: a long task holds it while three more are accepted into the queue.
    const blocker = (await d.dispatch({ agent: 'a', prompt: d.prompt({ sleepMs: 120_000 }), workdir: main })).body.tasks[0]!.id;
    const end = Date.now() + 30_000;
    while ((await d.task(blocker)).status !== 'running') {
      if (Date.now() > end) throw new Error('the blocker never started');
      await new Promise((r) => setTimeout(r, 50));
    }
    const queued = await d.dispatch([
      { agent: 'a', prompt: d.prompt({ out: 'workdir p2' }), workdir: p2 },
      { agent: 'b', prompt: d.prompt({ out: 'adds p2' }), workdir: main },
      { agent: 'a', prompt: d.prompt({ out: 'still inside' }), workdir: main },
    ]);
    expect(queued.body.tasks.map((t) => t.status)).toEqual(['queued', 'queued', 'queued']);
    const [inP2, addsP2, inside] = queued.body.tasks.map((t) => t.id) as [string, string, string];

    const seen = d.logs.filter((l) => l.msg === 'config reloaded').length;
    d.writeConfig({ ...(JSON.parse(readFileSync(d.configPath, 'utf8')) as Record<string, unknown>), allowedDirs: ['projects/main'] });
    d.kill('SIGHUP');
    while (d.logs.filter((l) => l.msg === 'config reloaded').length === seen) {
      if (Date.now() > end) throw new Error('no reload');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await d.json(`/api/tasks/${blocker}/cancel`, { method: 'POST' })).status).toBe(200);

    const [t1, t2, t3] = await d.waitTerminal([inP2, addsP2, inside]);
    expect(t1!.status).toBe('failed');
    expect(t1!.error!.message).toBe(
      `not started: the config's allowedDirs changed since the task was accepted (or a symlink on its path now leads elsewhere): workdir ${p2} is outside allowedDirs (${main}): choose a folder inside one of them, or add it to allowedDirs in the config (the agent's own allowedDirs replaces the top-level list).`,
    );
    expect(t2!.status).toBe('failed');
    expect(t2!.error!.message).toContain(`agents.b.addDirs[0] ${p2} is outside allowedDirs (${main})`);
    expect(t3!.status).toBe('succeeded');
    const starts = d.log().filter((e) => e.event === 'start').map((e) => e.taskId);
    expect(starts).not.toContain(inP2);
    expect(starts).not.toContain(addsP2);
    expect(starts).toContain(inside);
  });
});
