/**
 * The daemon's restart on the installed version (`POST /api/admin/restart`, what `tetora upgrade` calls), on
 * Node (an npm install): `handover` leaves the running agent to the next daemon, which adopts it (the task
 * ends once, recorded by the new daemon); `drain` lets it finish on the old daemon first.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DaemonHarness } from '../helpers/daemon.js';

const daemons: DaemonHarness[] = [];
const pids: number[] = [];
afterEach(async () => {
  for (const pid of pids.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  for (const d of daemons.splice(0)) {
    await d.stop();
    d.killMarked();
  }
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** A daemon whose agent records its start, then waits for the file its prompt names before answering. */
async function slowDaemon(): Promise<DaemonHarness> {
  const d = await DaemonHarness.create({
    defaultProvider: 'sh',
    providers: { sh: { type: 'command', path: '/bin/sh', args: ['-c', 'read -r f; echo start >>"$f.starts"; while [ ! -e "$f" ]; do sleep 0.1; done; printf "finished\\n"'] } },
    agents: { slow: { provider: 'sh' } },
    drainTimeout: '60s',
  });
  daemons.push(d);
  await d.start();
  return d;
}

async function startSlowTask(d: DaemonHarness, go: string): Promise<string> {
  const res = await d.dispatch({ agent: 'slow', prompt: go });
  expect(res.status).toBe(202);
  while (!existsSync(`${go}.starts`)) await new Promise((r) => setTimeout(r, 50));
  return res.body.tasks[0]!.id;
}

/** The next daemon's /healthz once an instance other than `old` answers. */
async function nextDaemon(d: DaemonHarness, old: string): Promise<{ instance: string; pid: number }> {
  for (;;) {
    try {
      const h = (await (await d.fetch('/api/health')).json()) as { instance: string; pid: number; status: string };
      if (h.instance !== old && h.status === 'ok') {
        pids.push(h.pid);
        return h;
      }
    } catch {
      /* between the two daemons */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function events(d: DaemonHarness, id: string): { types: string[]; runs: Array<{ instance: string }> } {
  const types = d.query<{ type: string }>('SELECT type FROM task_events WHERE task_id = ? ORDER BY seq', id).map((e) => e.type);
  const runs = d.query<{ instance: string }>('SELECT instance_id AS instance FROM task_runs WHERE task_id = ?', id);
  return { types, runs };
}

const TERMINAL = ['succeeded', 'failed', 'cancelled', 'timed_out', 'interrupted'];

describe('POST /api/admin/restart', () => {
  it('handover: the running agent keeps running, the new daemon adopts it and records its end once', async () => {
    const d = await slowDaemon();
    const before = (await (await d.fetch('/api/health')).json()) as { instance: string };
    const go = join(d.home, 'go');
    const id = await startSlowTask(d, go);

    const res = await d.json<{ status: string; mode: string; restart: string; running: number }>('/api/admin/restart', { method: 'POST', body: JSON.stringify({ mode: 'handover' }) });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'restarting', mode: 'handover', restart: 'self', running: 1 });
    expect(await d.exited()).toBe(0);
    expect(d.hasLog('handed over: running agents left for the next daemon to adopt')).toBe(true);
    const next = await nextDaemon(d, before.instance);
    expect((await d.task(id)).status).toBe('running');

    writeFileSync(go, '');
    const [task] = await d.waitTerminal([id]);
    expect(task!.status).toBe('succeeded');
    expect(task!.output).toContain('finished');
    expect(readFileSync(`${go}.starts`, 'utf8')).toBe('start\n');
    const e = events(d, id);
    expect(e.types.filter((t) => TERMINAL.includes(t))).toEqual(['succeeded']);
    expect(e.types).toContain('adopted');
    expect(e.runs).toEqual([{ instance: next.instance }]);

    const drained = await d.cli(['drain']);
    expect(drained.code, drained.stderr).toBe(0);
    while (alive(next.pid)) await new Promise((r) => setTimeout(r, 100));
  }, 90_000);

  it('drain: the old daemon lets the agent finish, then the new one starts; a second restart meanwhile is refused', async () => {
    const d = await slowDaemon();
    const before = (await (await d.fetch('/api/health')).json()) as { instance: string };
    const go = join(d.home, 'go');
    const id = await startSlowTask(d, go);

    const res = await d.json<{ mode: string }>('/api/admin/restart', { method: 'POST', body: JSON.stringify({ mode: 'drain' }) });
    expect(res.status).toBe(202);
    expect(res.body.mode).toBe('drain');
    const again = await d.json<{ error: { code: string } }>('/api/admin/restart', { method: 'POST', body: JSON.stringify({}) });
    expect(again.status).toBe(503);
    expect(again.body.error.code).toBe('TET_ERR_HTTP_DRAINING');
    const bad = await d.fetch('/api/admin/restart', { method: 'POST', body: JSON.stringify({ mode: 'now' }) });
    expect([400, 503]).toContain(bad.status);

    writeFileSync(go, '');
    expect(await d.exited()).toBe(0);
    const next = await nextDaemon(d, before.instance);
    const task = await d.task(id);
    expect(task.status).toBe('succeeded');
    const e = events(d, id);
    expect(e.types.filter((t) => TERMINAL.includes(t))).toEqual(['succeeded']);
    expect(e.types).not.toContain('adopted');
    expect(e.runs).toEqual([{ instance: before.instance }]);

    const drained = await d.cli(['drain']);
    expect(drained.code, drained.stderr).toBe(0);
    while (alive(next.pid)) await new Promise((r) => setTimeout(r, 100));
  }, 90_000);
});
