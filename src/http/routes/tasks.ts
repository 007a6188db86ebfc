import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.js';
import { noQuery, parseQuery, taskListQuery } from '../query.js';
import { taskJson } from '../serialize.js';

export function registerTaskRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { engine } = deps;

  /**
   * GET /api/tasks?status=a,b&status=c&agent=x&agent=y&source=&limit=&cursor= — newest first; `nextCursor`
   * pages on. status and agent take several values (repeated or comma-separated).
   */
  app.get('/api/tasks', async (req) => {
    const q = parseQuery(taskListQuery, req.query);
    const limit = q.limit ?? 50;
    const rows = engine.list({
      limit,
      ...(q.status?.length ? { status: q.status } : {}),
      ...(q.agent?.length ? { agent: q.agent.length === 1 ? q.agent[0] : q.agent } : {}),
      ...(q.source ? { source: q.source } : {}),
      ...(q.cursor ? { before: q.cursor } : {}),
    });
    const last = rows[rows.length - 1];
    return { tasks: rows.map((t) => taskJson(t)), nextCursor: rows.length === limit && last ? String(last.seq) : null };
  });

  app.get('/api/tasks/:id', async (req) => {
    const { id } = req.params as { id: string };
    parseQuery(noQuery, req.query);
    const t = engine.require(id);
    const out = taskJson(t, { full: true, runs: engine.runs(id) });
    // One indexed query, not the task's whole event log (which may hold a huge output's progress).
    out.worktree = engine.store.lastWorktreeSummary(id);
    const waiting = engine.waitingReason(t);
    if (waiting) out.waiting = waiting;
    return out;
  });

  app.post('/api/tasks/:id/cancel', async (req) => {
    const { id } = req.params as { id: string };
    parseQuery(noQuery, req.query);
    const t = await engine.cancel(id, 'api');
    return taskJson(t, { full: true });
  });
}

/** The worktree a task ran in, as its latest run reported it (branch, commits, dirty), or null. */
