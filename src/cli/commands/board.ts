import type { Command } from 'commander';
import { TetoraError } from '../../errors.js';
import { ticketPriorities, ticketStatuses } from '../../store/board.js';
import { DaemonClient } from '../client.js';
import { loadForCommand, printJson } from '../context.js';
import { ExitWith } from '../exit.js';
import { table } from './job.js';
import { workdirFromHere } from './dispatch.js';

/** `tetora board list|add|show|move|comment|run`: the task board, through the daemon (it holds the store). */

interface TicketView {
  id: string;
  project: string;
  title: string;
  description: string;
  status: string;
  statusReason: string | null;
  assignee: string | null;
  priority: string;
  dependsOn: string[];
  workdir: string | null;
  currentTask: string | null;
  currentKind: string | null;
  executions: number;
  retries: number;
  findingTask: string | null;
  findingBytes: number;
  finding?: string | null;
  createdAt: string;
  updatedAt: string;
}
interface CommentView {
  id: number;
  author: string;
  kind: string;
  body: string;
  taskId: string | null;
  createdAt: string;
}

/** `tetora board list` as text. Pure. */
export function ticketsText(tickets: TicketView[]): string {
  if (tickets.length === 0) return 'no tickets (add one with `tetora board add TITLE`)';
  return table(
    ['ID', 'STATUS', 'PRIORITY', 'ASSIGNEE', 'DEPENDS ON', 'TITLE'],
    tickets.map((t) => [t.id, t.status, t.priority, t.assignee ?? '(default agent)', t.dependsOn.join(',') || '-', t.title]),
  );
}

/** `tetora board show` as text: the ticket, its comments and its whole finding. Pure. */
export function ticketText(t: TicketView, comments: CommentView[]): string {
  const lines = [
    `${t.id}  ${t.title}`,
    `status:     ${t.status}${t.statusReason ? ` (${t.statusReason})` : ''}`,
    `project:    ${t.project}`,
    `priority:   ${t.priority}`,
    `assignee:   ${t.assignee ?? '(default agent)'}`,
    `depends on: ${t.dependsOn.join(', ') || '-'}`,
    `runs:       ${t.executions} (automatic retries ${t.retries})${t.currentTask ? `, now task ${t.currentTask} (${t.currentKind})` : ''}`,
  ];
  if (t.workdir) lines.push(`workdir:    ${t.workdir}`);
  if (t.description) lines.push('', t.description);
  if (comments.length) {
    lines.push('', 'comments:');
    for (const c of comments) lines.push(`- ${c.createdAt} ${c.author}${c.kind === 'comment' ? '' : ` [${c.kind}]`}: ${c.body}`);
  }
  if (t.finding) lines.push('', `finding (task ${t.findingTask}, ${t.findingBytes} bytes):`, t.finding);
  return lines.join('\n');
}

const csv = (v: string, acc: string[]) => [...acc, ...v.split(',').map((s) => s.trim()).filter(Boolean)];

function oneOf(flag: string, value: string | undefined, allowed: readonly string[]): void {
  if (value !== undefined && !allowed.includes(value)) {
    throw new TetoraError('TET_ERR_USAGE', `${flag} "${value}" is not one of ${allowed.join(', ')}.`, { flag, value });
  }
}

export function registerBoard(program: Command): void {
  const board = program.command('board').description('the task board: tickets with dependencies, run by agents (auto-dispatch) or people');
  const client = async (cmd: Command) => new DaemonClient((await loadForCommand(cmd)).config);
  const path = (id: string, rest = '') => `/api/board/${encodeURIComponent(id)}${rest}`;

  board
    .command('list')
    .description('tickets in dispatch order (priority, then age)')
    .option('--status <status>', `only these statuses (${ticketStatuses.join(', ')}; repeatable or comma-separated)`, csv, [] as string[])
    .option('--project <name>', 'only this project')
    .option('--assignee <name>', 'only this assignee')
    .option('--json', 'print JSON')
    .action(async (opts: { status: string[]; project?: string; assignee?: string; json?: boolean }, cmd: Command) => {
      for (const s of opts.status) oneOf('--status', s, ticketStatuses);
      const q = new URLSearchParams();
      if (opts.status.length) q.set('status', opts.status.join(','));
      if (opts.project) q.set('project', opts.project);
      if (opts.assignee) q.set('assignee', opts.assignee);
      const { body } = await (await client(cmd)).json<{ tickets: TicketView[] }>('GET', `/api/board${q.size ? `?${q}` : ''}`);
      if (opts.json) printJson(body);
      else process.stdout.write(`${ticketsText(body.tickets)}\n`);
    });

  board
    .command('add')
    .description('add a ticket (todo by default: with autoDispatch on, an agent takes it once its dependencies are done)')
    .argument('<title>', 'what to do, in one line')
    .option('-d, --description <text>', 'the details the agent gets')
    .option('-a, --assignee <name>', 'an agent of the config, or a person (never dispatched); default: taskBoard.autoDispatch.defaultAgent')
    .option('-p, --priority <priority>', `${ticketPriorities.join(', ')} (default normal)`)
    .option('--depends-on <ids>', 'tickets that must be done first, e.g. T-1,T-2 (repeatable)', csv, [] as string[])
    .option('--project <name>', 'project (default "default")')
    .option('-w, --workdir <dir>', 'folder the agent works in (sent as an absolute path)')
    .option('--worktree', 'run in a git worktree of the workdir')
    .option('--backlog', 'add it to the backlog instead of todo')
    .option('--json', 'print JSON')
    .action(async (title: string, opts: { description?: string; assignee?: string; priority?: string; dependsOn: string[]; project?: string; workdir?: string; worktree?: boolean; backlog?: boolean; json?: boolean }, cmd: Command) => {
      oneOf('--priority', opts.priority, ticketPriorities);
      const body: Record<string, unknown> = { title };
      if (opts.description !== undefined) body.description = opts.description;
      if (opts.assignee !== undefined) body.assignee = opts.assignee;
      if (opts.priority !== undefined) body.priority = opts.priority;
      if (opts.dependsOn.length) body.dependsOn = opts.dependsOn;
      if (opts.project !== undefined) body.project = opts.project;
      if (opts.workdir !== undefined) body.workdir = workdirFromHere(opts.workdir);
      if (opts.worktree) body.worktree = true;
      if (opts.backlog) body.status = 'backlog';
      const { body: out } = await (await client(cmd)).json<{ ticket: TicketView }>('POST', '/api/board', body);
      if (opts.json) printJson(out);
      else process.stdout.write(`${out.ticket.id} added (${out.ticket.status}): ${out.ticket.title}\n`);
    });

  board
    .command('show')
    .description('one ticket: its fields, comments and whole finding')
    .argument('<id>', 'ticket id, e.g. T-1')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const { body } = await (await client(cmd)).json<{ ticket: TicketView; comments: CommentView[] }>('GET', path(id));
      if (opts.json) printJson(body);
      else process.stdout.write(`${ticketText(body.ticket, body.comments)}\n`);
    });

  board
    .command('move')
    .description(`move a ticket (${ticketStatuses.join(', ')}); doing needs its dependencies done, and runs an agent's ticket`)
    .argument('<id>', 'ticket id')
    .argument('<status>', 'the new status')
    .option('--reason <text>', 'why (kept as the ticket\'s status reason)')
    .option('--json', 'print JSON')
    .action(async (id: string, status: string, opts: { reason?: string; json?: boolean }, cmd: Command) => {
      oneOf('status', status, ticketStatuses);
      const { body } = await (await client(cmd)).json<{ ticket: TicketView; task: { id: string } | null }>('POST', path(id, '/move'), { status, ...(opts.reason !== undefined ? { reason: opts.reason } : {}) });
      if (opts.json) printJson(body);
      else process.stdout.write(`${id} is ${body.ticket.status}${body.task ? ` (task ${body.task.id})` : ''}\n`);
    });

  board
    .command('comment')
    .description('add a comment (the agent gets every comment in its prompt)')
    .argument('<id>', 'ticket id')
    .argument('<text>', 'the comment')
    .option('--author <name>', 'who says it (default "user")')
    .option('--json', 'print JSON')
    .action(async (id: string, text: string, opts: { author?: string; json?: boolean }, cmd: Command) => {
      const { body } = await (await client(cmd)).json<{ comment: CommentView }>('POST', path(id, '/comments'), { body: text, ...(opts.author !== undefined ? { author: opts.author } : {}) });
      if (opts.json) printJson(body);
      else process.stdout.write(`comment ${body.comment.id} added to ${id}\n`);
    });

  board
    .command('run')
    .description("run a ticket now, whatever autoDispatch says (refused: dependencies not done, a person's ticket)")
    .argument('<id>', 'ticket id')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const { body } = await (await client(cmd)).json<{ ticket: TicketView; task: { id: string; status: string } | null }>('POST', path(id, '/run'));
      if (opts.json) printJson(body);
      else if (body.task) process.stdout.write(`${id} is doing: task ${body.task.id} (${body.task.status})\n`);
      else process.stderr.write(`tetora: ${id} did not run: ${body.ticket.statusReason ?? body.ticket.status}\n`);
      if (!body.task) throw new ExitWith(1);
    });
}
