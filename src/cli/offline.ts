import { existsSync } from 'node:fs';
import type { ResolvedConfig } from '../config/types.js';
import { TetoraError, isTetoraError, messageOf } from '../errors.js';
import type { TaskListQuery } from '../http/query.js';
import { eventJson, taskPage, taskView } from '../http/serialize.js';
import { migrationStatus, openDb } from '../store/db.js';
import { TaskStore, type TaskRow } from '../store/tasks.js';
import type { DaemonClient } from './client.js';
import type { EventView } from './format.js';

/**
 * `tetora task list|show|logs` without a daemon: the same answers, read straight from the store
 * (read-only; nothing is written, not even a migration). The JSON is the API's (src/http/serialize.ts).
 */

/** True when `err` says nothing answered at the daemon's address (not: something answered badly). */
export function isNoDaemon(err: unknown): boolean {
  return isTetoraError(err) && err.code === 'TET_ERR_DAEMON_UNREACHABLE' && err.details?.status === undefined;
}

/**
 * Ask the daemon; when none answers, say so on stderr (one line) and read the store with `offline`
 * (undefined: this home has no database yet).
 */
export async function daemonOrStore<T>(
  client: DaemonClient,
  config: Pick<ResolvedConfig, 'dbPath'>,
  online: () => Promise<T>,
  offline: (store: TaskStore | undefined) => T | Promise<T>,
  note = '',
): Promise<T> {
  try {
    return await online();
  } catch (err) {
    if (!isNoDaemon(err)) throw err;
    process.stderr.write(`tetora: no daemon answers at ${client.base}; reading the store ${config.dbPath} directly${note}\n`);
    return withStore(config.dbPath, offline);
  }
}

/**
 * Run `fn` on a read-only TaskStore of `dbPath` (undefined when the file does not exist); the database
 * stays open until the promise `fn` may return settles (e.g. events printed as stdout drains).
 */
export async function withStore<T>(dbPath: string, fn: (store: TaskStore | undefined) => T | Promise<T>): Promise<T> {
  if (!existsSync(dbPath)) return await fn(undefined);
  const db = openDb(dbPath, { readonly: true });
  try {
    const { current, latest } = migrationStatus(db);
    if (current < latest) {
      throw new TetoraError(
        'TET_ERR_STORE_MIGRATION',
        `the database ${dbPath} is at schema version ${current} and this Tetora reads version ${latest}; start the daemon once (\`tetora serve\`) to migrate it, then run this again.`,
        { path: dbPath, current, latest },
      );
    }
    let store: TaskStore;
    try {
      store = new TaskStore(db);
    } catch (err) {
      throw new TetoraError('TET_ERR_STORE_OPEN', `cannot read the database ${dbPath}: ${messageOf(err)}. Start the daemon (\`tetora serve\`) and ask it instead.`, { path: dbPath }, { cause: err });
    }
    return await fn(store);
  } finally {
    db.close();
  }
}

/** GET /api/tasks, from the store: the same page (`q` is checked by taskListQuery, as the daemon checks it). */
export function listFromStore(store: TaskStore | undefined, q: TaskListQuery): { tasks: Array<Record<string, unknown>>; nextCursor: string | null } {
  if (!store) return { tasks: [], nextCursor: null };
  return taskPage((f) => store.list(f), q);
}

function notFound(id: string, store: TaskStore | undefined): TetoraError {
  return new TetoraError(
    'TET_ERR_TASK_NOT_FOUND',
    store ? `no task has id ${id}; list tasks with \`tetora task list\`.` : `no task has id ${id}: this Tetora home has no database yet, so no task was recorded.`,
    { id },
  );
}

/** The stored task `id`, or TET_ERR_TASK_NOT_FOUND. */
export function taskFromStore(store: TaskStore | undefined, id: string): TaskRow {
  const t = store?.get(id);
  if (!store || !t) throw notFound(id, store);
  return t;
}

/** The most a page of stored events holds (as the event stream's replay: about 256 KiB of event data). */
const PAGE_EVENTS = 1000;
const PAGE_BYTES = 256 * 1024;

/**
 * Every stored event of a task, oldest first, as the event stream carries them: read a page at a time
 * (at most about 256 KiB of event data), so a task with a huge event log never sits in memory whole.
 */
export function* storedEvents(store: Pick<TaskStore, 'eventsPage'>, id: string): Generator<EventView> {
  for (let after = 0; ; ) {
    const page = store.eventsPage(id, after, PAGE_EVENTS, PAGE_BYTES);
    if (page.length === 0) return;
    for (const e of page) yield eventJson(e) as unknown as EventView;
    after = (page[page.length - 1] as { seq: number }).seq;
  }
}

/** GET /api/tasks/:id, from the store and the CLI's config (which says whether a queued task waits). */
export function showFromStore(store: TaskStore | undefined, config: Pick<ResolvedConfig, 'agents' | 'providers' | 'configPath'>, id: string): Record<string, unknown> {
  return taskView(taskFromStore(store, id), store as TaskStore, config);
}
