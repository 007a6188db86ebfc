import type { Command } from 'commander';
import type { TetoraError } from '../../errors.js';
import { stepLine, stepTable, type RunView } from '../../workflows/view.js';
import { DaemonClient } from '../client.js';
import { loadForCommand, printJson } from '../context.js';
import { ExitWith } from '../exit.js';
import { collectVar, workflowCommand } from './workflow.js';

const CLI = { 'x-tetora-source': 'cli' };

const ENDED = new Set(['success', 'error', 'cancelled', 'timeout', 'resumed']);

/** Follow a run until it ends: a step table redrawn on a terminal, one line per step change otherwise. */
async function waitRun(client: DaemonClient, id: string, json: boolean): Promise<RunView> {
  const tty = process.stdout.isTTY === true && !json;
  const seen = new Map<string, string>();
  let drawn = 0;
  let failures = 0;
  for (;;) {
    let run: RunView;
    try {
      run = (await client.json<RunView>('GET', `/api/workflow-runs/${encodeURIComponent(id)}`)).body;
      failures = 0;
    } catch (err) {
      // The daemon restarting under a long run: keep asking for a minute.
      if ((err as TetoraError).code !== 'TET_ERR_DAEMON_UNREACHABLE' || ++failures > 120) throw err;
      await new Promise((r) => setTimeout(r, 500));
      continue;
    }
    if (tty) {
      const lines = stepTable(run);
      if (drawn > 0) process.stdout.write(`\x1b[${drawn}A\x1b[J`);
      process.stdout.write(`${lines.join('\n')}\n`);
      drawn = lines.length;
    } else if (!json) {
      for (const s of run.steps ?? []) {
        const key = `${s.status}/${s.attempt}`;
        if (seen.get(s.id) === key) continue;
        seen.set(s.id, key);
        process.stdout.write(`${stepLine(s)}\n`);
      }
    }
    if (ENDED.has(run.status)) {
      if (!tty && !json) process.stdout.write(`run ${run.id} ${run.status}${run.error ? `: ${run.error}` : ''} ($${run.totalCostUsd.toFixed(4)})\n`);
      return run;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
}

/**
 * The run subcommands of `tetora workflow`: run, runs, status, cancel, resume, approve, reject, answer.
 * Added to the `workflow` group (`workflowCommand`: whichever of the two files registers first creates it).
 */
export function registerWorkflowRun(program: Command): void {
  const wf = workflowCommand(program);
  const client = async (cmd: Command) => new DaemonClient((await loadForCommand(cmd)).config);

  wf.command('run')
    .description('start a run of a workflow; prints its id (with --wait, follows it and exits 0 only on success)')
    .argument('<name>', 'workflow name')
    .option('--var <name=value>', 'a variable (repeatable)', collectVar, {} as Record<string, string>)
    .option('--wait', 'follow the run: a live step table (id, status, agent, duration, cost)')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { var: Record<string, string>; wait?: boolean; json?: boolean }, cmd: Command) => {
      const c = await client(cmd);
      const variables = opts.var;
      const res = (await c.json<{ runId: string; run: RunView }>('POST', `/api/workflows/${encodeURIComponent(name)}/run`, { variables }, CLI)).body;
      if (!opts.wait) {
        if (opts.json) printJson(res);
        else process.stdout.write(`${res.runId}\n`);
        return;
      }
      if (!opts.json) process.stdout.write(`run ${res.runId} started\n`);
      const run = await waitRun(c, res.runId, opts.json === true);
      if (opts.json) printJson(run);
      if (run.status !== 'success') throw new ExitWith(1);
    });

  wf.command('runs')
    .description('recent runs, newest first')
    .argument('[name]', 'only this workflow')
    .option('-n, --limit <n>', 'how many (1-1000)', '20')
    .option('--json', 'print JSON')
    .action(async (name: string | undefined, opts: { limit: string; json?: boolean }, cmd: Command) => {
      const q = new URLSearchParams({ limit: opts.limit, ...(name ? { workflow: name } : {}) });
      const body = (await (await client(cmd)).json<{ runs: RunView[] }>('GET', `/api/workflow-runs?${q}`)).body;
      if (opts.json) return printJson(body);
      if (body.runs.length === 0) process.stdout.write('no workflow runs\n');
      for (const r of body.runs) {
        const counts = Object.entries(r.counts ?? {}).map(([k, v]) => `${k}=${v}`).join(' ');
        process.stdout.write(`${r.id}  ${r.workflow}  ${r.status}  ${r.createdAt}  ${counts}${r.error ? `  ${r.error.split('\n')[0]}` : ''}\n`);
      }
    });

  wf.command('status')
    .description('one run: its steps with task ids, status, agent, duration and cost')
    .argument('<run>', 'run id')
    .option('--json', 'print JSON (step outputs in full)')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const run = (await (await client(cmd)).json<RunView>('GET', `/api/workflow-runs/${encodeURIComponent(id)}`)).body;
      if (opts.json) return printJson(run);
      process.stdout.write(`${stepTable(run).join('\n')}\n`);
      for (const s of run.steps ?? []) {
        if (s.taskId) process.stdout.write(`  ${s.id}: task ${s.taskId}\n`);
        if (s.status === 'waiting' && s.type === 'human') process.stdout.write(`  ${s.id} waits for a decision: ${s.note ?? ''} (tetora workflow approve|reject ${run.id} ${s.id})\n`);
      }
    });

  wf.command('cancel')
    .description('cancel a running run: its running steps are stopped, the rest marked cancelled')
    .argument('<run>', 'run id')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const run = (await (await client(cmd)).json<RunView>('POST', `/api/workflow-runs/${encodeURIComponent(id)}/cancel`, {}, CLI)).body;
      if (opts.json) printJson(run);
      else process.stdout.write(`run ${run.id} ${run.status}\n`);
    });

  wf.command('resume')
    .description('run a failed, cancelled or timed-out run again from its failed steps (or from --from STEP and what depends on it), keeping earlier outputs')
    .argument('<run>', 'run id')
    .option('--from <step>', 're-run this step and its dependants')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { from?: string; json?: boolean }, cmd: Command) => {
      const res = (await (await client(cmd)).json<{ runId: string }>('POST', `/api/workflow-runs/${encodeURIComponent(id)}/resume`, opts.from ? { from: opts.from } : {}, CLI)).body;
      if (opts.json) printJson(res);
      else process.stdout.write(`${res.runId}\n`);
    });

  for (const kind of ['approve', 'reject'] as const) {
    wf.command(kind)
      .description(`${kind} a waiting human step`)
      .argument('<run>', 'run id')
      .argument('<step>', 'step id')
      .option('--comment <text>', 'a note kept with the decision')
      .option('--json', 'print JSON')
      .action(async (id: string, step: string, opts: { comment?: string; json?: boolean }, cmd: Command) => {
        const run = (await (await client(cmd)).json<RunView>('POST', `/api/workflow-runs/${encodeURIComponent(id)}/steps/${encodeURIComponent(step)}/${kind}`, opts.comment ? { text: opts.comment } : {}, CLI)).body;
        if (opts.json) printJson(run);
        else process.stdout.write(`${step} ${run.steps?.find((s) => s.id === step)?.status ?? '?'}\n`);
      });
  }

  wf.command('answer')
    .description('answer a waiting human input step')
    .argument('<run>', 'run id')
    .argument('<step>', 'step id')
    .argument('<text>', 'the answer (the step output)')
    .option('--json', 'print JSON')
    .action(async (id: string, step: string, text: string, opts: { json?: boolean }, cmd: Command) => {
      const run = (await (await client(cmd)).json<RunView>('POST', `/api/workflow-runs/${encodeURIComponent(id)}/steps/${encodeURIComponent(step)}/answer`, { text }, CLI)).body;
      if (opts.json) printJson(run);
      else process.stdout.write(`${step} ${run.steps?.find((s) => s.id === step)?.status ?? '?'}\n`);
    });
}
