import type { FastifyInstance } from 'fastify';
import { TetoraError } from '../../errors.js';
import type { TaskRow } from '../../store/tasks.js';
import { isTerminal } from '../../engine/states.js';
import { parseDuration } from '../../util/duration.js';
import { clampDelay } from '../../util/timers.js';
import type { AppDeps } from '../app.js';
import { taskJson } from '../serialize.js';

/** The body may be one task, an array of tasks, or `{ "tasks": [...] }`. */
export function tasksOfBody(body: unknown): unknown[] {
  if (Array.isArray(body)) return body;
  if (body && typeof body === 'object' && Array.isArray((body as { tasks?: unknown }).tasks)) return (body as { tasks: unknown[] }).tasks;
  if (body && typeof body === 'object') return [body];
  throw new TetoraError('TET_ERR_TASK_INVALID', 'the body must be a JSON task object, an array of tasks, or {"tasks": [...]}, each with at least a "prompt".', { field: '(body)' });
}

/** @default wait bound: 10 minutes; `?timeout=` changes it (at most 1 hour). */
const DEFAULT_WAIT_MS = 600_000;

export function registerDispatchRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { engine } = deps;

  app.post('/api/dispatch', async (req, reply) => {
    if (deps.draining()) throw new TetoraError('TET_ERR_HTTP_DRAINING', 'the daemon is draining and accepts no new tasks; retry after it restarts.');
    const tasks = tasksOfBody(req.body);
    if (tasks.length === 0) throw new TetoraError('TET_ERR_TASK_INVALID', 'the task list is empty; send at least one task with a "prompt".', { field: 'tasks' });
    if (tasks.length > 1000) throw new TetoraError('TET_ERR_TASK_INVALID', `${tasks.length} tasks in one request is more than the limit of 1000; split the batch.`, { field: 'tasks' });
    const header = req.headers['idempotency-key'];
    const idem = Array.isArray(header) ? header[0] : header;
    const inputs = tasks.map((t, i) => {
      if (!idem || !t || typeof t !== 'object' || 'idempotencyKey' in t) return t;
      return { ...t, idempotencyKey: tasks.length === 1 ? idem : `${idem}#${i}` };
    });
    // `tetora dispatch` says it is the CLI; anything else over HTTP is `http`.
    const source = req.headers['x-tetora-source'] === 'cli' ? 'cli' : 'http';
    const results = await engine.enqueueGrouped(inputs, { source });
    const q = req.query as Record<string, string | undefined>;
    const wait = q.wait === 'true' || q.wait === '1';
    let rows: TaskRow[] = results.map((r) => r.task);
    let complete = rows.every((t) => isTerminal(t.status));
    if (wait && !complete) {
      const bound = Math.min(parseDuration(q.timeout ?? '') ?? DEFAULT_WAIT_MS, 3_600_000);
      complete = await waitForTasks(deps, rows.map((t) => t.id), bound, reply.raw, deps.shutdown);
      rows = rows.map((t) => engine.get(t.id) ?? t);
    }
    const body = {
      tasks: rows.map((t, i) => ({ ...taskJson(t, { full: wait }), created: results[i]?.created ?? true })),
      ...(rows.length === 1 ? { id: rows[0]?.id, status: rows[0]?.status } : {}),
    };
    return reply.status(wait && complete ? 200 : 202).send(body);
  });
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
