import type { FastifyInstance } from 'fastify';
import { TetoraError } from '../../errors.js';
import { taskStatuses } from '../../engine/states.js';
import type { AppDeps } from '../app.js';
import { taskJson } from '../serialize.js';

export function registerTaskRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { engine } = deps;

  /** GET /api/tasks?status=a,b&agent=&source=&limit=&cursor= — newest first; `nextCursor` pages on. */
  app.get('/api/tasks', async (req) => {
    const q = req.query as Record<string, string | undefined>;
    const status = q.status ? q.status.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
    for (const s of status ?? []) {
      if (!(taskStatuses as readonly string[]).includes(s)) {
        throw new TetoraError('TET_ERR_HTTP_BAD_REQUEST', `status "${s}" is not a task status; use one of ${taskStatuses.join(', ')}.`, { field: 'status', value: s });
      }
    }
    const limit = q.limit === undefined ? 50 : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new TetoraError('TET_ERR_HTTP_BAD_REQUEST', `limit "${q.limit}" must be a whole number from 1 to 1000.`, { field: 'limit', value: q.limit });
    }
    const cursor = q.cursor === undefined ? undefined : Number(q.cursor);
    if (cursor !== undefined && !(Number.isInteger(cursor) && cursor > 0)) {
      throw new TetoraError('TET_ERR_HTTP_BAD_REQUEST', `cursor "${q.cursor}" is not valid; pass the nextCursor of the previous page.`, { field: 'cursor', value: q.cursor });
    }
    const rows = engine.list({ limit, ...(status ? { status } : {}), ...(q.agent ? { agent: q.agent } : {}), ...(q.source ? { source: q.source } : {}), ...(cursor ? { before: cursor } : {}) });
    const last = rows[rows.length - 1];
    return { tasks: rows.map((t) => taskJson(t)), nextCursor: rows.length === limit && last ? String(last.seq) : null };
  });

  app.get('/api/tasks/:id', async (req) => {
    const { id } = req.params as { id: string };
    const out = taskJson(engine.require(id), { full: true, runs: engine.runs(id) });
    // One indexed query, not the task's whole event log (which may hold a huge output's progress).
    out.worktree = engine.store.lastWorktreeSummary(id);
    return out;
  });

  app.post('/api/tasks/:id/cancel', async (req) => {
    const { id } = req.params as { id: string };
    const t = await engine.cancel(id, 'api');
    return taskJson(t, { full: true });
  });
}

/** The worktree a task ran in, as its latest run reported it (branch, commits, dirty), or null. */
