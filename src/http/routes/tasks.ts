import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.js';
import { noQuery, parseQuery, taskListQuery } from '../query.js';
import { taskJson, taskPage, taskView } from '../serialize.js';

export function registerTaskRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { engine } = deps;

  /**
   * GET /api/tasks?status=a,b&status=c&agent=x&agent=y&source=&limit=&cursor= — newest first; `nextCursor`
   * pages on. status and agent take several values (repeated or comma-separated).
   */
  app.get('/api/tasks', async (req) => taskPage((f) => engine.list(f), parseQuery(taskListQuery, req.query)));

  app.get('/api/tasks/:id', async (req) => {
    const { id } = req.params as { id: string };
    parseQuery(noQuery, req.query);
    return taskView(engine.require(id), engine.store, engine.config);
  });

  app.post('/api/tasks/:id/cancel', async (req) => {
    const { id } = req.params as { id: string };
    parseQuery(noQuery, req.query);
    const t = await engine.cancel(id, 'api');
    return taskJson(t, { full: true });
  });
}
