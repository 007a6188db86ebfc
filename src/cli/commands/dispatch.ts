import type { Command } from 'commander';
import { statSync } from 'node:fs';
import { homedir } from 'node:os';
import { TetoraError } from '../../errors.js';
import { resolvePath } from '../../util/fsx.js';
import { DaemonClient, followEvents } from '../client.js';
import { loadForCommand, printJson } from '../context.js';
import { exitCodeOf, isTerminalType, progressLine, type TaskView } from '../format.js';
import { pipeOut } from '../output.js';

interface DispatchOpts {
  agent?: string;
  model?: string;
  provider?: string;
  timeout?: string;
  workdir?: string;
  session?: string;
  priority?: string;
  idempotencyKey?: string;
  systemPrompt?: string;
  wait?: boolean;
  json?: boolean;
  handoffFrom?: string;
}

export function registerDispatch(program: Command): void {
  program
    .command('dispatch')
    .description('hand a task to the running daemon (returns once it is recorded; --wait follows it to the end)')
    .argument('<prompt>', 'what the agent should do ("-" reads it from stdin)')
    .option('-a, --agent <name>', 'agent to run it (default: defaultAgent)')
    .option('-m, --model <model>', 'model override')
    .option('--provider <name>', 'provider override')
    .option('-t, --timeout <duration>', 'wall-clock limit, e.g. 15m')
    .option('-w, --workdir <dir>', 'folder the agent works in (relative to the current folder; sent as an absolute path)')
    .option('-s, --session <key>', 'session key: tasks with the same key run in order and continue one conversation')
    .option('--priority <n>', 'higher runs first (default 0)')
    .option('--idempotency-key <key>', 'dispatching again with the same key returns the same task')
    .option('--system-prompt <text>', 'extra system prompt for this task')
    .option('--handoff-from <task-id>', "hand that task's whole output to this one: the prompt is the instruction, sent after the output (the task must have succeeded)")
    .option('--wait', 'show live progress and exit with the task outcome (0 succeeded, 1 failed, 3 cancelled, 4 timed out)')
    .option('--json', 'print JSON')
    .action(async (promptArg: string, opts: DispatchOpts, cmd: Command) => {
      const { config } = await loadForCommand(cmd);
      const prompt = promptArg === '-' ? await readStdin() : promptArg;
      const body: Record<string, unknown> = { prompt };
      if (opts.agent) body.agent = opts.agent;
      if (opts.model) body.model = opts.model;
      if (opts.provider) body.provider = opts.provider;
      if (opts.timeout) body.timeout = opts.timeout;
      if (opts.workdir !== undefined) body.workdir = workdirFromHere(opts.workdir);
      if (opts.session) body.sessionKey = opts.session;
      if (opts.systemPrompt) body.systemPrompt = opts.systemPrompt;
      if (opts.idempotencyKey) body.idempotencyKey = opts.idempotencyKey;
      if (opts.handoffFrom !== undefined) body.handoffFrom = opts.handoffFrom;
      if (opts.priority !== undefined) {
        const p = Number(opts.priority);
        if (!Number.isInteger(p)) throw new TetoraError('TET_ERR_USAGE', `--priority "${opts.priority}" must be a whole number.`);
        body.priority = p;
      }
      const client = new DaemonClient(config);
      const { body: res } = await client.json<{ id: string; status: string; tasks: TaskView[] }>('POST', '/api/dispatch', body, { 'x-tetora-source': 'cli' });
      const id = res.id;
      if (!opts.wait) {
        if (opts.json) printJson(res.tasks[0]);
        else process.stdout.write(`${id} ${res.status}\n`);
        return;
      }
      if (!opts.json) process.stderr.write(`task ${id} accepted (${res.status})\n`);
      const t0 = Date.parse(res.tasks[0]?.createdAt ?? new Date().toISOString());
      await followEvents(client, `/api/tasks/${id}/events`, async (e) => {
        if (!opts.json) {
          const line = progressLine(e, t0);
          if (line) await pipeOut([`${line}\n`], process.stderr);
        }
        return isTerminalType(e.type);
      });
      const { body: final } = await client.json<TaskView & { outputTruncated?: boolean }>('GET', `/api/tasks/${id}`);
      if (opts.json) printJson(final);
      else await printOutput(client, final);
      process.exitCode = exitCodeOf(final.status);
    });
}

/**
 * The output of an ended task on stdout, ending with a line end: from the task row, or — when it is too
 * large for the row (`outputTruncated`) — whole from GET /api/tasks/:id/output, as `tetora task output`.
 */
async function printOutput(client: DaemonClient, t: TaskView & { outputTruncated?: boolean }): Promise<void> {
  const last = t.outputTruncated ? await pipeOut(await client.output(t.id)) : t.output ? await pipeOut([t.output]) : undefined;
  if (last !== undefined && last !== 10) await pipeOut(['\n']);
}

/**
 * The folder the user typed, made absolute from where they are (the daemon would otherwise take a
 * relative path from its own home): `~` and `~/…` are the user's home. It must be an existing folder.
 */
export function workdirFromHere(typed: string, cwd: string = process.cwd(), home: string = homedir()): string {
  if (typed.trim() === '') throw new TetoraError('TET_ERR_USAGE', '--workdir is empty: give the folder the agent should work in (for example --workdir .).', { field: 'workdir' });
  const path = resolvePath(typed, cwd, home);
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new TetoraError(
      'TET_ERR_USAGE',
      code === 'ENOENT' || code === 'ENOTDIR'
        ? `--workdir "${typed}" is ${path}, which does not exist. Create it, or give an existing folder (relative paths start from the current folder, ${cwd}).`
        : `--workdir "${typed}" is ${path}, which cannot be read (${code ?? (err as Error).message}). Check its permissions, or give another folder.`,
      { field: 'workdir', value: typed, path },
    );
  }
  if (!isDir) throw new TetoraError('TET_ERR_USAGE', `--workdir "${typed}" is ${path}, which is a file, not a folder. Give the folder the agent should work in.`, { field: 'workdir', value: typed, path });
  return path;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text.trim()) throw new TetoraError('TET_ERR_USAGE', 'the prompt read from stdin is empty: pipe a prompt in, or pass it as an argument.');
  return text;
}
