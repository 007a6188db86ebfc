import { existsSync } from 'node:fs';
import type { ResolvedConfig } from '../config/types.js';
import { taskStatuses } from '../engine/states.js';
import { TetoraError, isTetoraError, messageOf } from '../errors.js';
import { eventJson, taskJson } from '../http/serialize.js';
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
  offline: (store: TaskStore | undefined) => T,
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

/** Run `fn` on a read-only TaskStore of `dbPath` (undefined when the file does not exist). */
export function withStore<T>(dbPath: string, fn: (store: TaskStore | undefined) => T): T {
  if (!existsSync(dbPath)) return fn(undefined);
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
    return fn(store);
  } finally {
    db.close();
  }
}

export interface ListQuery {
  status?: string;
  agent?: string;
  source?: string;
  limit: string;
  cursor?: string;
}

/** GET /api/tasks, from the store: the same checks (named by their flag) and the same page. */
export function listFromStore(store: TaskStore | undefined, q: ListQuery): { tasks: Array<Record<string, unknown>>; nextCursor: string | null } {
  const status = q.status ? q.status.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
  for (const s of status ?? []) {
    if (!(taskStatuses as readonly string[]).includes(s)) {
      throw new TetoraError('TET_ERR_USAGE', `--status "${s}" is not a task status; use one of ${taskStatuses.join(', ')}.`, { field: 'status', value: s });
    }
  }
  const limit = Number(q.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new TetoraError('TET_ERR_USAGE', `--limit "${q.limit}" must be a whole number from 1 to 1000.`, { field: 'limit', value: q.limit });
  }
  const cursor = q.cursor === undefined ? undefined : Number(q.cursor);
  if (cursor !== undefined && !(Number.isInteger(cursor) && cursor > 0)) {
    throw new TetoraError('TET_ERR_USAGE', `--cursor "${q.cursor}" is not valid; pass the nextCursor of the previous page.`, { field: 'cursor', value: q.cursor });
  }
  if (!store) return { tasks: [], nextCursor: null };
  const rows = store.list({ limit, ...(status ? { status } : {}), ...(q.agent ? { agent: q.agent } : {}), ...(q.source ? { source: q.source } : {}), ...(cursor ? { before: cursor } : {}) });
  const last = rows[rows.length - 1];
  return { tasks: rows.map((t) => taskJson(t)), nextCursor: rows.length === limit && last ? String(last.seq) : null };
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

/** Every stored event of a task, oldest first (read in pages), as the event stream carries them. */
export function* storedEvents(store: TaskStore, id: string): Generator<EventView> {
  for (let after = 0; ; ) {
    const page = store.events(id, after, 1000);
    if (page.length === 0) return;
    for (const e of page) yield eventJson(e) as unknown as EventView;
    after = (page[page.length - 1] as { seq: number }).seq;
  }
}

/** GET /api/tasks/:id, from the store: the whole task, its attempts and the worktree it last ran in. */
export function showFromStore(store: TaskStore | undefined, id: string): Record<string, unknown> {
  const t = taskFromStore(store, id);
  const s = store as TaskStore;
  const out = taskJson(t, { full: true, runs: s.runs(id) });
  let worktree: unknown = null;
  for (const e of storedEvents(s, id)) {
    const w = e.data.worktree;
    if (w && typeof w === 'object') worktree = w;
  }
  out.worktree = worktree;
  return out;
}
