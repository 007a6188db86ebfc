import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.js';
import { noQuery, parseQuery } from '../query.js';
import { TetoraError } from '../../errors.js';

export function registerAdminRoutes(app: FastifyInstance, deps: AppDeps): void {
  /** Same as SIGTERM: stop taking work, let running tasks finish up to drainTimeout, then exit. */
  app.post('/api/admin/drain', async (req, reply) => {
    parseQuery(noQuery, req.query);
    const already = deps.draining();
    const stats = deps.engine.stats();
    deps.requestDrain();
    return reply.status(202).send({ status: 'draining', alreadyDraining: already, running: stats.running, queued: stats.queued });
  });

  /**
   * `tetora upgrade`: restart on the installed version. `{"mode": "handover"}` (default) leaves running
   * agents to the next daemon, which adopts them; `{"mode": "drain"}` lets them finish first. 503
   * (TET_ERR_HTTP_DRAINING) while a drain or restart is already under way.
   */
  app.post('/api/admin/restart', async (req, reply) => {
    parseQuery(noQuery, req.query);
    if (!deps.requestRestart) throw new TetoraError('TET_ERR_HTTP_NOT_FOUND', 'this daemon cannot restart itself.');
    const body = (req.body ?? {}) as { mode?: unknown };
    const mode = body.mode ?? 'handover';
    if (mode !== 'handover' && mode !== 'drain') throw new TetoraError('TET_ERR_HTTP_BAD_REQUEST', `mode must be "handover" or "drain", not ${JSON.stringify(mode)}.`, { field: 'mode' });
    if (deps.draining()) throw new TetoraError('TET_ERR_HTTP_DRAINING', 'the daemon is already draining or restarting; wait for it to come back.');
    const stats = deps.engine.stats();
    const { restart } = deps.requestRestart(mode);
    return reply.status(202).send({ status: 'restarting', mode, restart, running: stats.running, queued: stats.queued, pid: process.pid, instance: deps.engine.instanceId, version: deps.version });
  });
}
