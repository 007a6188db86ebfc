import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { daemonPool, type DaemonHarness } from '../helpers/daemon.js';
import { processAlive, waitUntil, type LogLine } from '../helpers/engine-harness.js';

// Issue 14, faults beyond crashes: a provider process deaf to SIGTERM, and one that prints gigabytes.
const pool = daemonPool();

/** The process group of `pid` (from /proc). */
function pgidOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

/** Live (not zombie) processes of process group `pgid`. */
function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') out.push(Number(name));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

/** A kB figure of /proc/<pid>/status (VmHWM: the peak resident set), in bytes. */
function procStatusBytes(pid: number, field: string): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

/** Dispatches an agent (and its grandchild) deaf to SIGTERM; resolves once both run, with their pids and group. */
async function deafRun(d: DaemonHarness, extra: Record<string, unknown> = {}): Promise<{ id: string; agent: number; grandchild: number; pgid: number }> {
  const res = await d.dispatch({ agent: 'a', prompt: d.prompt({ sleepMs: 120_000, ignoreTerm: true, grandchild: 'deaf' }), ...extra });
  expect(res.status).toBe(202);
  const id = res.body.id!;
  await waitUntil(() => d.log().some((l) => l.taskId === id && l.event === 'grandchild'), 20_000);
  const start = d.log().find((l) => l.taskId === id && l.event === 'start') as LogLine;
  const grandchild = d.log().find((l) => l.taskId === id && l.event === 'grandchild')!.grandchildPid!;
  const pgid = pgidOf(start.pid);
  expect(pgidOf(grandchild)).toBe(pgid);
  return { id, agent: start.pid, grandchild, pgid };
}

describe('faults: a provider process that ignores SIGTERM', () => {
  it('cancel and timeout: SIGTERM is ignored, SIGKILL of the group follows the grace period, the tasks end cancelled and timed_out, and nothing of either group survives', async () => {
    const d = await pool.start();
    const [cancelled, timed] = await Promise.all([deafRun(d), deafRun(d, { timeout: '3s' })]);
    const r = await d.json<{ status: string }>(`/api/tasks/${cancelled.id}/cancel`, { method: 'POST' });
    expect(r.status).toBeLessThan(300);
    const [c, t] = await d.waitTerminal([cancelled.id, timed.id]);
    expect(c).toMatchObject({ status: 'cancelled', error: { class: 'cancelled', message: 'cancelled by api' } });
    expect(t).toMatchObject({ status: 'timed_out', error: { class: 'timeout', message: 'timed out after 3s' } });
    for (const run of [cancelled, timed]) {
      await waitUntil(() => groupMembers(run.pgid).length === 0, 20_000);
      expect(d.log().some((l) => l.taskId === run.id && l.event === 'sigterm-ignored')).toBe(true);
      expect(processAlive(run.agent)).toBe(false);
      expect(processAlive(run.grandchild)).toBe(false);
    }
    expect(d.markedPids()).toEqual([]);
  });
});

// `npm test` prints 64 MiB; `npm run test:faults` prints 1 GiB (TETORA_FAULTS_BIG_BYTES), the figure in docs/reliability.md.
const BIG = Number(process.env.TETORA_FAULTS_BIG_BYTES ?? 64 * 1024 * 1024);
const MiB = 1024 * 1024;

describe('faults: a CLI that prints gigabytes', () => {
  it(`a provider printing ${Math.round(BIG / MiB)} MiB: the daemon's peak memory stays bounded, the task succeeds and its output is kept whole on disk`, async () => {
    const d = await pool.start({ maxOutputBytes: MiB });
    const pid = d.child!.pid!;
    const before = procStatusBytes(pid, 'VmHWM');
    const t0 = Date.now();
    const res = await d.dispatch({ agent: 'a', prompt: d.prompt({ bigOutput: BIG, silent: true }) });
    const [t] = (await d.waitTerminal([res.body.id!], 30 * 60_000)) as unknown as Array<{ status: string; output: string; outputBytes: number }>;
    const tookMs = Date.now() - t0;
    const peak = procStatusBytes(pid, 'VmHWM');
    console.log(`faults: ${BIG} bytes of output: ${tookMs} ms; daemon VmHWM ${Math.round(before / MiB)} MiB before, ${Math.round(peak / MiB)} MiB after`);
    expect(t!.status).toBe('succeeded');
    expect(t!.outputBytes).toBe(BIG);
    expect(t!.output.length).toBeLessThanOrEqual(64 * 1024); // the row keeps the head; the spool file keeps it all
    // Bounded: well under the output's size, and under 512 MiB whatever the size.
    expect(peak).toBeLessThan(512 * MiB);
    expect(peak - before).toBeLessThan(Math.max(BIG / 2, 96 * MiB));
    const whole = await d.fetch(`/api/tasks/${res.body.id}/output`);
    expect(whole.status).toBe(200);
    expect(Number(whole.headers.get('content-length'))).toBe(BIG);
    await whole.body?.cancel();
  }, 30 * 60_000);
});
