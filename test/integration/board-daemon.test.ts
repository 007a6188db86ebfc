import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { boardConfig, promptOf, runs, script } from '../helpers/board.js';
import { DaemonHarness, daemonPool } from '../helpers/daemon.js';
import { waitUntil } from '../helpers/engine-harness.js';

/** The board in the real daemon (`tetora serve` as a child process): CLI and HTTP, and a crash while a ticket is doing. */
const pool = daemonPool();

async function daemon(taskBoard: Record<string, unknown>): Promise<DaemonHarness> {
  const d = pool.track(await DaemonHarness.create());
  const base = JSON.parse(readFileSync(d.configPath, 'utf8')) as Record<string, unknown>;
  d.writeConfig({ ...base, ...boardConfig(d.home, taskBoard) });
  await d.start();
  return d;
}

interface TicketJson {
  id: string;
  status: string;
  statusReason: string | null;
  currentTask: string | null;
  findingTask: string | null;
  finding?: string | null;
  executions: number;
  [k: string]: unknown;
}

async function ticket(d: DaemonHarness, id: string): Promise<TicketJson> {
  return (await d.json<{ ticket: TicketJson }>(`/api/board/${id}`)).body.ticket;
}

async function until(d: DaemonHarness, id: string, statuses: string[]): Promise<TicketJson> {
  let last: TicketJson | undefined;
  const end = Date.now() + 60_000;
  for (;;) {
    last = await ticket(d, id);
    if (statuses.includes(last.status)) return last;
    if (Date.now() > end) throw new Error(`ticket ${id} stayed ${last.status} (${last.statusReason})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('tetora board (CLI and HTTP, real daemon)', () => {
  it('adds, lists, comments, runs, moves and shows tickets through the CLI', async () => {
    const d = await daemon({ autoDispatch: { enabled: false } });
    const a = await d.cli(['board', 'add', 'write the parser', '-d', 'parse the v1 format', '--json']);
    expect(a.code, a.stderr).toBe(0);
    expect(JSON.parse(a.stdout).ticket).toMatchObject({ id: 'T-1', status: 'todo', priority: 'normal', assignee: null });
    const b = await d.cli(['board', 'add', 'use the parser', '--depends-on', 'T-1', '--priority', 'high', '--assignee', 'coder']);
    expect(b.stdout).toBe('T-2 added (todo): use the parser\n');

    const list = await d.cli(['board', 'list', '--json']);
    expect((JSON.parse(list.stdout).tickets as TicketJson[]).map((t) => t.id)).toEqual(['T-2', 'T-1']); // high first
    expect((await d.cli(['board', 'list'])).stdout).toMatch(/^ID\s+STATUS\s+PRIORITY\s+ASSIGNEE\s+DEPENDS ON\s+TITLE\nT-2\s+todo\s+high\s+coder\s+T-1\s+use the parser\n/);

    // Dependencies first, whoever asks.
    const early = await d.cli(['board', 'run', 'T-2']);
    expect(early.code).toBe(1);
    expect(early.stderr).toContain('T-1 is todo');
    const earlyMove = await d.cli(['board', 'move', 'T-2', 'doing']);
    expect(earlyMove.code).toBe(1);

    expect((await d.cli(['board', 'comment', 'T-1', 'use the v2 API', '--author', 'ann'])).code).toBe(0);
    const run = await d.cli(['board', 'run', 'T-1']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^T-1 is doing: task [0-9a-f-]{36} /);
    const t1 = await until(d, 'T-1', ['done', 'failed', 'review']);
    expect(t1).toMatchObject({ status: 'done', finding: 'done T-1', executions: 1 });
    expect(promptOf(d.home, t1.findingTask as string).toString('utf8')).toContain('use the v2 API');

    // doing by hand runs an agent's ticket.
    const moved = await d.cli(['board', 'move', 'T-2', 'doing', '--json']);
    expect(moved.code, moved.stderr).toBe(0);
    expect(JSON.parse(moved.stdout).task.id).toMatch(/^[0-9a-f-]{36}$/);
    const t2 = await until(d, 'T-2', ['done', 'failed', 'review']);
    expect(promptOf(d.home, t2.findingTask as string).toString('utf8')).toContain('done T-1');

    const show = await d.cli(['board', 'show', 'T-1']);
    expect(show.stdout).toContain('status:     done');
    expect(show.stdout).toMatch(/ann: use the v2 API/);
    expect(show.stdout).toMatch(/finding \(task [0-9a-f-]{36}, 8 bytes\):\ndone T-1\n$/);

    // A person's ticket: agents never run it.
    await d.cli(['board', 'add', 'call the client', '--assignee', 'alice']);
    const person = await d.cli(['board', 'run', 'T-3']);
    expect(person.code).toBe(1);
    expect(person.stderr).toContain('alice, a person');
    const done = await d.cli(['board', 'move', 'T-3', 'done', '--reason', 'called', '--json']);
    expect(JSON.parse(done.stdout).ticket).toMatchObject({ status: 'done', statusReason: 'called' });
    expect(runs(d.home).filter((r) => r.event === 'start').map((r) => r.key)).toEqual(['T-1', 'T-2']);

    // Clear errors with their exit codes.
    const missing = await d.cli(['board', 'show', 'T-99']);
    expect(missing.code).toBe(65);
    expect(missing.stderr).toContain('no board ticket has id T-99');
    const badPriority = await d.cli(['board', 'add', 'x', '--priority', 'huge']);
    expect(badPriority.code).toBe(64);
    expect(badPriority.stderr).toContain('--priority "huge" is not one of low, normal, high, urgent');
    const help = await d.cli(['board', '--help']);
    expect(help.stdout).toMatch(/list.*\n.*add/s);
  }, 120_000);

  it('serves /api/board: CRUD, move, comments, run now, with the API token and clear errors', async () => {
    const d = await daemon({ autoDispatch: { enabled: false } });
    expect((await d.json('/api/board', { method: 'POST', body: JSON.stringify({ title: 'x' }), token: null })).status).toBe(401);
    const bad = await d.json<{ error: { code: string; message: string; details: { field: string } } }>('/api/board', { method: 'POST', body: JSON.stringify({ title: 'x', priority: 'huge' }) });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'TET_ERR_BOARD_INVALID', details: { field: 'priority' } });
    expect(bad.body.error.message).toContain('priority is "huge": expected one of low, normal, high, urgent');
    const unknown = await d.json<{ error: { code: string; message: string } }>('/api/board', { method: 'POST', body: JSON.stringify({ title: 'x', owner: 'me' }) });
    expect(unknown.body.error.message).toContain('"owner" is not a ticket field');
    const noDep = await d.json<{ error: { code: string; message: string } }>('/api/board', { method: 'POST', body: JSON.stringify({ title: 'x', dependsOn: ['T-7'] }) });
    expect(noDep.body.error.message).toContain('dependsOn[0] is "T-7", which is no ticket');

    const made = await d.json<{ ticket: TicketJson }>('/api/board', { method: 'POST', body: JSON.stringify({ title: 'one', assignee: 'coder' }) });
    expect(made.status).toBe(201);
    const two = await d.json<{ ticket: TicketJson }>('/api/board', { method: 'POST', body: JSON.stringify({ title: 'two', dependsOn: ['T-1'], status: 'backlog' }) });
    expect(two.body.ticket).toMatchObject({ id: 'T-2', status: 'backlog', dependsOn: ['T-1'] });
    const cycle = await d.json<{ error: { code: string; message: string } }>('/api/board/T-1', { method: 'PATCH', body: JSON.stringify({ dependsOn: ['T-2'] }) });
    expect(cycle.status).toBe(400);
    expect(cycle.body.error.message).toContain('cycle: T-1 → T-2 → T-1');
    const edited = await d.json<{ ticket: TicketJson }>('/api/board/T-1', { method: 'PATCH', body: JSON.stringify({ title: 'one, renamed', priority: 'urgent' }) });
    expect(edited.body.ticket).toMatchObject({ title: 'one, renamed', priority: 'urgent' });

    const comment = await d.json<{ comment: { id: number; author: string } }>('/api/board/T-1/comments', { method: 'POST', body: JSON.stringify({ body: 'note' }) });
    expect(comment.status).toBe(201);
    expect(comment.body.comment.author).toBe('user');
    expect((await d.json('/api/board?status=bogus')).status).toBe(400);

    const runNow = await d.json<{ ticket: TicketJson; task: { id: string } }>('/api/board/T-1/run', { method: 'POST' });
    expect(runNow.status).toBe(202);
    expect(runNow.body.ticket).toMatchObject({ status: 'doing', currentTask: runNow.body.task.id });
    const again = await d.json<{ error: { code: string } }>('/api/board/T-1/run', { method: 'POST' });
    expect(again.status).toBe(409); // while its task runs, and once it is done
    expect(again.body.error.code).toBe('TET_ERR_BOARD_TRANSITION');
    await until(d, 'T-1', ['done']);
    const doneRun = await d.json<{ error: { code: string; message: string } }>('/api/board/T-1/run', { method: 'POST' });
    expect(doneRun.status).toBe(409);
    expect(doneRun.body.error.message).toContain('move it to todo first');
    const blocked = await d.json<{ error: { code: string; message: string } }>('/api/board/T-1', { method: 'DELETE' });
    expect(blocked.status).toBe(409);
    expect(blocked.body.error.message).toContain('T-2 depends on it');
    const moved = await d.json<{ ticket: TicketJson }>('/api/board/T-2/move', { method: 'POST', body: JSON.stringify({ status: 'todo' }) });
    expect(moved.body.ticket.status).toBe('todo');
    expect((await d.json('/api/board/T-2', { method: 'DELETE' })).body).toEqual({ deleted: 'T-2' });
    expect((await d.json<{ error: { code: string } }>('/api/board/T-2')).body.error.code).toBe('TET_ERR_BOARD_NOT_FOUND');
    const list = await d.json<{ tickets: TicketJson[] }>('/api/board?status=done');
    expect(list.body.tickets.map((t) => t.id)).toEqual(['T-1']);
    expect(list.body.tickets[0]).not.toHaveProperty('finding');
  }, 120_000);

  it('a daemon SIGKILLed while a ticket is doing: after the restart the ticket follows its task', async () => {
    const d = await daemon({});
    script(d.home, 'T-1.sleep', '3000');
    script(d.home, 'T-1.out', 'finished after the crash');
    await d.json('/api/board', { method: 'POST', body: JSON.stringify({ title: 'long' }) });
    await waitUntil(() => runs(d.home).some((r) => r.key === 'T-1' && r.event === 'start'), 30_000);
    const doing = await ticket(d, 'T-1');
    expect(doing.status).toBe('doing');
    d.kill('SIGKILL');
    await d.exited();
    await d.start();
    const t = await until(d, 'T-1', ['done', 'failed', 'review', 'todo']);
    expect(t).toMatchObject({ status: 'done', finding: 'finished after the crash', currentTask: null, findingTask: doing.currentTask, executions: 1 });
    const task = await d.task(doing.currentTask as string);
    expect(task.status).toBe('succeeded');
    expect(runs(d.home).filter((r) => r.key === 'T-1' && r.event === 'start')).toHaveLength(1);
  }, 120_000);

  it('a daemon SIGKILLed with its agent: the interrupted task is queued again, runs, and the ticket follows it', async () => {
    const d = await daemon({});
    script(d.home, 'T-1.1.sleep', '60000');
    script(d.home, 'T-1.out', 'second run');
    await d.json('/api/board', { method: 'POST', body: JSON.stringify({ title: 'long' }) });
    await waitUntil(() => runs(d.home).some((r) => r.key === 'T-1' && r.event === 'start'), 30_000);
    const doing = await ticket(d, 'T-1');
    d.kill('SIGKILL');
    await d.exited();
    d.killMarked(); // the agent dies too: its run ended without an exit
    await waitUntil(() => d.markedPids().length === 0, 30_000);
    await d.start();
    const t = await until(d, 'T-1', ['done', 'failed', 'review', 'todo']);
    expect(t).toMatchObject({ status: 'done', finding: 'second run', findingTask: doing.currentTask, executions: 1 });
    const task = await d.task(doing.currentTask as string);
    expect(task).toMatchObject({ status: 'succeeded', runs: 2, interruptions: 1 });
    expect(runs(d.home).filter((r) => r.key === 'T-1' && r.event === 'start')).toHaveLength(2);
  }, 120_000);
});
