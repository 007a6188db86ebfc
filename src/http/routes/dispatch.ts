import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { TetoraError } from '../../errors.js';
import type { TaskRow } from '../../store/tasks.js';
import { isTerminal } from '../../engine/states.js';
import { canonicalJson, type EnqueueContext } from '../../engine/request.js';
import type { Accepted } from '../../engine/engine.js';
import { handoffSources, withHandoffContext } from '../../agents/handoff.js';
import { clampDelay } from '../../util/timers.js';
import type { AppDeps } from '../deps.js';
import { dispatchQuery, parseQuery } from '../query.js';
import { taskJson } from '../serialize.js';

/** The body may be one task, an array of tasks, or `{ "tasks": [...] }`. */
export function tasksOfBody(body: unknown): unknown[] {
  if (Array.isArray(body)) return body;
  if (body && typeof body === 'object' && Array.isArray((body as { tasks?: unknown }).tasks)) return (body as { tasks: unknown[] }).tasks;
  if (body && typeof body === 'object') return [body];
  if (body === undefined) throw new TetoraError('TET_ERR_TASK_INVALID', 'the request has no body; send a JSON task object (Content-Type: application/json) with at least a "prompt", an array of tasks, or {"tasks": [...]}.', { field: '(body)' });
  throw new TetoraError('TET_ERR_TASK_INVALID', `the body is a JSON ${body === null ? 'null' : typeof body}; send a JSON task object with at least a "prompt", an array of tasks, or {"tasks": [...]}.`, { field: '(body)' });
}

/**
 * The idempotency key of each task. A key sent in the `Idempotency-Key` header names the whole request:
 * a single task takes it as is; the tasks of a batch take `<key>\u001f<index>`, a space no key sent by a
 * client can reach (keys may not hold control characters), so `h1#1` never finds task 1 of batch `h1`.
 * A key in a task's own `idempotencyKey` field wins. Pure.
 */
export function withIdempotencyKeys(tasks: unknown[], header: string | undefined): { inputs: unknown[]; digest?: string } {
  tasks.forEach((t, i) => {
    const key = (t as { idempotencyKey?: unknown } | null)?.idempotencyKey;
    if (typeof key === 'string' && CONTROL.test(key)) {
      const field = tasks.length > 1 ? `tasks[${i}].idempotencyKey` : 'idempotencyKey';
      throw new TetoraError('TET_ERR_TASK_INVALID', `${field} holds a control character: expected printable text.`, { field });
    }
  });
  if (header !== undefined && (header.length === 0 || header.length > 200 || CONTROL.test(header))) {
    throw new TetoraError('TET_ERR_HTTP_BAD_REQUEST', 'the Idempotency-Key header must be 1 to 200 printable characters.', { field: 'Idempotency-Key' });
  }
  if (!header) return { inputs: tasks };
  const batch = tasks.length > 1;
  const inputs = tasks.map((t, i) => {
    if (!t || typeof t !== 'object' || Array.isArray(t) || 'idempotencyKey' in t) return t;
    return { ...t, idempotencyKey: batch ? `${header}\u001f${i}` : header };
  });
  // A batch is one request: changing any of its tasks (or their number) changes every task's hash.
  return batch ? { inputs, digest: createHash('sha256').update(canonicalJson(tasks)).digest('hex') } : { inputs };
}

/** Keys sent by clients hold no control characters: batch keys use one as separator. */
const CONTROL = /[\u0000-\u001f\u007f]/;

/** @default wait bound: 10 minutes; `?timeout=` changes it (at most 1 hour). */
const DEFAULT_WAIT_MS = 600_000;

export function registerDispatchRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { engine } = deps;

  app.post('/api/dispatch', async (req, reply) => {
    // Everything is validated before anything is written.
    const q = parseQuery(dispatchQuery, req.query);
    if (deps.draining()) throw new TetoraError('TET_ERR_HTTP_DRAINING', 'the daemon is draining and accepts no new tasks; retry after it restarts.', { retryAfterSeconds: 30 });
    const tasks = tasksOfBody(req.body);
    if (tasks.length === 0) throw new TetoraError('TET_ERR_TASK_INVALID', 'the task list is empty; send at least one task with a "prompt".', { field: 'tasks' });
    if (tasks.length > 1000) throw new TetoraError('TET_ERR_TASK_INVALID', `${tasks.length} tasks in one request is more than the limit of 1000; split the batch.`, { field: 'tasks' });
    const raw = req.headers['idempotency-key'];
    const header = Array.isArray(raw) ? raw[0] : raw;
    const { inputs, digest } = withIdempotencyKeys(tasks, header);
    // `tetora dispatch` says it is the CLI; anything else over HTTP is `http`.
    const source = req.headers['x-tetora-source'] === 'cli' ? 'cli' : 'http';
    // The same idempotency key with a different request is refused inside the commit (422, nothing
    // written), also when the other request is racing this one.
    const ctx = { source, ...(digest ? { requestDigest: digest } : {}) };
    // A handoff (`handoffFrom`) carries its source's whole output: the new tasks and their `handoff`
    // links commit together (one transaction, not the group commit).
    const sources = handoffSources(inputs);
    const results = sources.some((s) => s !== undefined) ? acceptHandoffs(deps, inputs, sources, ctx) : await engine.enqueueGrouped(inputs, ctx);
    const wait = q.wait ?? false;
    let rows: TaskRow[] = results.map((r) => r.task);
    let complete = rows.every((t) => isTerminal(t.status));
    if (wait && !complete) {
      complete = await waitForTasks(deps, rows.map((t) => t.id), q.timeout ?? DEFAULT_WAIT_MS, reply.raw, deps.shutdown);
      rows = rows.map((t) => currentRow(deps, t));
    }
    const body = {
      tasks: rows.map((t, i) => ({ ...taskJson(t, { full: wait }), created: results[i]?.created ?? true })),
      ...(rows.length === 1 ? { id: rows[0]?.id, status: rows[0]?.status } : {}),
    };
    return reply.status(wait && complete ? 200 : 202).send(body);
  });
}

/** Record tasks of which some are handoffs: each handoff's prompt made from its source, and its link, in one commit. */
function acceptHandoffs(deps: AppDeps, inputs: unknown[], sources: Array<string | undefined>, ctx: EnqueueContext): Accepted {
  const { engine } = deps;
  const batch = inputs.length > 1;
  return engine.atomically(() => {
    const prepared = inputs.map((input, i) => {
      const from = sources[i];
      return from === undefined ? input : withHandoffContext(input, from, engine.get(from), batch ? i : undefined);
    });
    const accepted = engine.enqueueMany(prepared, ctx);
    const now = Date.now();
    accepted.forEach((r, i) => {
      const from = sources[i];
      if (from !== undefined) engine.store.addLink({ fromTask: from, toTask: r.task.id, kind: 'handoff' }, now);
    });
    return accepted;
  });
}

/** The task as the store has it now; the row known before when the store is closing. */
function currentRow(deps: AppDeps, t: TaskRow): TaskRow {
  try {
    return deps.engine.get(t.id) ?? t;
  } catch {
    return t;
  }
}

/**
 * Wait until every task is terminal or the bound passes. The tasks never depend on the connection: a
 * client that goes away only stops this wait.
 */
function waitForTasks(deps: AppDeps, ids: string[], boundMs: number, raw: NodeJS.EventEmitter, shutdown?: AbortSignal): Promise<boolean> {
  const { engine } = deps;
  const done = () => {
    try {
      return ids.every((id) => isTerminal(engine.get(id)?.status ?? 'failed'));
    } catch {
      return false; // the store is closing: answer with what is known
    }
  };
  return new Promise((resolve) => {
    if (done() || shutdown?.aborted) return resolve(done());
    const finish = (v: boolean) => {
      off();
      clearTimeout(timer);
      raw.off('close', onClose);
      shutdown?.removeEventListener('abort', onShutdown);
      resolve(v);
    };
    // The daemon is stopping: answer now (202 with the tasks' current states; they resume at the next start).
    const onShutdown = () => finish(false);
    shutdown?.addEventListener('abort', onShutdown, { once: true });
    const wanted = new Set(ids);
    const off = engine.subscribe((e) => {
      if (wanted.has(e.taskId) && isTerminal(e.type as TaskRow['status']) && done()) finish(true);
    });
    const timer = setTimeout(() => finish(done()), clampDelay(boundMs));
    const onClose = () => finish(false);
    raw.on('close', onClose);
  });
}
