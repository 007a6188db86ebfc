import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { workspaceFactory } from '../../src/daemon/workspaces.js';
import { silentLogger } from '../../src/engine/logger.js';
import { binPath, freePort } from '../helpers/cli.js';
import { waitUntil } from '../helpers/engine-harness.js';
import { WorktreeHarness } from '../helpers/worktree-harness.js';
import { branches, commitFile, git } from '../helpers/worktree-repo.js';

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

function harness(top: Record<string, unknown>): WorktreeHarness {
  const h = new WorktreeHarness({}, top);
  cleanups.push(() => h.close());
  return h;
}

interface TaskJson {
  id: string;
  status: string;
}

interface Daemon {
  url: string;
  child: ChildProcess;
  log(): string;
  /** Send the signal; resolves to the exit code (or the signal name). */
  stop(signal: NodeJS.Signals): Promise<number | string>;
}

/** `tetora serve` on a free loopback port with the harness's home; resolves once it listens. */
async function startDaemon(h: WorktreeHarness): Promise<Daemon> {
  const port = await freePort();
  const child = spawn(process.execPath, [binPath, 'serve', '--listen', `127.0.0.1:${port}`, '--log-format', 'json'], {
    env: { ...process.env, TETORA_HOME: h.home, TETORA_ANNOUNCE: '1', TETORA_LOG_LEVEL: 'debug' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | string>((r) => child.on('exit', (code, sig) => r(code ?? sig ?? 'unknown')));
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  let log = '';
  child.stdout?.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (log += c));
  await waitUntil(() => out.includes('LISTENING') || child.exitCode !== null);
  if (!out.includes('LISTENING')) throw new Error(`tetora serve did not start: ${log}`);
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    log: () => log,
    stop: (signal) => {
      child.kill(signal);
      return exited;
    },
  };
}

/** POST /api/dispatch (with `?wait=true` when `wait`): the task as the daemon answers it. */
async function dispatch(d: Daemon, task: Record<string, unknown>, wait = false): Promise<TaskJson> {
  const res = await fetch(`${d.url}/api/dispatch${wait ? '?wait=true&timeout=60s' : ''}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(task),
  });
  return (await res.json()) as TaskJson;
}

/** Poll GET /api/tasks/:id until the task is terminal. */
async function finished(d: Daemon, id: string): Promise<TaskJson> {
  for (;;) {
    const task = (await (await fetch(`${d.url}/api/tasks/${id}`)).json()) as TaskJson;
    if (['succeeded', 'failed', 'cancelled', 'timed_out'].includes(task.status)) return task;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('worktrees in the daemon', () => {
  it('`tetora serve` runs worktree tasks in worktrees and prunes the integrated ones on its schedule', async () => {
    const h = harness({ worktreePruneInterval: '200ms' });
    const d = await startDaemon(h);
    const [clean, work] = await Promise.all([
      dispatch(d, { agent: 'coder', workdir: h.repo, prompt: h.prompt('only look') }, true),
      dispatch(d, { agent: 'coder', workdir: h.repo, prompt: h.prompt('write code', { commits: 2 }) }, true),
    ]);
    expect([clean.status, work.status], d.log()).toEqual(['succeeded', 'succeeded']);
    // The task's result names its worktree, branch, commits and whether the tree is dirty.
    const shown = (await (await fetch(`${d.url}/api/tasks/${work.id}`)).json()) as { worktree: unknown };
    expect(shown.worktree).toMatchObject({ path: join(h.home, 'runtime', 'worktrees', work.id), branch: expect.stringMatching(/^tetora\/coder\//), commits: 2, dirty: false });
    const cwds = Object.fromEntries(h.log().filter((l) => l.event === 'start').map((l) => [l.taskId, l.cwd]));
    expect(cwds).toEqual({ [clean.id]: join(h.home, 'runtime', 'worktrees', clean.id), [work.id]: join(h.home, 'runtime', 'worktrees', work.id) });

    // The schedule removes the clean, integrated one; the one with commits stays, with its branch.
    await waitUntil(() => !existsSync(cwds[clean.id] as string));
    await waitUntil(() => d.log().includes('worktree kept by prune') && d.log().includes('2 commits not in main'));
    expect(existsSync(cwds[work.id] as string)).toBe(true);
    expect(branches(h.repo, 'tetora/')).toEqual([expect.stringMatching(new RegExp(`^tetora/coder/${work.id.slice(0, 8)}-write-code-`))]);
    expect(d.log()).toContain('worktree pruned');

    expect(await d.stop('SIGTERM')).toBe(0);
  });

  it('after the daemon is killed mid-task, the next daemon re-attaches to the agent, takes its lease over, and the run ends in the same worktree', async () => {
    const h = harness({ worktreePruneInterval: '0' });
    const first = await startDaemon(h);
    const go = join(h.home, 'go');
    const ready = join(h.home, 'ready');
    const { id } = await dispatch(first, { agent: 'coder', workdir: h.repo, prompt: h.prompt('survive a crash', { ready, waitFor: go, commits: 1 }) });
    await waitUntil(() => existsSync(ready));
    const dir = join(h.home, 'runtime', 'worktrees', id);
    writeFileSync(join(dir, 'wip.txt'), 'written before the crash\n');
    expect(existsSync(join(dir, '.tetora-session.lock'))).toBe(true);
    expect(await first.stop('SIGKILL')).toBe('SIGKILL');

    const second = await startDaemon(h);
    // Boot: the killed daemon's agent still runs in the worktree; the new daemon follows it and holds its lease.
    writeFileSync(go, '');
    const fin = await finished(second, id);
    expect(fin.status, JSON.stringify(fin) + second.log()).toBe('succeeded');
    const runs = h.log().filter((l) => l.event === 'start' && l.taskId === id);
    expect(runs.map((r) => r.cwd)).toEqual([dir]);
    expect(git(dir, 'show', '--name-only', '--format=', 'HEAD')).toContain('wip.txt');
    expect(branches(h.repo, 'tetora/')).toHaveLength(1);
    expect(existsSync(join(dir, '.tetora-session.lock'))).toBe(false);
    expect(await second.stop('SIGTERM')).toBe(0);
  });

  it('the factory gives a manager that leases worktrees, prunes on its timer, and close() stops it', async () => {
    const h = harness({ worktreePruneInterval: '100ms' });
    const ws = workspaceFactory(h.config(), silentLogger);
    cleanups.push(() => ws.close());
    const lease = await ws.acquire(h.task('factory-1'), 'inst');
    commitFile(lease.workdir, 'x.txt', 'x\n');
    const summary = await lease.release();
    expect(summary).toMatchObject({ commits: 1, dirty: false, removed: false });
    const done = await ws.acquire(h.task('factory-2', 'nothing'), 'inst');
    await done.release();
    await waitUntil(() => !existsSync(done.workdir));
    expect(existsSync(lease.workdir)).toBe(true);
    const prunes = vi.spyOn(ws.manager, 'prune');
    await waitUntil(() => prunes.mock.calls.length > 0); // the schedule is running…
    await ws.close();
    await ws.close();
    const after = prunes.mock.calls.length;
    await new Promise((r) => setTimeout(r, 500)); // five intervals
    expect(prunes.mock.calls.length).toBe(after); // …and close() stopped it
  });
});
