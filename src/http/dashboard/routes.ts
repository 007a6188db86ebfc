import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TetoraError } from '../../errors.js';
import { bearerToken, tokenMatches } from '../auth.js';
import type { AppDeps } from '../deps.js';
import { SECURITY_HEADERS, contentTypeOf, type AssetSource } from './assets.js';
import type { DashboardAuth, SessionInfo } from './auth.js';
import { sessionCookie } from './session.js';

/**
 * Route config of the routes that answer without the token or a session: the page shell, its assets and
 * the session/login/logout endpoints (which check what they need themselves). The auth hook (app.ts)
 * lets exactly these through; the security tests list them.
 */
export const DASHBOARD_PUBLIC = { dashboardPublic: true } as const;

/** Whether the request's route is one of the dashboard's public routes. */
export function dashboardPublic(req: FastifyRequest): boolean {
  return (req.routeOptions.config as { dashboardPublic?: boolean } | undefined)?.dashboardPublic === true;
}

const notBuiltHtml = (where: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Tetora dashboard not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem">
<h1>The dashboard is not built</h1>
<p>This daemon found no <code>index.html</code> in ${escapeHtml(where)}. Run <code>npm run build</code> in the Tetora checkout (it builds the dashboard into <code>dist/dashboard/</code>), then reload this page. The API works without it.</p>
<p>Error code: <code>TET_ERR_DASHBOARD_NOT_BUILT</code></p>
</body></html>
`;

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function withSecurityHeaders(reply: FastifyReply): FastifyReply {
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) void reply.header(k, v);
  return reply;
}

/**
 * The dashboard: `GET /dashboard` and `/dashboard/*` (the single page; it routes client-side), its files
 * under `/dashboard/assets/`, and `GET /dashboard/api/session`, `POST /dashboard/api/login`, `POST
 * /dashboard/api/logout`.
 */
export function registerDashboardRoutes(app: FastifyInstance, deps: AppDeps, auth: DashboardAuth, assets: AssetSource): void {
  const shell = (req: FastifyRequest, reply: FastifyReply) => {
    const html = assets.read('index.html');
    withSecurityHeaders(reply);
    if (!html) {
      const err = new TetoraError('TET_ERR_DASHBOARD_NOT_BUILT', `the dashboard is not built: no index.html in ${assets.where}; run \`npm run build\` (it builds the dashboard into dist/dashboard/), then reload. The API works without it.`, { where: assets.where });
      void reply.header('retry-after', '30');
      if ((req.headers.accept ?? '').includes('text/html')) return reply.status(503).type('text/html; charset=utf-8').send(notBuiltHtml(assets.where));
      return reply.status(503).send({ error: err.toJSON() });
    }
    return reply.type('text/html; charset=utf-8').send(html);
  };

  app.get('/dashboard', { config: DASHBOARD_PUBLIC }, async (req, reply) => shell(req, reply));
  app.get('/dashboard/*', { config: DASHBOARD_PUBLIC }, async (req, reply) => {
    const rest = (req.params as { '*': string })['*'];
    if (rest === 'api' || rest.startsWith('api/')) {
      throw new TetoraError('TET_ERR_HTTP_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}; the dashboard's own endpoints are /dashboard/api/session, /dashboard/api/login and /dashboard/api/logout.`);
    }
    return shell(req, reply);
  });

  app.get('/dashboard/assets/*', { config: DASHBOARD_PUBLIC }, async (req, reply) => {
    const name = (req.params as { '*': string })['*'];
    const bytes = assets.read(name);
    withSecurityHeaders(reply);
    if (!bytes) {
      throw new TetoraError('TET_ERR_HTTP_NOT_FOUND', `no dashboard asset ${JSON.stringify(name)} in ${assets.where}; asset names are plain paths inside it (run \`npm run build\` if the dashboard is not built).`, { asset: name });
    }
    return reply.type(contentTypeOf(name)).send(bytes);
  });

  const setCookie = (req: FastifyRequest, reply: FastifyReply, s: SessionInfo | undefined) => {
    void reply.header('set-cookie', sessionCookie(s?.id ?? '', { secure: auth.secure(req), clear: s === undefined }));
  };

  /** Public: whether a login is needed, whether this browser has a session, and its CSRF token. */
  app.get('/dashboard/api/session', { config: DASHBOARD_PUBLIC }, async (req, reply) => {
    void reply.header('cache-control', 'no-store');
    const token = deps.apiToken();
    let s = auth.session(req);
    if (!token) {
      // Nothing to log into: a cookie that carries the CSRF token only.
      if (!s) {
        s = auth.open(req.ip);
        setCookie(req, reply, s);
      }
      return { loginRequired: false, authenticated: true, csrfToken: s.csrfToken, version: deps.version };
    }
    const bearer = tokenMatches(bearerToken(req.headers.authorization), token);
    return { loginRequired: true, authenticated: s !== undefined || bearer, ...(s ? { csrfToken: s.csrfToken } : {}), version: deps.version };
  });

  app.post('/dashboard/api/login', { config: DASHBOARD_PUBLIC }, async (req, reply) => {
    void reply.header('cache-control', 'no-store');
    const token = deps.apiToken();
    const wait = auth.throttle.waitMs(req.ip);
    if (wait > 0) {
      const seconds = Math.ceil(wait / 1000);
      void reply.header('retry-after', String(seconds));
      throw new TetoraError('TET_ERR_HTTP_LOGIN_THROTTLED', `too many wrong tokens from ${req.ip}: wait ${seconds} s before the next login attempt (each further wrong token doubles the wait, up to 15 minutes). The apiToken is in the daemon's config.`, { retryAfterSeconds: seconds });
    }
    const body = req.body as { token?: unknown } | undefined;
    if (!body || typeof body !== 'object' || Array.isArray(body) || typeof body.token !== 'string' || body.token === '') {
      throw new TetoraError('TET_ERR_HTTP_BAD_REQUEST', 'the login body must be JSON {"token": "<apiToken>"} (Content-Type: application/json).', { field: 'token' });
    }
    if (token && !tokenMatches(body.token, token)) {
      auth.throttle.fail(req.ip);
      throw new TetoraError('TET_ERR_HTTP_UNAUTHORIZED', 'the token is wrong; use the apiToken from the daemon config.', { scheme: 'session', reason: 'wrong token' });
    }
    auth.throttle.succeed(req.ip);
    const old = auth.session(req);
    if (old) auth.revoke(old.id);
    setCookie(req, reply, auth.open(req.ip));
    return reply.status(204).send();
  });

  app.post('/dashboard/api/logout', { config: DASHBOARD_PUBLIC }, async (req, reply) => {
    void reply.header('cache-control', 'no-store');
    const s = auth.session(req);
    if (s) {
      auth.requireCsrf(req, s);
      auth.revoke(s.id);
    }
    setCookie(req, reply, undefined);
    return reply.status(204).send();
  });
}
