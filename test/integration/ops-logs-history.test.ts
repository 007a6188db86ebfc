/**
 * The daemon's log file and `tetora logs -f` (across rotations), `tetora history cost|list` against the
 * store with and without a daemon, and retention (`tetora data prune` and the daily duty): only what is
 * older than the setting goes, never an unfinished task's.
 */
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { start, type FakeModelServer } from '../fake-model-server/server.mjs';
import { binPath } from '../helpers/cli.js';
import { daemonPool } from '../helpers/daemon.js';

const pool = daemonPool();
const DAY = 86_400_000;

async function until(what: string, pred: () => boolean, deadlineMs = 30_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`not reached within ${deadlineMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the log file and tetora logs', () => {
  it('logs -f follows a running daemon across rotations; files 0600 in a 0700 folder', async () => {
    const d = await pool.start({ logFile: { maxSize: '1K', maxFiles: 3 } });
    const logDir = join(d.home, 'logs');
    expect(statSync(logDir).mode & 0o777).toBe(0o700);
    const follower = spawn(process.execPath, [binPath, '--config', d.configPath, 'logs', '-f', '--json'], { env: { ...process.env, TETORA_HOME: d.home }, stdio: ['ignore', 'pipe', 'pipe'] });
    const seen: Array<Record<string, unknown>> = [];
    createInterface({ input: follower.stdout! }).on('line', (l) => seen.push(JSON.parse(l) as Record<string, unknown>));
    try {
      // Each SIGHUP logs "config reloaded" with the new maxConcurrent: wait for each before the next.
      for (let i = 2; i <= 13; i++) {
        d.writeConfig({ ...(JSON.parse(readFileSync(d.configPath, 'utf8')) as Record<string, unknown>), maxConcurrent: i });
        d.kill('SIGHUP');
        await until(`reload ${i} followed (daemon said: ${d.logs.filter((l) => String(l.msg).includes('reload')).map((l) => JSON.stringify(l)).join(' ')})`, () =>
          seen.some((r) => r.msg === 'config reloaded' && (r.after as { maxConcurrent: number }).maxConcurrent === i),
        );
      }
      expect(existsSync(join(logDir, 'tetora.log.1'))).toBe(true);
      for (const f of readdirSync(logDir)) expect(statSync(join(logDir, f)).mode & 0o777).toBe(0o600);
      const reloads = seen.filter((r) => r.msg === 'config reloaded').map((r) => (r.after as { maxConcurrent: number }).maxConcurrent);
      expect(reloads).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    } finally {
      follower.kill('SIGTERM');
    }
    // Read back (not following): the levels and the human format.
    const warn = await d.cli(['logs', '--level', 'warn', '--json', '-n', '1000']);
    expect(warn.code).toBe(0);
    for (const l of warn.stdout.trim().split('\n').filter(Boolean)) expect((JSON.parse(l) as { level: number }).level).toBeGreaterThanOrEqual(40);
    const human = await d.cli(['logs', '--since', '1h', '-n', '3']);
    expect(human.code).toBe(0);
    expect(human.stdout.trim().split('\n')).toHaveLength(3);
    expect(human.stdout).toMatch(/^\d{4}-\d{2}-\d{2}T[\d:.]+Z INFO  /m);
    const bad = await d.cli(['logs', '--level', 'loud']);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toMatch(/--level "loud" is not a log level/);
  }, 90_000);

  it('says when there is no log file yet', async () => {
    const d = await pool.start();
    await d.stop();
    const { rmSync } = await import('node:fs');
    rmSync(join(d.home, 'logs'), { recursive: true, force: true });
    const r = await d.cli(['logs']);
    expect(r.code).toBe(65);
    expect(r.stderr).toMatch(/no log file at .*logs\/tetora\.log: the daemon has not run on this home yet/);
  });
});


describe('history and retention', () => {
  let fake: FakeModelServer;
  beforeAll(async () => {
    fake = await start();
  });
  afterAll(async () => {
    await fake.close();
  });

  it('history cost sums match the tasks\' costs, by agent, provider and day, with and without a daemon', async () => {
    fake.script({
      anthropic: [
        { type: 'text', text: 'alpha answer', usage: { input: 1000, output: 500 }, match: 'ALPHA', times: -1 },
        { type: 'text', text: 'beta answer', usage: { input: 20000, output: 100 }, match: 'BETA', times: -1 },
      ],
    });
    const d = await pool.start({
      providers: {
        fake: { type: 'command', path: process.execPath, args: [join(import.meta.dirname, '../helpers/fake-agent.mjs')] },
        api: { type: 'anthropic', baseUrl: fake.url, apiKey: 'sk-ant-test-0123456789', model: 'claude-test-1', firstTokenTimeout: '5s', pricing: { input: 3, output: 15 } },
      },
      agents: { x: { provider: 'api' }, y: { provider: 'api' }, a: { provider: 'fake' } },
    });
    const sent = await d.dispatch([
      { agent: 'x', prompt: 'ALPHA 1' },
      { agent: 'x', prompt: 'BETA 2' },
      { agent: 'y', prompt: 'ALPHA 3' },
      { agent: 'a', prompt: d.prompt({ out: 'free' }) },
    ]);
    const tasks = await d.waitTerminal(sent.body.tasks.map((t) => t.id));
    expect(tasks.map((t) => t.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    const cost = (t: (typeof tasks)[number]) => t.costUsd as number;
    const byAgent = (name: string) => tasks.filter((t) => t.agent === name).reduce((a, t) => a + cost(t), 0);
    const total = tasks.reduce((a, t) => a + cost(t), 0);
    expect(total).toBeGreaterThan(0);

    type CostJson = { rows: Array<{ key: string; tasks: number; costUsd: number }>; total: { tasks: number; costUsd: number } };
    const check = async (note: string) => {
      const r = await d.cli(['history', 'cost', '--by', 'agent', '--json']);
      expect(r.code, `${note}: ${r.stderr}`).toBe(0);
      const j = JSON.parse(r.stdout) as CostJson;
      expect(j.total.tasks).toBe(4);
      expect(j.total.costUsd).toBeCloseTo(total, 10);
      for (const name of ['x', 'y', 'a']) expect(j.rows.find((row) => row.key === name)?.costUsd ?? -1).toBeCloseTo(byAgent(name), 10);
      const prov = JSON.parse((await d.cli(['history', 'cost', '--by', 'provider', '--json'])).stdout) as CostJson;
      expect(prov.rows.find((row) => row.key === 'api')?.costUsd).toBeCloseTo(byAgent('x') + byAgent('y'), 10);
      expect(prov.rows.find((row) => row.key === 'fake')?.costUsd).toBe(0);
      const day = JSON.parse((await d.cli(['history', 'cost', '--by', 'day', '--since', '1d', '--json'])).stdout) as CostJson;
      expect(day.rows).toHaveLength(1);
      expect(day.total.costUsd).toBeCloseTo(total, 10);
      const future = JSON.parse((await d.cli(['history', 'cost', '--since', '2999-01-01', '--json'])).stdout) as CostJson;
      expect(future.total).toEqual({ tasks: 0, costUsd: 0 });
      const list = await d.cli(['history', 'list', '--agent', 'x', '--json']);
      expect((JSON.parse(list.stdout) as { tasks: Array<{ id: string }> }).tasks.map((t) => t.id).sort()).toEqual(tasks.filter((t) => t.agent === 'x').map((t) => t.id).sort());
      const table = await d.cli(['history', 'cost']);
      expect(table.stdout).toMatch(new RegExp(`TOTAL\\s+4\\s+\\$${total.toFixed(4).replace('.', '\\.')}`));
    };
    await check('with the daemon running');
    d.kill('SIGTERM');
    await d.exited();
    await check('without a daemon');
    // Without a daemon, nothing took the home lock or wrote: the database is as the daemon left it.
    const bad = await d.cli(['history', 'cost', '--by', 'week']);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toMatch(/--by "week" is not one of agent, provider, day/);
  }, 90_000);

  it('retention removes only what is older than the setting, never an unfinished task\'s; the daily duty does it at start', async () => {
    // drainTimeout 1s: the SIGTERM below need not wait the default drain for the 60 s task.
    const d = await pool.start({ retention: { history: 30, outputs: 10 }, drainTimeout: '1s' });
    const quick = await d.dispatch([0, 1, 2, 3].map((i) => ({ agent: 'a', prompt: d.prompt({ out: `out ${i}` }) })));
    const ids = quick.body.tasks.map((t) => t.id);
    await d.waitTerminal(ids);
    const slow = await d.dispatch({ agent: 'b', prompt: d.prompt({ sleepMs: 60_000 }) });
    const slowId = slow.body.tasks[0]!.id;
    d.kill('SIGTERM');
    await d.exited();
    d.killMarked();
    // Age the finished tasks: 0 → 40 days ago, 1 → 20 days, 2 → 5 days, 3 stays now; the slow one is
    // made unfinished (queued) but with old times: it must be left alone.
    const db = new Database(join(d.home, 'tetora.db'));
    const now = Date.now();
    const age = (id: string, days: number) => db.prepare('UPDATE tasks SET finished_at = ?, created_at = ? WHERE id = ?').run(now - days * DAY, now - days * DAY - 1000, id);
    age(ids[0]!, 40);
    age(ids[1]!, 20);
    age(ids[2]!, 5);
    db.prepare(`UPDATE tasks SET status = 'queued', finished_at = ?, created_at = ? WHERE id = ?`).run(now - 50 * DAY, now - 50 * DAY, slowId);
    const counts = () =>
      Object.fromEntries(
        [...ids, slowId].map((id) => [
          id,
          {
            events: (db.prepare('SELECT COUNT(*) AS n FROM task_events WHERE task_id = ?').get(id) as { n: number }).n,
            runs: (db.prepare('SELECT COUNT(*) AS n FROM task_runs WHERE task_id = ?').get(id) as { n: number }).n,
            output: (db.prepare('SELECT output FROM tasks WHERE id = ?').get(id) as { output: string | null }).output,
          },
        ]),
      );
    const before = counts();
    for (const id of ids) expect(before[id]!.events).toBeGreaterThan(0);
    expect(before[slowId]!.events).toBeGreaterThan(0);

    const dry = await d.cli(['data', 'prune', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^events\s+would remove \d+ events of 1 finished task\(s\)/m);
    expect(dry.stdout).toMatch(/^outputs\s+would remove 2 outputs of 2 finished task\(s\)/m);
    expect(dry.stdout).toContain('(dry run: nothing was changed)');
    expect(counts()).toEqual(before);
    const status = await d.cli(['data', 'status', '--json']);
    expect((JSON.parse(status.stdout) as { tasks: number; unfinished: number }).tasks).toBe(5);

    const pruned = await d.cli(['data', 'prune', '--json']);
    expect(pruned.code, pruned.stderr).toBe(0);
    const after = counts();
    expect(after[ids[0]!]).toEqual({ events: 0, runs: 0, output: null });
    expect(after[ids[1]!]).toEqual({ ...before[ids[1]!], output: null });
    expect(after[ids[2]!]).toEqual(before[ids[2]!]);
    expect(after[ids[3]!]).toEqual(before[ids[3]!]);
    expect(after[slowId]).toEqual(before[slowId]);
    const report = JSON.parse(pruned.stdout) as { kinds: Array<{ kind: string; removed: number; tasks: number }> };
    expect(report.kinds.find((k) => k.kind === 'events')).toMatchObject({ removed: before[ids[0]!]!.events, tasks: 1 });
    expect(report.kinds.find((k) => k.kind === 'outputs')).toMatchObject({ removed: 2, tasks: 2 });

    // The daily duty: a day after its last run (the first daemon's start), the next daemon's start runs it
    // again; a task aged past the setting meanwhile is cleaned.
    const lastRun = Number((db.prepare(`SELECT value FROM meta WHERE key = 'retention_last_run'`).get() as { value: string }).value);
    db.prepare(`UPDATE meta SET value = ? WHERE key = 'retention_last_run'`).run(String(lastRun - DAY - 1000));
    age(ids[2]!, 45);
    db.close();
    const logsBefore = d.logs.length;
    await d.start();
    await until('the retention duty ran', () => d.logs.slice(logsBefore).some((l) => l.msg === 'retention: removed what finished tasks no longer need'));
    const db2 = new Database(join(d.home, 'tetora.db'), { readonly: true });
    try {
      expect((db2.prepare('SELECT COUNT(*) AS n FROM task_events WHERE task_id = ?').get(ids[2]!) as { n: number }).n).toBe(0);
      expect((db2.prepare('SELECT COUNT(*) AS n FROM task_events WHERE task_id = ?').get(ids[3]!) as { n: number }).n).toBe(before[ids[3]!]!.events);
      expect((db2.prepare(`SELECT value FROM meta WHERE key = 'retention_last_run'`).get() as { value: string } | undefined)?.value).toBeDefined();
    } finally {
      db2.close();
    }
  }, 120_000);
});
