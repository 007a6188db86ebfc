import type { FastifyInstance } from 'fastify';
import { TetoraError } from '../../errors.js';
import type { AppDeps } from '../deps.js';
import { noQuery, parseQuery } from '../query.js';
import { taskJson } from '../serialize.js';

export function registerJobRoutes(app: FastifyInstance, deps: AppDeps): void {
  const svc = deps.schedules;
  if (!svc) return;

  /** GET /api/jobs — the jobs of the jobs file, with their next fire time and last firing. */
  app.get('/api/jobs', async (req) => {
    parseQuery(noQuery, req.query);
    return svc.listJobs();
  });

  /** Run a job now, whatever its schedule (and enabled state) says: one firing, one task. */
  app.post('/api/jobs/:id/run', async (req, reply) => {
    parseQuery(noQuery, req.query);
    if (deps.draining()) throw new TetoraError('TET_ERR_HTTP_DRAINING', 'the daemon is draining and accepts no new tasks; retry after it restarts.', { retryAfterSeconds: 30 });
    const { id } = req.params as { id: string };
    const firing = await svc.runJob(id);
    const task = firing.taskId ? deps.engine.get(firing.taskId) : undefined;
    return reply.status(202).send({ status: 'accepted', job: id, firing, task: task ? taskJson(task) : null });
  });

  for (const action of ['enable', 'disable'] as const) {
    /** Kept in the store: the jobs file is not rewritten (see README "Cron jobs"). */
    app.post(`/api/jobs/:id/${action}`, async (req) => {
      parseQuery(noQuery, req.query);
      const { id } = req.params as { id: string };
      return { job: await svc.setJobEnabled(id, action === 'enable') };
    });
  }
}
