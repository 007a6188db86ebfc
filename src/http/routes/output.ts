import { createReadStream, statSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Engine } from '../../engine/engine.js';
import { TetoraError } from '../../errors.js';

/**
 * `GET /api/tasks/:id/output`: a task's whole output as text, streamed from its spool file when it was too
 * large for the task row (`outputFile` in the task), so nothing is ever cut on the way to a client.
 */
export function registerOutputRoutes(app: FastifyInstance, engine: Pick<Engine, 'require'>): void {
  app.get('/api/tasks/:id/output', async (req, reply) => {
    const { id } = req.params as { id: string };
    const t = engine.require(id);
    void reply.header('content-type', 'text/plain; charset=utf-8');
    if (t.outputFile) {
      let bytes: number;
      try {
        bytes = statSync(t.outputFile).size;
      } catch {
        throw new TetoraError('TET_ERR_HTTP_NOT_FOUND', `the output file of task ${id} (${t.outputFile}) is gone; the task row keeps only its first part (GET /api/tasks/${id}).`, { id });
      }
      void reply.header('content-length', String(bytes));
      return reply.send(createReadStream(t.outputFile));
    }
    if (t.output === null) throw new TetoraError('TET_ERR_HTTP_NOT_FOUND', `task ${id} has no output (it is ${t.status}).`, { id });
    return reply.send(t.output);
  });
}
