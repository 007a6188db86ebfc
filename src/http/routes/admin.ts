import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.js';
import { noQuery, parseQuery } from '../query.js';

export function registerAdminRoutes(app: FastifyInstance, deps: AppDeps): void {
  /** Same as SIGTERM: stop taking work, let running tasks finish up to drainTimeout, then exit. */
  app.post('/api/admin/drain', async (req, reply) => {
    parseQuery(noQuery, req.query);
    const already = deps.draining();
    const stats = deps.engine.stats();
    deps.requestDrain();
    return reply.status(202).send({ status: 'draining', alreadyDraining: already, running: stats.running, queued: stats.queued });
  });
}
