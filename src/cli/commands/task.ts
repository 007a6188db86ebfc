import type { Command } from 'commander';
import { createReadStream } from 'node:fs';
import { once } from 'node:events';
import { DaemonClient, followEvents } from '../client.js';
import { loadForCommand, printJson } from '../context.js';
import { isTerminalType, progressLine, taskDetail, taskLine, type EventView, type TaskView } from '../format.js';
import { daemonOrStore, listFromStore, showFromStore, storedEvents, taskFromStore } from '../offline.js';

export function registerTask(program: Command): void {
  const task = program
    .command('task')
    .description('list, inspect, cancel and follow tasks (list, show and logs read the store when no daemon runs)');

  task
    .command('list')
    .description('recent tasks, newest first')
    .option('--status <list>', 'comma-separated statuses (queued,running,retry_wait,rate_limited,interrupted,succeeded,failed,cancelled,timed_out)')
    .option('--agent <name>', 'only this agent')
    .option('--source <source>', 'only this source (http, cli, …)')
    .option('-n, --limit <n>', 'how many (1-1000)', '20')
    .option('--cursor <cursor>', 'page on from a previous nextCursor')
    .option('--json', 'print JSON')
    .action(async (opts: { status?: string; agent?: string; source?: string; limit: string; cursor?: string; json?: boolean }, cmd: Command) => {
      const { config } = loadForCommand(cmd);
      const client = new DaemonClient(config);
      const q = new URLSearchParams({ limit: opts.limit });
      if (opts.status) q.set('status', opts.status);
      if (opts.agent) q.set('agent', opts.agent);
      if (opts.source) q.set('source', opts.source);
      if (opts.cursor) q.set('cursor', opts.cursor);
      const body = await daemonOrStore(
        client,
        config,
        async () => (await client.json<{ tasks: TaskView[]; nextCursor: string | null }>('GET', `/api/tasks?${q}`)).body,
        (store) => listFromStore(store, opts) as unknown as { tasks: TaskView[]; nextCursor: string | null },
      );
      if (opts.json) return printJson(body);
      if (body.tasks.length === 0) process.stdout.write('no tasks\n');
      for (const t of body.tasks) process.stdout.write(`${taskLine(t)}\n`);
      if (body.nextCursor) process.stdout.write(`more: tetora task list --cursor ${body.nextCursor}\n`);
    });

  task
    .command('show')
    .description('one task in full: status, runs, cost, prompt and the whole output')
    .argument('<id>', 'task id')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const { config } = loadForCommand(cmd);
      const client = new DaemonClient(config);
      const body = await daemonOrStore(
        client,
        config,
        async () => (await client.json<TaskView & Record<string, unknown>>('GET', `/api/tasks/${encodeURIComponent(id)}`)).body,
        (store) => showFromStore(store, id) as unknown as TaskView & Record<string, unknown>,
      );
      if (opts.json) printJson(body);
      else process.stdout.write(`${taskDetail(body)}\n`);
    });

  task
    .command('output')
    .description("a task's whole output on stdout, as the agent wrote it (also when it is too large for the task row and kept in its spool file)")
    .argument('<id>', 'task id')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const { config } = loadForCommand(cmd);
      const client = new DaemonClient(config);
      const path = `/api/tasks/${encodeURIComponent(id)}/output`;
      const source = await daemonOrStore<AsyncIterable<string | Buffer> | Iterable<string>>(
        client,
        config,
        async () => {
          const res = await client.raw('GET', path);
          if (res.status >= 400) {
            res.close();
            await client.json('GET', path); // throws the daemon's error
          }
          return res.body;
        },
        (store) => {
          const t = taskFromStore(store, id);
          if (t.outputFile) return createReadStream(t.outputFile);
          return [t.output ?? ''];
        },
      );
      for await (const chunk of source) {
        if (!process.stdout.write(chunk)) await once(process.stdout, 'drain');
      }
    });

  task
    .command('cancel')
    .description('cancel a task: a waiting one at once, a running one by killing its process group')
    .argument('<id>', 'task id')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const client = new DaemonClient(loadForCommand(cmd).config);
      const { body } = await client.json<TaskView>('POST', `/api/tasks/${encodeURIComponent(id)}/cancel`);
      if (opts.json) printJson(body);
      else process.stdout.write(`${body.id} ${body.status}${body.error ? ` — ${body.error.message}` : ''}\n`);
    });

  task
    .command('logs')
    .description("a task's event history (every transition and provider event); --follow streams until it ends")
    .argument('<id>', 'task id')
    .option('-f, --follow', 'keep streaming until the task ends')
    .option('--json', 'one JSON event per line')
    .action(async (id: string, opts: { follow?: boolean; json?: boolean }, cmd: Command) => {
      const { config } = loadForCommand(cmd);
      const client = new DaemonClient(config);
      const print = (e: EventView, t0: number) => {
        if (opts.json) process.stdout.write(`${JSON.stringify(e)}\n`);
        else process.stdout.write(`${progressLine(e, t0) ?? `[event] ${e.type} ${JSON.stringify(e.data)}`}\n`);
      };
      // Without a daemon: the recorded events, then the end (nothing can change while none runs).
      const t = await daemonOrStore(
        client,
        config,
        async () => (await client.json<TaskView>('GET', `/api/tasks/${encodeURIComponent(id)}`)).body,
        (store) => {
          const row = taskFromStore(store, id);
          for (const e of storedEvents(store!, id)) print(e, row.createdAt);
          return undefined;
        },
        opts.follow ? ' (not following: nothing runs without a daemon)' : '',
      );
      if (!t) return;
      const t0 = Date.parse(t.createdAt);
      const path = `/api/tasks/${encodeURIComponent(id)}/events`;
      if (!opts.follow && !isTerminalType(t.status)) {
        // Snapshot: replay what is recorded so far, then stop.
        const ac = new AbortController();
        const timer = setTimeout(() => ac.abort(), 1500);
        await followEvents(client, path, (e) => void print(e, t0), { signal: ac.signal });
        clearTimeout(timer);
        return;
      }
      await followEvents(client, path, (e) => {
        print(e, t0);
        return isTerminalType(e.type);
      });
    });
}
