import type { Command } from 'commander';
import { createReadStream } from 'node:fs';
import { DaemonClient, followEvents } from '../client.js';
import { loadForCommand, printJson } from '../context.js';
import { isTerminalType, progressLine, taskDetail, taskLine, type EventView, type TaskView } from '../format.js';
import { pipeOut, writeOut } from '../output.js';

// The flag checks (zod, via http/query.js) and the offline store reader (better-sqlite3) are imported
// inside the actions that use them (task-query.ts, ../offline.js), so building the tree stays light.

export function registerTask(program: Command): void {
  const task = program
    .command('task')
    .description('list, inspect, cancel and follow tasks (list, show and logs read the store when no daemon runs)');

  task
    .command('list')
    .description('recent tasks, newest first')
    .option('--status <list>', 'comma-separated statuses (queued,running,retry_wait,rate_limited,interrupted,succeeded,failed,cancelled,timed_out)')
    .option('--agent <names>', 'only these agents (comma-separated)')
    .option('--source <source>', 'only this source (http, cli, …)')
    .option('-n, --limit <n>', 'how many (1-1000)', '20')
    .option('--cursor <cursor>', 'page on from a previous nextCursor')
    .option('--json', 'print JSON')
    .action(async (opts: { status?: string; agent?: string; source?: string; limit: string; cursor?: string; json?: boolean }, cmd: Command) => {
      const { taskListFlags, taskListSearch } = await import('./task-query.js');
      const { daemonOrStore, listFromStore } = await import('../offline.js');
      const { config } = await loadForCommand(cmd);
      const q = taskListFlags(opts);
      const client = new DaemonClient(config);
      const body = await daemonOrStore(
        client,
        config,
        async () => (await client.json<{ tasks: TaskView[]; nextCursor: string | null }>('GET', `/api/tasks?${taskListSearch(q)}`)).body,
        (store) => listFromStore(store, q) as unknown as { tasks: TaskView[]; nextCursor: string | null },
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
      const { daemonOrStore, showFromStore } = await import('../offline.js');
      const { config } = await loadForCommand(cmd);
      const client = new DaemonClient(config);
      const body = await daemonOrStore(
        client,
        config,
        async () => (await client.json<TaskView & Record<string, unknown>>('GET', `/api/tasks/${encodeURIComponent(id)}`)).body,
        (store) => showFromStore(store, config, id) as unknown as TaskView & Record<string, unknown>,
      );
      if (opts.json) printJson(body);
      else process.stdout.write(`${taskDetail(body)}\n`);
    });

  task
    .command('output')
    .description("a task's whole output on stdout, as the agent wrote it (also when it is too large for the task row and kept in its spool file)")
    .argument('<id>', 'task id')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const { daemonOrStore, taskFromStore } = await import('../offline.js');
      const { config } = await loadForCommand(cmd);
      const client = new DaemonClient(config);
      const source = await daemonOrStore<AsyncIterable<string | Buffer> | Iterable<string>>(
        client,
        config,
        () => client.output(id),
        (store) => {
          const t = taskFromStore(store, id);
          if (t.outputFile) return createReadStream(t.outputFile);
          return [t.output ?? ''];
        },
      );
      await pipeOut(source);
    });

  task
    .command('cancel')
    .description('cancel a task: a waiting one at once, a running one by killing its process group')
    .argument('<id>', 'task id')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const client = new DaemonClient((await loadForCommand(cmd)).config);
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
      const { daemonOrStore, storedEvents, taskFromStore } = await import('../offline.js');
      const { config } = await loadForCommand(cmd);
      const client = new DaemonClient(config);
      // Printed with backpressure: a slow reader (`| less`) slows the reading of the events, never
      // fills the CLI's memory (online: the daemon's stream waits; offline: the store's next page does).
      const print = (e: EventView, t0: number) =>
        writeOut(opts.json ? `${JSON.stringify(e)}\n` : `${progressLine(e, t0) ?? `[event] ${e.type} ${JSON.stringify(e.data)}`}\n`);
      // Without a daemon: the recorded events, then the end (nothing can change while none runs).
      const t = await daemonOrStore(
        client,
        config,
        async () => (await client.json<TaskView>('GET', `/api/tasks/${encodeURIComponent(id)}`)).body,
        async (store) => {
          const row = taskFromStore(store, id);
          for (const e of storedEvents(store!, id)) await print(e, row.createdAt);
          return undefined;
        },
        opts.follow ? ' (not following: nothing runs without a daemon)' : '',
      );
      if (!t) return;
      const t0 = Date.parse(t.createdAt);
      const path = `/api/tasks/${encodeURIComponent(id)}/events`;
      if (!opts.follow && !isTerminalType(t.status)) {
        // Snapshot: replay what is recorded so far, then stop once no event came for a while (time spent
        // waiting for a slow reader of stdout does not count).
        const ac = new AbortController();
        let timer = setTimeout(() => ac.abort(), SNAPSHOT_IDLE_MS);
        await followEvents(
          client,
          path,
          async (e) => {
            clearTimeout(timer);
            await print(e, t0);
            timer = setTimeout(() => ac.abort(), SNAPSHOT_IDLE_MS);
          },
          { signal: ac.signal },
        );
        clearTimeout(timer);
        return;
      }
      await followEvents(client, path, async (e) => {
        await print(e, t0);
        return isTerminalType(e.type);
      });
    });
}

/** `task logs` of a running task without --follow stops after this long without a new event. */
const SNAPSHOT_IDLE_MS = 1500;
