import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DaemonHarness, daemonPool } from '../helpers/daemon.js';

/**
 * Cron jobs on the real daemon (a child process) with the schedules' test clock (TETORA_TEST_CLOCK: the
 * test moves time by rewriting a file): one firing per scheduled time, across SIGKILL and restarts, and
 * catchUp. No timing assertions: every wait polls for a state, with a generous deadline.
 */
const pool = daemonPool();

interface Firing {
  id: number;
  schedule: string;
  scheduled_at: number;
  kind: string;
  status: string;
  task_id: string | null;
  error: string | null;
}

function firings(d: DaemonHarness, schedule?: string): Firing[] {
  const rows = d.query<Firing>('SELECT id, schedule, scheduled_at, kind, status, task_id, error FROM schedule_firings ORDER BY id');
  return schedule ? rows.filter((r) => r.schedule === schedule) : rows;
}

async function until(what: string, check: () => boolean | Promise<boolean>, deadlineMs = 30_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`not reached within ${deadlineMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const t = (hhmmss: string) => Date.parse(`2026-01-01T${hhmmss}Z`);

async function setup(jobs: unknown[]): Promise<{ d: DaemonHarness; clock: (hhmmss: string) => void; start: () => Promise<void> }> {
  const d = pool.track(await DaemonHarness.create());
  writeFileSync(join(d.home, 'jobs.json'), JSON.stringify({ jobs }, null, 2));
  const clockFile = join(d.home, 'test-clock');
  const clock = (hhmmss: string) => writeFileSync(clockFile, String(t(hhmmss)));
  const start = async () => {
    await d.start({ env: { TETORA_TEST_CLOCK: clockFile } });
    // Every job of the file has been taken up (armed) by this daemon.
    await until('the jobs are held', async () => (await d.json<{ jobs: Array<{ held: boolean; enabled: boolean }> }>('/api/jobs')).body.jobs.every((j) => j.held || !j.enabled));
  };
  return { d, clock, start };
}

async function cronTasks(d: DaemonHarness): Promise<Array<{ id: string; status: string }>> {
  return (await d.json<{ tasks: Array<{ id: string; status: string }> }>('/api/tasks?source=cron&limit=100')).body.tasks;
}

describe('cron jobs', () => {
  it('a job fires once per scheduled time and makes one task, also when SIGKILL and a restart land on that same time', async () => {
    const { d, clock, start } = await setup([]);
    writeFileSync(join(d.home, 'jobs.json'), JSON.stringify({ jobs: [{ id: 'tick', name: 'Tick', schedule: '* * * * *', task: { prompt: d.prompt({ out: 'tock' }), agent: 'a' } }] }));
    clock('00:00:30');
    await start();
    expect(firings(d)).toEqual([]);

    clock('00:01:00');
    await until('the 00:01 firing', () => firings(d).length === 1);
    const [first] = firings(d);
    expect(first).toMatchObject({ schedule: 'job:tick', scheduled_at: t('00:01:00'), kind: 'cron', status: 'started' });
    const tasks = await cronTasks(d);
    expect(tasks.map((x) => x.id)).toEqual([first?.task_id]);
    const [done] = await d.waitTerminal([first?.task_id as string]);
    expect(done?.status).toBe('succeeded');
    const shown = (await d.json<Record<string, unknown>>(`/api/tasks/${first?.task_id}`)).body;
    expect(shown).toMatchObject({ source: 'cron', agent: 'a' });

    // Killed and restarted with the clock still at 00:01:00: the time is due again for the new daemon,
    // and the recorded firing keeps it from making a second task.
    d.kill('SIGKILL');
    await d.exited();
    await start();
    const jobs = (await d.json<{ jobs: Array<{ nextFireAt: string; lastFiring: { scheduledAt: string } }> }>('/api/jobs')).body.jobs;
    expect(jobs[0]?.lastFiring.scheduledAt).toBe('2026-01-01T00:01:00.000Z');
    clock('00:01:30');
    await until('the daemon looked at 00:01:30', async () => (await d.json<{ jobs: Array<{ nextFireAt: string }> }>('/api/jobs')).body.jobs[0]?.nextFireAt === '2026-01-01T00:02:00.000Z');
    expect(firings(d)).toHaveLength(1);
    expect(await cronTasks(d)).toHaveLength(1);

    clock('00:02:00');
    await until('the 00:02 firing', () => firings(d).length === 2);
    expect(firings(d).map((f) => f.scheduled_at)).toEqual([t('00:01:00'), t('00:02:00')]);
    expect(await cronTasks(d)).toHaveLength(2);
  });

  it('catchUp last fires the latest missed firing exactly once at start; catchUp none fires none', async () => {
    const { d, clock, start } = await setup([]);
    writeFileSync(
      join(d.home, 'jobs.json'),
      JSON.stringify({
        jobs: [
          { id: 'last', schedule: '* * * * *', catchUp: 'last', task: { prompt: d.prompt({ out: 'ok' }), agent: 'a' } },
          { id: 'none', schedule: '* * * * *', task: { prompt: d.prompt({ out: 'ok' }), agent: 'b' } },
        ],
      }),
    );
    clock('00:00:30');
    await start();
    clock('00:01:00');
    await until('both 00:01 firings', () => firings(d).length === 2);

    // Down from 00:01 to 00:05:30: four firings of each job were missed.
    d.kill('SIGKILL');
    await d.exited();
    clock('00:05:30');
    await start();
    await until('the catch-up firing', () => firings(d, 'job:last').length === 2);
    const caught = firings(d, 'job:last')[1];
    expect(caught).toMatchObject({ scheduled_at: t('00:05:00'), kind: 'catch-up', status: 'started' });
    expect(firings(d, 'job:none')).toHaveLength(1);

    // Once only: another crash and start a little later catches nothing up again.
    d.kill('SIGKILL');
    await d.exited();
    clock('00:05:45');
    await start();
    expect(firings(d, 'job:last')).toHaveLength(2);
    expect(firings(d, 'job:none')).toHaveLength(1);
    expect(await cronTasks(d)).toHaveLength(3);
  });

  it('job list/run/enable/disable from the CLI; a disabled job does not fire, also after a restart', async () => {
    const { d, clock, start } = await setup([]);
    writeFileSync(join(d.home, 'jobs.json'), JSON.stringify({ jobs: [{ id: 'hourly', schedule: '0 * * * *', tz: 'Asia/Tokyo', maxRetries: 4, task: { prompt: d.prompt({ out: 'ok' }), agent: 'a' } }] }));
    clock('00:30:00');
    await start();

    const list = await d.cli(['job', 'list', '--json']);
    expect(list.code, list.stderr).toBe(0);
    const listed = JSON.parse(list.stdout) as { jobs: Array<Record<string, unknown>> };
    expect(listed.jobs[0]).toMatchObject({ id: 'hourly', enabled: true, schedule: '0 * * * *', tz: 'Asia/Tokyo', nextFireAt: '2026-01-01T01:00:00.000Z', lastFiring: null });
    const text = await d.cli(['job', 'list']);
    expect(text.stdout).toContain('2026-01-01T01:00:00.000Z');

    const run = await d.cli(['job', 'run', 'hourly', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const ran = JSON.parse(run.stdout) as { firing: { kind: string; taskId: string }; task: { id: string; maxAttempts: number } };
    expect(ran.firing.kind).toBe('manual');
    expect(ran.task).toMatchObject({ id: ran.firing.taskId, maxAttempts: 5 });

    const off = await d.cli(['job', 'disable', 'hourly', '--json']);
    expect(off.code, off.stderr).toBe(0);
    expect(JSON.parse(off.stdout)).toMatchObject({ job: { enabled: false, override: false, enabledInFile: true, nextFireAt: null } });
    clock('01:00:05');
    await until('the daemon looked past 01:00', async () => (await d.json<{ jobs: Array<{ held: boolean }> }>('/api/jobs')).body.jobs[0]?.held === false);
    d.kill('SIGKILL');
    await d.exited();
    clock('02:00:00');
    await start();
    expect(firings(d, 'job:hourly').map((f) => f.kind)).toEqual(['manual']);

    clock('02:10:00');
    const on = await d.cli(['job', 'enable', 'hourly']);
    expect(on.code, on.stderr).toBe(0);
    expect(on.stdout).toContain('enabled');
    // Enabled at 02:10: nothing before is missed; the next firing is 03:00.
    clock('03:00:00');
    await until('the 03:00 firing', () => firings(d, 'job:hourly').length === 2);
    expect(firings(d, 'job:hourly')[1]).toMatchObject({ scheduled_at: t('03:00:00'), kind: 'cron' });

    const missing = await d.cli(['job', 'run', 'nope']);
    expect(missing.code).toBe(65);
    expect(missing.stderr).toContain('no job has id "nope"');
  });

  it('SIGHUP reads the jobs file again; an invalid one is refused and the jobs loaded before stay', async () => {
    const { d, clock, start } = await setup([]);
    const write = (jobs: unknown[]) => writeFileSync(join(d.home, 'jobs.json'), JSON.stringify({ jobs }));
    write([{ id: 'one', schedule: '0 * * * *', task: { prompt: 'p', agent: 'a' } }]);
    clock('00:30:00');
    await start();
    const ids = async () => (await d.json<{ jobs: Array<{ id: string; held: boolean }> }>('/api/jobs')).body.jobs.map((j) => `${j.id}:${j.held}`);
    expect(await ids()).toEqual(['one:true']);
    clock('00:31:00');
    write([{ id: 'one', schedule: '0 * * * *', task: { prompt: 'p', agent: 'a' } }, { id: 'two', schedule: '*/5 * * * *', task: { prompt: 'q', agent: 'b' } }]);
    d.kill('SIGHUP');
    await until('job two is held', async () => (await ids()).join() === 'one:true,two:true');
    write([{ id: 'three', schedule: 'every hour', task: { prompt: 'p', agent: 'a' } }]);
    d.kill('SIGHUP');
    await until('the refusal is logged', () => d.hasLog('jobs file reload refused'));
    expect(await ids()).toEqual(['one:true', 'two:true']);
    // Added while the daemon runs, two catches nothing up and fires at its next time.
    clock('00:35:00');
    await until('two fires at 00:35', () => firings(d, 'job:two').length === 1);
    expect(firings(d, 'job:two')[0]).toMatchObject({ scheduled_at: t('00:35:00'), kind: 'cron' });
  });

  it('a jobs file with a bad cron expression stops the start with an error naming the job and field', async () => {
    const d = pool.track(await DaemonHarness.create());
    writeFileSync(join(d.home, 'jobs.json'), JSON.stringify({ jobs: [{ id: 'bad', schedule: '0 9 * * mon-funday', task: { prompt: 'x' } }] }));
    await expect(d.start()).rejects.toThrow(/exited early with 78/);
    expect(d.logs.map((l) => String(l.msg ?? '')).join('\n') + JSON.stringify(d.logs)).toContain('jobs.0 (id \\"bad\\").schedule');
  });
});
