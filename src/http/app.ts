import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { TetoraError, isTetoraError, messageOf, type ErrorCode } from '../errors.js';
import { silentLogger } from '../engine/logger.js';
import { bearerToken, tokenMatches } from './auth.js';
import { parseJsonBody } from './body.js';
import type { AppDeps } from './deps.js';
import { Metrics } from './metrics.js';
import { registerAdminRoutes } from './routes/admin.js';
import { registerDiscordRoutes } from './routes/discord.js';
import { registerDispatchRoutes } from './routes/dispatch.js';
import { registerEventRoutes } from './routes/events.js';
import { registerInfoRoutes } from './routes/info.js';
import { registerOutputRoutes } from './routes/output.js';
import { registerTaskRoutes } from './routes/tasks.js';
import { registerWorkflowRoutes } from './routes/workflows.js';
import { registerWorkflowRunRoutes } from './routes/workflow-runs.js';
import { authenticatesItself, registerTriggerRoutes } from './routes/triggers.js';
import { registerJobRoutes } from './routes/jobs.js';
import { registerDiscordOutboxRoutes } from './routes/discord-outbox.js';
import { registerRouteRoutes } from './routes/route.js';
import { registerBoardRoutes } from './routes/board.js';
import { DashboardAuth } from './dashboard/auth.js';
import { dashboardAssets } from './dashboard/assets.js';
import { dashboardPublic, registerDashboardRoutes } from './dashboard/routes.js';
import { registerOverviewRoutes } from './routes/overview.js';
import { registerWorktreeRoutes } from './routes/worktrees.js';
import { registerTaskRetryRoutes } from './routes/task-retry.js';

export type { AppDeps } from './deps.js';
export { tokenMatches } from './auth.js';

/** Paths that answer without a token (liveness probes). */
const PUBLIC = new Set(['/healthz']);

/** @default 10 MiB */
const DEFAULT_BODY_LIMIT = 10 * 1024 * 1024;
/** The longest path segment (an id) the router takes; longer ones get a 400 in the API's format. */
const MAX_PARAM_LENGTH = 1000;

/** The one shape of every error body: `{ "error": { code, message, details } }`. */
export function errorBody(code: ErrorCode, message: string, details: Record<string, unknown> = {}): { error: { code: ErrorCode; message: string; details: Record<string, unknown> } } {
  return { error: { code, message, details } };
}

function sendError(reply: FastifyReply, err: TetoraError): FastifyReply {
  if (err.status === 503) void reply.header('retry-after', '30');
  if (err.status === 401) void reply.header('www-authenticate', 'Bearer realm="tetora"');
  return reply.status(err.status).send(errorBody(err.code, err.message, err.details ?? {}));
}

/**
 * Errors Node's HTTP parser meets before fastify sees a request (a 100 kB URL, a broken request line):
 * answered in the API's error format instead of fastify's default.
 */
function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  let status = 400;
  let body = errorBody('TET_ERR_HTTP_BAD_REQUEST', 'the request could not be parsed as HTTP; send a well-formed HTTP/1.1 request.');
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    status = 431;
    body = errorBody('TET_ERR_HTTP_HEADERS_TOO_LARGE', 'the request line and headers are longer than the daemon accepts (16 KiB); shorten the URL or headers (task ids are 36 characters).');
  } else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    status = 408;
    body = errorBody('TET_ERR_HTTP_BAD_REQUEST', 'the request took too long to arrive; send it again.');
  }
  // A response already under way on this socket (an SSE stream, a pipelined request's answer): a status
  // line written now would land inside its body. Only close the connection then, as Node itself does.
  if (socket.writable && !responseUnderWay(socket)) {
    const text = JSON.stringify(body);
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(text)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${text}`);
  }
  socket.destroy(err);
}

/**
 * Whether a response on `socket` has sent its headers: Node keeps the response in flight on the socket
 * (`_httpMessage`, the field its own client-error handler checks for the same reason).
 */
function responseUnderWay(socket: Socket): boolean {
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  return inFlight?.headersSent === true;
}

/** One registered route: its method and URL pattern, as fastify's onRoute hook sees it. */
export interface RouteEntry {
  method: string;
  url: string;
  /**
   * Whether it answers without the bearer token or a dashboard session: PUBLIC (`public`), the signed
   * webhook checking its own credentials (`self`), or the dashboard's shell, assets and session endpoints
   * (`dashboard`, see http/dashboard/routes.ts).
   */
  exempt: 'public' | 'self' | 'dashboard' | false;
}

/**
 * The HTTP app. `routes` is its live route table (collected by an onRoute hook as routes are registered,
 * complete once `app.ready()` resolved): the security test walks it so no route can forget the token.
 */
export function buildApp(deps: AppDeps): { app: FastifyInstance; metrics: Metrics; routes: RouteEntry[] } {
  const log = deps.log ?? silentLogger;
  const bodyLimit = deps.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const app = Fastify({
    logger: false,
    bodyLimit,
    genReqId: () => randomUUID(),
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    clientErrorHandler,
    // Bad URLs (`/api/tasks/%ZZ`) and over-long ids reach this instead of fastify's own body format.
    frameworkErrors: (err, _req, reply) => {
      const msg = err.code === 'FST_ERR_BAD_URL'
        ? `the URL is not valid (${err.message}); percent-encode it correctly.`
        : err.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? `a path segment is longer than ${MAX_PARAM_LENGTH} characters; no id is that long (task ids are 36 characters).`
          : `the request was refused: ${err.message}.`;
      return (reply as FastifyReply).status(400).send(errorBody('TET_ERR_HTTP_BAD_REQUEST', msg, { fastifyCode: err.code }));
    },
  });
  const streams = { open: 0 };
  const metrics = new Metrics(deps.engine, () => streams.open);
  // Every SSE stream and ?wait answer listens on the one shutdown signal: no listener limit (a warning
  // beyond 10 clients would be a plain-text line in a JSON log, and is no leak).
  if (deps.shutdown) setMaxListeners(0, deps.shutdown);

  const routes: RouteEntry[] = [];
  app.addHook('onRoute', (opts) => {
    const signed = (opts.config as { signedWebhook?: boolean } | undefined)?.signedWebhook === true;
    const dashboard = (opts.config as { dashboardPublic?: boolean } | undefined)?.dashboardPublic === true;
    for (const method of [opts.method].flat()) {
      routes.push({ method, url: opts.url, exempt: PUBLIC.has(opts.url) ? 'public' : signed ? 'self' : dashboard ? 'dashboard' : false });
    }
  });

  // JSON only: a body sent as text/plain (or anything else) gets 415 naming its content type.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  // Every request: a state-changing one from another site is refused whatever it carries (and, without an
  // apiToken, a Host that is not loopback); then the bearer token OR a dashboard session cookie (whose
  // state-changing requests carry X-Tetora-CSRF). See http/dashboard/ and docs/ARCHITECTURE.md.
  const dashboard = new DashboardAuth(deps.engine, deps.apiToken);
  app.addHook('onRequest', async (req) => {
    dashboard.refuseForeign(req);
    const token = deps.apiToken();
    const path = req.url.split('?')[0] ?? '';
    if (PUBLIC.has(path) || dashboardPublic(req)) return;
    const header = req.headers.authorization;
    if (!token) {
      // Open (loopback only): a browser's session cookie still binds its CSRF token.
      const s = header === undefined ? dashboard.session(req) : undefined;
      if (s) dashboard.requireCsrf(req, s);
      return;
    }
    const presented = bearerToken(header);
    if (header === undefined) {
      const s = dashboard.session(req);
      if (s) {
        dashboard.requireCsrf(req, s);
        return;
      }
    } else if (tokenMatches(presented, token)) return;
    // The signed webhook (POST /api/triggers/webhook/:name, and only it) checks the token or the body's
    // HMAC signature itself, once the body is read; it refuses with the same 401.
    if (authenticatesItself(req)) return;
    throw new TetoraError(
      'TET_ERR_HTTP_UNAUTHORIZED',
      presented
        ? 'the bearer token is wrong; use the apiToken from the daemon config.'
        : 'this daemon requires `Authorization: Bearer <apiToken>` (the apiToken from its config), or a dashboard session (log in at /dashboard).',
      { scheme: 'Bearer', reason: presented ? 'wrong token' : header ? 'not a Bearer token' : 'no Authorization header' },
    );
  });

  app.setErrorHandler((err: FastifyError | TetoraError, req, reply) => {
    if (isTetoraError(err)) return sendError(reply, err);
    const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    if (status === 413) {
      return sendError(reply, new TetoraError('TET_ERR_HTTP_BODY_TOO_LARGE', `the request body is larger than the ${Math.round(bodyLimit / 1024)} KiB limit (${bodyLimit} bytes: maxRequestBytes in the config, applied at start); send a shorter prompt, put long input in a file in the workdir, or raise maxRequestBytes and restart the daemon.`, { limitBytes: bodyLimit }));
    }
    if (status === 415) {
      const type = req.headers['content-type'] ?? '(none)';
      return sendError(reply, new TetoraError('TET_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE', `the body was sent as ${type}; the API reads JSON only: send it with Content-Type: application/json.`, { contentType: type }));
    }
    if (status < 500) {
      return reply.status(status).send(errorBody('TET_ERR_HTTP_BAD_REQUEST', `bad request: ${err.message}`, err.code ? { fastifyCode: err.code } : {}));
    }
    // A bug: log it with the request id the client sees, so the two can be matched.
    log.error({ requestId: req.id, method: req.method, url: req.url, err: messageOf(err), stack: err.stack }, 'request failed with an internal error');
    void reply.header('x-request-id', req.id);
    return reply.status(500).send(errorBody('TET_ERR_INTERNAL', `internal error: ${messageOf(err)}; see the daemon log (request id ${req.id}).`, { requestId: req.id }));
  });

  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send(errorBody('TET_ERR_HTTP_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}; see the README for the API.`));
  });

  registerDispatchRoutes(app, deps);
  registerTaskRoutes(app, deps);
  registerOutputRoutes(app, deps.engine);
  registerEventRoutes(app, deps, streams);
  registerInfoRoutes(app, deps, metrics);
  registerAdminRoutes(app, deps);
  registerDiscordRoutes(app, deps);
  registerWorkflowRoutes(app, deps);
  if (deps.workflows) registerWorkflowRunRoutes(app, { ...deps, workflows: deps.workflows }, streams);
  registerTriggerRoutes(app, deps);
  registerJobRoutes(app, deps);
  registerDiscordOutboxRoutes(app, deps);
  registerRouteRoutes(app, deps);
  registerBoardRoutes(app, deps);
  registerDashboardRoutes(app, deps, dashboard, dashboardAssets(deps.dashboardDir));
  registerOverviewRoutes(app, deps);
  registerWorktreeRoutes(app, deps);
  registerTaskRetryRoutes(app, deps);
  return { app, metrics, routes };
}
