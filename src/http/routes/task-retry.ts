import type { FastifyInstance } from 'fastify';
import { TetoraError } from '../../errors.js';
import type { TaskOptions } from '../../engine/request.js';
import type { TaskRow } from '../../store/tasks.js';
import type { AppDeps } from '../deps.js';
import { noQuery, parseQuery } from '../query.js';
import { taskJson } from '../serialize.js';

/** Statuses a task can be retried from: it ended without success. */
export const RETRYABLE = ['failed', 'cancelled', 'timed_out'] as const;

/**
 * The request that runs a task again: its prompt, agent, workdir, system prompt, session key, priority,
 * attempts, permission mode, timeout, budget and options (worktree, allowedTools, name), as the ledger
 * recorded them. Provider and model come from the agent's current config when the task has an agent (a
 * fallback provider the first run ended on is not pinned); a task without agent keeps its own. The key
 * `retry:<id>` makes a second retry of the same task return the first. Pure.
 */
export function retryRequest(t: TaskRow): Record<string, unknown> {
  let opts: TaskOptions = {};
  try {
    opts = JSON.parse(t.options) as TaskOptions;
  } catch {
    opts = {};
  }
  const r: Record<string, unknown> = { prompt: t.prompt, priority: t.priority, maxAttempts: t.maxAttempts, idempotencyKey: `retry:${t.id}` };
  if (t.agent) r.agent = t.agent;
  else {
    if (t.provider) r.provider = t.provider;
    if (t.model) r.model = t.model;
  }
  if (t.workdir) r.workdir = t.workdir;
  if (t.systemPrompt !== null) r.systemPrompt = t.systemPrompt;
  if (t.sessionKey) r.sessionKey = t.sessionKey;
  if (t.permissionMode) r.permissionMode = t.permissionMode;
  if (t.timeoutMs) r.timeout = t.timeoutMs;
  if (t.budgetUsd !== null) r.budget = t.budgetUsd;
  if (opts.worktree !== undefined) r.worktree = opts.worktree;
  if (opts.allowedTools) r.allowedTools = opts.allowedTools;
  if (opts.name) r.name = opts.name;
  return r;
}

/**
 * `POST /api/tasks/:id/retry`: a task that ended failed, cancelled or timed out runs again as a new task
 * (source http, origin `{retryOf}`), linked to it (`task_links` kind `retry`, original → new), in one
 * commit. 202 with the new task; 409 TET_ERR_TASK_NOT_RETRYABLE for any other status.
 */
export function registerTaskRetryRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { engine } = deps;
  app.post('/api/tasks/:id/retry', async (req, reply) => {
    parseQuery(noQuery, req.query);
    const { id } = req.params as { id: string };
    if (deps.draining()) throw new TetoraError('TET_ERR_HTTP_DRAINING', 'the daemon is draining and accepts no new tasks; retry after it restarts.', { retryAfterSeconds: 30 });
    const original = engine.require(id);
    if (!(RETRYABLE as readonly string[]).includes(original.status)) {
      throw new TetoraError('TET_ERR_TASK_NOT_RETRYABLE', `task ${original.id} is ${original.status}; only a task that ended ${RETRYABLE.join(', ')} can be retried${original.status === 'succeeded' ? ' (dispatch its prompt anew to run it again)' : ' (wait for it to end, or cancel it first)'}.`, { id: original.id, status: original.status });
    }
    const accepted = engine.atomically(() => {
      const [a] = engine.enqueueMany([retryRequest(original)], { source: 'http', origin: { retryOf: original.id } });
      if (a?.created) engine.store.addLink({ fromTask: original.id, toTask: a.task.id, kind: 'retry' }, Date.now());
      return a as { task: TaskRow; created: boolean };
    });
    return reply.status(202).send({ id: accepted.task.id, status: accepted.task.status, created: accepted.created, retryOf: original.id, task: taskJson(accepted.task) });
  });
}
