import type { Command } from 'commander';
import { DaemonClient } from '../client.js';
import { loadForCommand, printJson } from '../context.js';
import { one, taskLine, type TaskView } from '../format.js';
import { statusLine, type DiscordStatusInfo } from '../../channels/discord/status-info.js';

interface AgentRow {
  name: string;
  description: string;
  provider: string | null;
  model: string | null;
  maxTasksPerAgent: number | null;
  running: number;
  queued: number;
  waiting: number;
  configured: boolean;
}

interface Health {
  status: string;
  version: string;
  instance: string;
  store: { ok: boolean; error?: string; code?: string; fix?: string; since?: number };
  scheduler: { state: string; running: number; queued: number; maxConcurrent: number };
  discord?: Pick<DiscordStatusInfo, 'enabled' | 'connected' | 'state' | 'reason' | 'fix'>;
}

/** The store's health in one line: ok, or what fails, since when and what to do. */
export function storeLine(s: Health['store'], now = Date.now()): string {
  if (s.ok) return 'ok';
  const since = s.since !== undefined ? ` (since ${new Date(s.since).toISOString()}, ${Math.max(0, Math.round((now - s.since) / 1000))}s ago)` : '';
  return `FAILING${s.code ? ` ${s.code}` : ''}: ${s.error ?? 'the store refuses writes'}${since}${s.fix ? `; fix: ${s.fix}` : ''}`;
}

/** The Discord bot in one line (from /api/health: no outbox counts there; `tetora discord status` has them). */
function discordLine(d: NonNullable<Health['discord']>): string {
  if (!d.enabled) return 'disabled';
  if (d.connected) return 'connected';
  return statusLine({ enabled: true, connected: false, state: d.state, reason: d.reason, fix: d.fix } as DiscordStatusInfo);
}

function agentLine(a: AgentRow): string {
  const cap = a.maxTasksPerAgent === null ? 'no cap' : `cap ${a.maxTasksPerAgent}`;
  const extra = a.configured ? '' : a.queued > 0 ? ' (no longer configured: its queued tasks wait until it is added back)' : ' (no longer configured)';
  return `${a.name.padEnd(16)} ${String(a.running).padStart(3)} running ${String(a.queued).padStart(4)} queued ${String(a.waiting).padStart(3)} waiting  ${cap}  ${a.provider ?? 'default'}${a.model ? `/${a.model}` : ''}${extra}`;
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('the running daemon: health, queue per agent, running tasks and recent failures')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const client = new DaemonClient((await loadForCommand(cmd)).config);
      const [health, agents, running, failures] = await Promise.all([
        client.json<Health>('GET', '/api/health'),
        client.json<{ agents: AgentRow[] }>('GET', '/api/agents'),
        client.json<{ tasks: TaskView[] }>('GET', '/api/tasks?status=running&limit=50'),
        client.json<{ tasks: TaskView[] }>('GET', '/api/tasks?status=failed,timed_out&limit=5'),
      ]);
      if (opts.json) {
        return printJson({ health: health.body, agents: agents.body.agents, running: running.body.tasks, recentFailures: failures.body.tasks });
      }
      const h = health.body;
      const out: string[] = [
        `daemon   ${client.base}  ${h.status}  (tetora ${h.version}, instance ${h.instance})`,
        `store    ${storeLine(h.store)}`,
        `tasks    ${h.scheduler.running} running of ${h.scheduler.maxConcurrent}, ${h.scheduler.queued} queued  (scheduler ${h.scheduler.state})`,
        ...(h.discord?.enabled ? [`discord  ${discordLine(h.discord)}`] : []),
        '',
        'agents',
        ...(agents.body.agents.length ? agents.body.agents.map((a) => `  ${agentLine(a)}`) : ['  none configured']),
        '',
        'running',
        ...(running.body.tasks.length ? running.body.tasks.map((t) => `  ${taskLine(t)}`) : ['  nothing']),
        '',
        'recent failures',
        ...(failures.body.tasks.length ? failures.body.tasks.map((t) => `  ${taskLine(t)}\n      ${one(t.error?.message ?? '(no message)', 160)}`) : ['  none']),
      ];
      process.stdout.write(`${out.join('\n')}\n`);
    });

  const agent = program.command('agent').description('agents of the running daemon');
  agent
    .command('list')
    .description('each agent with its cap, running and queued counts')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const client = new DaemonClient((await loadForCommand(cmd)).config);
      const { body } = await client.json<{ agents: AgentRow[] }>('GET', '/api/agents');
      if (opts.json) return printJson(body.agents);
      if (body.agents.length === 0) process.stdout.write('no agents configured (add some under "agents" in config.json)\n');
      for (const a of body.agents) process.stdout.write(`${agentLine(a)}\n`);
    });

  program
    .command('drain')
    .description('ask the running daemon to drain: refuse new work, let running tasks finish (up to drainTimeout), then exit')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const client = new DaemonClient((await loadForCommand(cmd)).config);
      const { body } = await client.json<{ status: string; alreadyDraining: boolean; running: number; queued: number }>('POST', '/api/admin/drain');
      if (opts.json) return printJson(body);
      process.stdout.write(
        `${body.alreadyDraining ? 'already draining' : 'draining'}: ${body.running} running task(s) get up to drainTimeout to finish; ${body.queued} queued task(s) stay queued for the next start.\n`,
      );
    });
}
