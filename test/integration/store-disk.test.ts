import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { daemonPool, DaemonHarness, type TaskJson } from '../helpers/daemon.js';
import { waitUntil } from '../helpers/engine-harness.js';
import { fill, tmpfsMounts, truncateWal, until } from '../helpers/faults.js';

// Issue 10, items 3 and 4: the store on a small tmpfs that the test fills, or remounts read-only. Mounting
// needs root; outside CI a non-root run skips (with this message), in CI it never skips.
const isRoot = process.getuid?.() === 0;
const inCi = process.env.CI === 'true';
const skip = !isRoot && !inCi;
if (skip) console.warn('store-disk tests skipped: they mount a tmpfs and need root (they never skip with CI=true)');

const disks = tmpfsMounts();
const pool = daemonPool();

const tmpfs = (size: string): string => disks.fresh(size);

interface Health {
  status: string;
  store: { ok: boolean; code?: string; error?: string; fix?: string; since?: number };
  scheduler: { running: number | null };
}

const starts = (d: DaemonHarness, id: string) => d.log().filter((l) => l.taskId === id && l.event === 'start').length;
const ended = (d: DaemonHarness, id: string) => d.log().some((l) => l.taskId === id && l.event === 'end');

/**
 * A daemon whose home's store is on a 16 MB tmpfs, running task A ("result of A" after `sleepMs`); the disk
 * is filled while A runs, and this resolves once A ended and the daemon said it cannot record its result.
 */
async function runEndingOnFullDisk(opts: { drainTimeout: string; sleepMs: number }): Promise<{ disk: string; dbPath: string; d: DaemonHarness; id: string; filler: string }> {
  const disk = tmpfs('16m');
  const dbPath = join(disk, 'tetora.db');
  const d = await pool.start({ dbPath, drainTimeout: opts.drainTimeout });
  const a = await d.dispatch({ agent: 'a', prompt: d.prompt({ sleepMs: opts.sleepMs, out: 'result of A' }) });
  const id = a.body.id as string;
  await waitUntil(() => starts(d, id) === 1);
  truncateWal(dbPath);
  const filler = join(disk, 'filler');
  fill(filler);
  await waitUntil(() => ended(d, id));
  await waitUntil(() => d.hasLog("cannot record the run's result yet"));
  return { disk, dbPath, d, id, filler };
}

const noStack = (text: string) => expect(text).not.toMatch(/\n\s+at .+:\d+:\d+/);

describe.skipIf(skip)('a store on a disk that fills (issue 10 item 3)', () => {
  it('refuses dispatches with 503 TET_ERR_STORE_FULL, reports it in health, keeps a finished run counted and records it once space returns, without a restart and without running it again', async () => {
    // The run ends while the disk is full: its result cannot be written.
    const { dbPath, d, id, filler } = await runEndingOnFullDisk({ drainTimeout: '5s', sleepMs: 2500 });

    const failing = await until(async () => {
      fill(filler); // take whatever a WAL checkpoint of the daemon gave back
      const h = await d.json<Health>('/api/health');
      const t = await d.task(id);
      const r = await d.json<{ error: { code: string; message: string } }>('/api/dispatch', { method: 'POST', body: JSON.stringify({ agent: 'b', prompt: d.prompt({}) }) });
      return !h.body.store.ok && t.status === 'running' && r.status === 503 ? { h: h.body, r } : undefined;
    });
    expect(failing.r.body.error.code).toBe('TET_ERR_STORE_FULL');
    expect(failing.r.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(failing.r.body.error.message).toContain(dbPath);
    expect(failing.h.status).toBe('degraded');
    expect(failing.h.store.code).toBe('TET_ERR_STORE_FULL');
    expect(failing.h.store.error).toMatch(/full/);
    expect(typeof failing.h.store.since).toBe('number');
    // The finished run keeps its slot while its result waits.
    expect(failing.h.scheduler.running).toBe(1);
    const status = await d.cli(['status']);
    expect(status.stdout).toMatch(/store\s+FAILING TET_ERR_STORE_FULL: the disk holding the database is full/);

    rmSync(filler);
    const [done] = await d.waitTerminal([id]);
    expect(done?.status).toBe('succeeded');
    expect(done?.output).toBe('result of A');
    const healthy = await until(async () => {
      const h = await d.json<Health>('/api/health');
      return h.body.status === 'ok' ? h.body : undefined;
    });
    expect(healthy.store.ok).toBe(true);
    const b = await d.dispatch({ agent: 'b', prompt: d.prompt({ out: 'B' }) });
    expect(b.status).toBe(202);
    await d.waitTerminal([b.body.id as string]);
    expect(starts(d, id)).toBe(1);

    // A restart finds nothing to redo.
    d.kill('SIGTERM');
    expect(await d.exited()).toBe(0);
    await d.start();
    expect((await d.task(id)).status).toBe('succeeded');
    expect(starts(d, id)).toBe(1);
  });

  it('recovers when the WAL itself fills a 3 MB disk: dispatches succeed again once the filler is removed', async () => {
    const disk = tmpfs('3m');
    const dbPath = join(disk, 'tetora.db');
    const d = await pool.start({ dbPath, maxConcurrent: 2 });
    truncateWal(dbPath);
    const filler = join(disk, 'filler');
    fill(filler);
    const refused = await d.dispatch({ agent: 'a', prompt: d.prompt({}) });
    expect(refused.status).toBe(503);
    rmSync(filler);
    // Each dispatch, and each run, appends to the WAL; without checkpoints it outgrows the 3 MB disk.
    const ids: string[] = [];
    for (let i = 0; i < 150; i++) {
      const r = await until(async () => {
        const x = await d.dispatch({ agent: i % 2 ? 'a' : 'b', prompt: d.prompt({ out: `task ${i}` }) });
        if (x.status === 503) return undefined;
        return x;
      }, 20_000);
      expect(r.status).toBe(202);
      ids.push(r.body.id as string);
    }
    const tasks: TaskJson[] = await d.waitTerminal(ids, 120_000);
    expect(tasks.every((t) => t.status === 'succeeded')).toBe(true);
    const h = await until(async () => {
      const x = await d.json<Health>('/api/health');
      return x.body.store.ok ? x.body : undefined;
    });
    expect(h.status).toBe('ok');
  }, 180_000);

  it('a start on a full disk exits with TET_ERR_STORE_FULL naming the file and the fix, without a stack trace', async () => {
    const disk = tmpfs('16m');
    const dbPath = join(disk, 'tetora.db');
    const d = await pool.start({ dbPath });
    d.kill('SIGTERM');
    expect(await d.exited()).toBe(0);
    fill(join(disk, 'filler'));
    const r = await d.cli(['serve', '--listen', '127.0.0.1:0', '--log-format', 'json']);
    expect(r.code).toBe(75);
    expect(r.stderr).toMatch(/tetora: cannot (start|open the database|take the lock of the home).*full/);
    expect(r.stderr).toContain(dbPath);
    expect(r.stderr).toContain('df -h');
    noStack(r.stderr);
  });

  it('SIGTERM while the store refuses writes: the drain finishes (exit 75), and the next start records the run from its spool without running it again', async () => {
    const { d, id, filler } = await runEndingOnFullDisk({ drainTimeout: '1s', sleepMs: 1500 });
    fill(filler);
    d.kill('SIGTERM');
    expect(await d.exited()).toBe(75);
    expect(d.logs.filter((l) => typeof l.level !== 'number').map((l) => l.msg)).toEqual([]); // every line is the logger's: no crash printed
    expect(d.hasLog('stopped while the store refused writes')).toBe(true);

    rmSync(filler);
    await d.start();
    const [t] = await d.waitTerminal([id]);
    expect(t?.status).toBe('succeeded');
    expect(t?.output).toBe('result of A');
    expect(starts(d, id)).toBe(1);
  });
});

describe.skipIf(skip)('a read-only store (issue 10 item 4)', () => {
  it('a start on a read-only disk exits with TET_ERR_STORE_READONLY naming the file and the fix, without a stack trace', async () => {
    const disk = tmpfs('16m');
    const dbPath = join(disk, 'tetora.db');
    const d = await pool.start({ dbPath });
    await d.dispatch({ agent: 'a', prompt: d.prompt({}) });
    d.kill('SIGKILL'); // leaves the -wal and -shm files
    await d.exited();
    expect(existsSync(`${dbPath}-wal`)).toBe(true);
    execFileSync('mount', ['-o', 'remount,ro', disk]);
    const r = await d.cli(['serve', '--listen', '127.0.0.1:0', '--log-format', 'json']);
    expect(r.code).toBe(74);
    expect(r.stderr).toMatch(/tetora: cannot .*cannot be written/);
    expect(r.stderr).toContain(dbPath);
    expect(r.stderr).toMatch(/writable/);
    noStack(r.stderr);
  });
});
