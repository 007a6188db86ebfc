import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { daemonPool, DaemonHarness } from '../helpers/daemon.js';
import type { FakeStep, LogLine } from '../helpers/engine-harness.js';
import { fill, tmpfsMounts, truncateWal, until } from '../helpers/faults.js';

const isRoot = process.getuid?.() === 0;
const skip = !isRoot && process.env.CI !== 'true';
if (skip) console.warn('faults-disk tests skipped: they mount a tmpfs over the home and need root (they never skip with CI=true)');

const disks = tmpfsMounts();
const pool = daemonPool();

/** A daemon whose whole home (config, tetora.db, runtime/runs spools, logs) is on a tmpfs of `size`. The fake agents log elsewhere. */
async function daemonOnTmpfs(size: string, raw: Record<string, unknown> = {}): Promise<{ d: DaemonHarness; outside: string; prompt: (...s: FakeStep[]) => string; agentLog: () => LogLine[] }> {
  const d = pool.track(await DaemonHarness.create(raw));
  const config = readFileSync(d.configPath, 'utf8');
  disks.over(d.home, size);
  d.writeConfig(JSON.parse(config) as Record<string, unknown>);
  const outside = mkdtempSync(join(tmpdir(), 'tetora-faults-agent-'));
  const logPath = join(outside, 'agent-log.jsonl');
  const prompt = (...steps: FakeStep[]) => JSON.stringify({ log: logPath, state: join(outside, 'state'), steps });
  const agentLog = () => (existsSync(logPath) ? readFileSync(logPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as LogLine) : []);
  await d.start();
  return { d, outside, prompt, agentLog };
}

interface ApiError {
  error: { code: string; message: string };
}

describe.skipIf(skip)('faults: the home (store, spools, logs) on a disk that fills', () => {
  it('refuses new work with 503 naming the cause, a run waiting to start keeps its slot and starts once space returns, a run whose output hit the full disk fails saying so, and the daemon recovers without a restart', async () => {
    // Retries wait 3 s: task Q's second run is due while the disk is full.
    const { d, prompt, agentLog } = await daemonOnTmpfs('16m', { maxConcurrent: 4, retry: { base: 3000, cap: 3000, maxAttempts: 3 } });
    const dbPath = join(d.home, 'tetora.db');
    const a = (await d.dispatch({ agent: 'a', prompt: prompt({ sleepMs: 3000, out: 'result of A' }) })).body.id!;
    const q = (await d.dispatch({ agent: 'b', prompt: prompt({ exit: 1, stderr: 'temporarily unavailable' }, { out: 'result of Q' }) })).body.id!;
    const seen = (id: string, event: string) => agentLog().filter((l) => l.taskId === id && l.event === event).length;
    await until(async () => (seen(a, 'start') === 1 && seen(q, 'end') === 1 && (await d.task(q)).status === 'retry_wait' ? true : undefined));
    truncateWal(dbPath);
    const filler = join(d.home, 'filler');
    fill(filler);

    const refused = await d.json<ApiError>('/api/dispatch', { method: 'POST', body: JSON.stringify({ agent: 'b', prompt: prompt({}) }) });
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('TET_ERR_STORE_FULL');
    expect(refused.body.error.message).toMatch(/the disk holding the database is full/);
    expect(refused.body.error.message).toContain(dbPath);
    expect(refused.body.error.message).toContain(`df -h ${d.home}`);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    // A ends on the full disk; Q's retry comes due: neither can be recorded or started until space returns.
    await until(async () => (seen(a, 'end') === 1 ? true : undefined));
    await until(async () => (d.hasLog('cannot start the run yet') || d.hasLog("cannot record the run's result yet") ? true : undefined));
    // Q's retry comes due while the disk is full (its claim or its start must wait).
    const due = Date.parse(String((await d.task(q)).notBefore));
    expect(Number.isFinite(due)).toBe(true);
    await until(async () => (Date.now() > due + 1000 ? true : undefined));
    fill(filler);
    const during = await d.json<{ status: string; store: { ok: boolean; code?: string } }>('/api/health');
    expect(during.body.store).toMatchObject({ ok: false, code: 'TET_ERR_STORE_FULL' });
    expect(seen(q, 'start')).toBe(1); // Q's second run has not started on the full disk

    rmSync(filler);
    const [ta, tq] = await d.waitTerminal([a, q]);
    expect(ta!.status).toBe('failed');
    expect(ta!.error!.message).toMatch(/the run ended, but its output and exit status could not be written to .*: the disk holding .* is full .*so its result is lost\. Free space on it \(see `df -h /);
    expect(tq).toMatchObject({ status: 'succeeded', output: 'result of Q', attempt: 2 });
    expect(seen(q, 'start')).toBe(2);
    expect(seen(a, 'start')).toBe(1);
    // Recovered without a restart: new work is accepted and runs.
    const healthy = await until(async () => {
      const h = await d.json<{ status: string; store: { ok: boolean } }>('/api/health');
      return h.body.store.ok ? h.body : undefined;
    });
    expect(healthy.status).toBe('ok');
    const b = await d.dispatch({ agent: 'b', prompt: prompt({ out: 'after' }) });
    expect(b.status).toBe(202);
    const [tb] = await d.waitTerminal([b.body.id!]);
    expect(tb).toMatchObject({ status: 'succeeded', output: 'after' });
    // Nothing accepted was lost: the store holds exactly the three accepted tasks.
    expect(d.query<{ id: string }>('SELECT id FROM tasks ORDER BY seq').map((r) => r.id)).toEqual([a, q, b.body.id]);
  });
});

/** A daemon whose runs' spool folder (home/runtime/runs) is a tmpfs of its own; the store stays on the test's disk. */
async function daemonWithRunsDisk(size: string, raw: Record<string, unknown> = {}): Promise<{ d: DaemonHarness; runs: string }> {
  const d = pool.track(await DaemonHarness.create(raw));
  const runs = join(d.home, 'runtime', 'runs');
  mkdirSync(runs, { recursive: true, mode: 0o700 });
  disks.over(runs, size);
  await d.start();
  return { d, runs };
}

/** A run that cannot start waits; new work is refused naming `code` and the folder; `heal` makes the disk writable and all recovers without a restart. */
async function refusesThenRecovers(d: DaemonHarness, runs: string, code: string, says: RegExp, heal: () => void): Promise<void> {
  const t1 = await d.dispatch({ agent: 'a', prompt: d.prompt({ out: 'one' }) });
  expect(t1.status).toBe(202);
  const id = t1.body.id!;
  await until(async () => (d.hasLog("cannot start the run yet") ? true : undefined));
  const refused = await d.json<ApiError>('/api/dispatch', { method: 'POST', body: JSON.stringify({ agent: 'b', prompt: d.prompt({}) }) });
  expect(refused.status).toBe(503);
  expect(refused.body.error.code).toBe(code);
  expect(refused.body.error.message).toContain(runs);
  expect(refused.body.error.message).toMatch(says);
  expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
  // The accepted task waits, holding its slot; its agent never started.
  expect((await d.task(id)).status).toBe('running');
  expect(d.log().filter((l) => l.taskId === id)).toEqual([]);
  // A wait longer than the no-output timeout (1 s here: three tries are 1 + 2 s apart) does not end the run.
  await until(async () => (d.logs.filter((l) => String(l.msg).startsWith('cannot start the run yet')).length >= 3 ? true : undefined));
  expect((await d.task(id)).status).toBe('running');
  heal();
  const [t] = await d.waitTerminal([id]);
  expect(t).toMatchObject({ status: 'succeeded', output: 'one', attempt: 1, runs: 1 });
  expect(d.log().filter((l) => l.taskId === id && l.event === 'start')).toHaveLength(1);
  const after = await d.dispatch({ agent: 'b', prompt: d.prompt({ out: 'two' }) });
  expect(after.status).toBe(202);
  const [t2] = await d.waitTerminal([after.body.id!]);
  expect(t2).toMatchObject({ status: 'succeeded', output: 'two' });
  expect(d.hasLog("the runs' disk takes writes again")).toBe(true);
}

describe.skipIf(skip)('faults: the disk of the runs\' spools fills or turns read-only (the store still writable)', () => {
  it('full: the accepted task waits to start, dispatches get 503 TET_ERR_RUNS_DISK_FULL naming the folder, and freeing space lets both go on without a restart', async () => {
    const { d, runs } = await daemonWithRunsDisk('2m', { noOutputTimeout: '1s' });
    const filler = join(runs, 'filler');
    fill(filler);
    await refusesThenRecovers(d, runs, 'TET_ERR_RUNS_DISK_FULL', /is full .*Free space on it \(see `df -h /, () => rmSync(filler));
  });

  it('read-only: the same, with 503 TET_ERR_RUNS_DISK_READONLY, until the disk is remounted read-write', async () => {
    const { d, runs } = await daemonWithRunsDisk('2m', { noOutputTimeout: '1s' });
    execFileSync('mount', ['-o', 'remount,ro', runs]);
    await refusesThenRecovers(d, runs, 'TET_ERR_RUNS_DISK_READONLY', /is read-only .*Remount it read-write/, () => execFileSync('mount', ['-o', 'remount,rw', runs]));
  });
});
