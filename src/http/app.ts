import { timingSafeEqual, createHash } from 'node:crypto';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { Engine } from '../engine/engine.js';
import { TetoraError, isTetoraError } from '../errors.js';
import { Metrics } from './metrics.js';
import { registerAdminRoutes } from './routes/admin.js';
import { registerDispatchRoutes } from './routes/dispatch.js';
import { registerEventRoutes } from './routes/events.js';
import { registerInfoRoutes } from './routes/info.js';
import { registerOutputRoutes } from './routes/output.js';
import { registerTaskRoutes } from './routes/tasks.js';

export interface AppDeps {
  engine: Engine;
  version: string;
  /** Read on every request, so a reload takes effect at once. */
  apiToken(): string | undefined;
  /** Starts a drain of the whole daemon (the same as SIGTERM). */
  requestDrain(): void;
  /** True once a drain started: new work gets 503. */
  draining(): boolean;
  /** Aborted when the daemon closes: long-lived answers (SSE streams, ?wait) end at once. */
  shutdown?: AbortSignal;
  /** @default 10 MiB */
  bodyLimit?: number;
  logger?: boolean | object;
}

/** Paths that answer without a token (liveness probes). */
const PUBLIC = new Set(['/healthz']);

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Constant-time comparison of a presented bearer token with the configured one. */
export function tokenMatches(presented: string | undefined, expected: string): boolean {
  return timingSafeEqual(digest(presented ?? ''), digest(expected)) && presented !== undefined;
}

export function buildApp(deps: AppDeps): { app: FastifyInstance; metrics: Metrics } {
  const app = Fastify({
    logger: deps.logger ?? false,
    bodyLimit: deps.bodyLimit ?? 10 * 1024 * 1024,
    disableRequestLogging: true,
  });
  const metrics = new Metrics(deps.engine);

  app.addHook('onRequest', async (req) => {
    const token = deps.apiToken();
    const path = req.url.split('?')[0] ?? '';
    if (!token || PUBLIC.has(path)) return;
    const h = req.headers.authorization;
    const presented = h?.startsWith('Bearer ') ? h.slice(7) : undefined;
    if (!tokenMatches(presented, token)) {
      throw new TetoraError('TET_ERR_HTTP_UNAUTHORIZED', presented ? 'the bearer token is wrong; use the apiToken from the daemon config.' : 'this daemon requires `Authorization: Bearer <apiToken>` (the apiToken from its config).');
    }
  });

  app.setErrorHandler((err: FastifyError | TetoraError, req, reply) => {
    if (isTetoraError(err)) {
      if (err.code === 'TET_ERR_ENGINE_STOPPED' || err.code === 'TET_ERR_HTTP_DRAINING') void reply.header('retry-after', '30');
      return reply.status(err.status).send({ error: err.toJSON() });
    }
    const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    if (status === 413) {
      return reply.status(413).send({ error: { code: 'TET_ERR_HTTP_BAD_REQUEST', message: `the request body is larger than the ${Math.round((deps.bodyLimit ?? 10 * 1024 * 1024) / 1024)} KiB limit; send a shorter prompt or put long input in a file in the workdir.`, details: {} } });
    }
    if (status < 500) {
      return reply.status(status).send({ error: { code: 'TET_ERR_HTTP_BAD_REQUEST', message: `bad request: ${err.message}`, details: {} } });
    }
    req.log.error({ err }, 'request failed');
    return reply.status(500).send({ error: { code: 'TET_ERR_INTERNAL', message: `internal error: ${err.message}; see the daemon log.`, details: {} } });
  });

  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ error: { code: 'TET_ERR_HTTP_NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}; see the README for the API.`, details: {} } });
  });

  registerDispatchRoutes(app, deps);
  registerTaskRoutes(app, deps);
  registerOutputRoutes(app, deps.engine);
  registerEventRoutes(app, deps);
  registerInfoRoutes(app, deps, metrics);
  registerAdminRoutes(app, deps);
  return { app, metrics };
}
