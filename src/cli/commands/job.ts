import type { Command } from 'commander';
import type { FiringView, JobView } from '../../schedules/views.js';
import { DaemonClient } from '../client.js';
import { loadForCommand, printJson } from '../context.js';

/**
 * `tetora job list|run|enable|disable`: the cron jobs of the jobs file (`jobsFile`, default jobs.json),
 * through the daemon (it holds the schedules). enable/disable are kept in the daemon's store: the jobs
 * file is not rewritten.
 */

const row = (cells: string[], widths: number[]) => cells.map((c, i) => (i < widths.length ? c.padEnd(widths[i] as number) : c)).join('  ').trimEnd();

/** A table of cells whose last column is not padded. Pure. */
export function table(head: string[], cells: string[][]): string {
  const widths = head.slice(0, -1).map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  return [head, ...cells].map((c) => row(c, widths)).join('\n');
}

/** One line for a firing: when, how, and what it started or why it failed. Pure. */
export function firingText(f: FiringView | null): string {
  if (!f) return '-';
  const what = f.taskId ? `task ${f.taskId.slice(0, 8)}` : f.workflowRunId ? `run ${f.workflowRunId}` : f.error ? `failed: ${f.error}` : f.status;
  return `${f.scheduledAt} ${f.kind} ${what}`;
}

/** `tetora job list` as text. Pure. */
export function jobsText(body: { file: string; missing: boolean; jobs: JobView[] }): string {
  if (body.jobs.length === 0) return `no jobs${body.missing ? ` (${body.file} does not exist)` : ` in ${body.file}`}`;
  const cells = body.jobs.map((j) => [
    j.id,
    j.enabled ? 'enabled' : 'disabled',
    j.tz ? `${j.schedule} (${j.tz})` : j.schedule,
    j.nextFireAt ?? '-',
    firingText(j.lastFiring),
  ]);
  return table(['ID', 'STATE', 'SCHEDULE', 'NEXT', 'LAST FIRING'], cells);
}

export function registerJob(program: Command): void {
  const job = program.command('job').description('cron jobs of the jobs file (jobs.json): list with next fire times, run now, enable, disable');
  const client = async (cmd: Command) => new DaemonClient((await loadForCommand(cmd)).config);

  job
    .command('list')
    .description('every job with its schedule, next fire time and last firing')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { body } = await (await client(cmd)).json<{ file: string; missing: boolean; jobs: JobView[] }>('GET', '/api/jobs');
      if (opts.json) printJson(body);
      else process.stdout.write(`${jobsText(body)}\n`);
    });

  job
    .command('run')
    .description('fire a job now (one task), whatever its schedule says')
    .argument('<id>', 'job id')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const { body } = await (await client(cmd)).json<{ firing: FiringView; task: { id: string; status: string } | null }>('POST', `/api/jobs/${encodeURIComponent(id)}/run`);
      if (opts.json) printJson(body);
      else process.stdout.write(`job ${id} fired: task ${body.task?.id ?? body.firing.taskId} ${body.task?.status ?? ''}\n`);
    });

  for (const action of ['enable', 'disable'] as const) {
    job
      .command(action)
      .description(`${action} a job (kept by the daemon; jobs.json is not rewritten)`)
      .argument('<id>', 'job id')
      .option('--json', 'print JSON')
      .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
        const { body } = await (await client(cmd)).json<{ job: JobView }>('POST', `/api/jobs/${encodeURIComponent(id)}/${action}`);
        if (opts.json) printJson(body);
        else process.stdout.write(`job ${id} ${body.job.enabled ? 'enabled' : 'disabled'}${body.job.nextFireAt ? `, next ${body.job.nextFireAt}` : ''}\n`);
      });
  }
}
