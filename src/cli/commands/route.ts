import type { Command } from 'commander';
import { DaemonClient } from '../client.js';
import { loadForCommand, printJson } from '../context.js';
import { routeLines } from '../format.js';

interface RouteOpts {
  source?: string;
  channel?: string;
  user?: string;
  guild?: string;
  session?: string;
  run?: boolean;
  json?: boolean;
}

export function registerRoute(program: Command): void {
  program
    .command('route')
    .description('which agent smart dispatch chooses for a prompt, and why (runs only the classifier when the rules do not decide; --run also dispatches it)')
    .argument('<prompt>', 'the request to route')
    .option('--source <name>', 'where it comes from, as bindings match it (discord, http, cli, …; default http)')
    .option('--channel <id>', 'channel id, for bindings')
    .option('--user <id>', 'user id, for bindings')
    .option('--guild <id>', 'guild id, for bindings')
    .option('-s, --session <key>', 'session key: a chat session keeps its agent')
    .option('--run', 'also dispatch the task (without an agent: smart dispatch routes it) and print its id')
    .option('--json', 'print JSON: {agent, method, confidence, reason, classifierTasks?, task?}')
    .action(async (prompt: string, opts: RouteOpts, cmd: Command) => {
      const { config } = await loadForCommand(cmd);
      const body: Record<string, unknown> = { prompt };
      for (const k of ['source', 'channel', 'user', 'guild'] as const) if (opts[k] !== undefined) body[k] = opts[k];
      if (opts.session) body.sessionKey = opts.session;
      if (opts.run) body.run = true;
      const client = new DaemonClient(config);
      const { body: res } = await client.json<{ agent: string; method: string; confidence: string; reason: string; classifierTasks?: string[]; task?: { id: string; status: string } }>(
        'POST',
        '/api/route',
        body,
        { 'x-tetora-source': 'cli' },
      );
      if (opts.json) return printJson(res);
      const lines = routeLines(res).map((l) => l.replace(/^route {5}/, ''));
      if (res.task) lines.push(`task ${res.task.id} ${res.task.status}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
