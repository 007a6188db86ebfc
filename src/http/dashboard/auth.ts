import type { FastifyRequest } from 'fastify';
import { TetoraError } from '../../errors.js';
import { DashboardStore } from '../../store/dashboard.js';
import type { Engine } from '../../engine/engine.js';
import {
  CSRF_HEADER,
  SESSION_COOKIE,
  SESSION_TTL_MS,
  STATE_CHANGING,
  cookieValue,
  crossSiteProblem,
  csrfTokenOf,
  loopbackHost,
  newSessionId,
  overTls,
  sameSecret,
  sessionIdHash,
  tokenFingerprint,
  wellFormedSessionId,
  LoginThrottle,
} from './session.js';

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** A request's valid session: its id (from the cookie) and its CSRF token. */
export interface SessionInfo {
  id: string;
  csrfToken: string;
}

/**
 * The dashboard's sessions on the store: login (a row holding the id's hash and the apiToken's
 * fingerprint), lookup from the cookie, logout, and the checks every request goes through (cross-site,
 * Host, CSRF). With no apiToken (loopback only) nothing needs a login: the cookie then only carries the
 * CSRF token (no row is written).
 */
export class DashboardAuth {
  readonly throttle: LoginThrottle;
  #store: DashboardStore | undefined;

  constructor(
    private readonly engine: Pick<Engine, 'db'>,
    private readonly apiToken: () => string | undefined,
    private readonly now: () => number = Date.now,
    throttle?: LoginThrottle,
  ) {
    this.throttle = throttle ?? new LoginThrottle({ now });
  }

  get store(): DashboardStore {
    return (this.#store ??= new DashboardStore(this.engine.db));
  }

  /** The request's session cookie, when it names a session that counts now (not expired, same apiToken). */
  session(req: FastifyRequest): SessionInfo | undefined {
    const id = cookieValue(header(req, 'cookie'), SESSION_COOKIE);
    if (!wellFormedSessionId(id)) return undefined;
    const token = this.apiToken();
    // No apiToken: nothing to log into; the cookie only binds the CSRF token (double-submit).
    if (!token) return { id, csrfToken: csrfTokenOf(id) };
    const row = this.store.session(sessionIdHash(id));
    if (!row || row.expiresAt <= this.now() || !sameSecret(row.tokenFp, tokenFingerprint(id, token))) return undefined;
    return { id, csrfToken: csrfTokenOf(id) };
  }

  /** A new session for a right token (or, with no apiToken, a cookie for the CSRF token only). */
  open(remote: string): SessionInfo {
    const id = newSessionId();
    const token = this.apiToken();
    if (token) {
      const now = this.now();
      this.store.expireSessions(now);
      this.store.createSession({ idHash: sessionIdHash(id), tokenFp: tokenFingerprint(id, token), createdAt: now, expiresAt: now + SESSION_TTL_MS, remote });
    }
    return { id, csrfToken: csrfTokenOf(id) };
  }

  revoke(id: string): void {
    if (this.apiToken()) this.store.revokeSession(sessionIdHash(id));
  }

  /** Whether the request came over TLS (the cookie then gets Secure). */
  secure(req: FastifyRequest): boolean {
    return overTls((req.raw.socket as { encrypted?: boolean }).encrypted === true, header(req, 'x-forwarded-proto'));
  }

  /**
   * Checks every request meets before its token or cookie: a state-changing request from another site is
   * refused (Sec-Fetch-Site, Origin), whatever credentials it carries; without an apiToken, a Host that is
   * not loopback is refused (DNS rebinding).
   */
  refuseForeign(req: FastifyRequest): void {
    if (!this.apiToken() && !loopbackHost(header(req, 'host'))) {
      throw new TetoraError('TET_ERR_HTTP_CROSS_SITE', `refused: Host ${JSON.stringify(header(req, 'host'))} is not a loopback name, and this daemon has no apiToken (it answers only 127.0.0.1, localhost and [::1]); open the dashboard at http://127.0.0.1:<port>/dashboard, or set an apiToken.`, { reason: 'host not loopback', host: header(req, 'host') ?? null });
    }
    const why = crossSiteProblem({ method: req.method, origin: header(req, 'origin'), secFetchSite: header(req, 'sec-fetch-site'), host: header(req, 'host'), forwardedHost: header(req, 'x-forwarded-host') });
    if (why) {
      throw new TetoraError('TET_ERR_HTTP_CROSS_SITE', `refused a cross-site ${req.method}: ${why}. State-changing requests are accepted only from the dashboard's own pages or from clients that send no Origin (the CLI, scripts).`, { reason: why });
    }
  }

  /** A cookie-authenticated state-changing request must carry its session's CSRF token. */
  requireCsrf(req: FastifyRequest, s: SessionInfo): void {
    if (!STATE_CHANGING.has(req.method)) return;
    const sent = header(req, CSRF_HEADER);
    if (!sameSecret(sent, s.csrfToken)) {
      throw new TetoraError('TET_ERR_HTTP_CSRF', `refused: a ${req.method} authenticated by the session cookie must carry the header X-Tetora-CSRF with the csrfToken of GET /dashboard/api/session (${sent ? 'it is wrong' : 'it is missing'}); reload the dashboard.`, { reason: sent ? 'wrong CSRF token' : 'no X-Tetora-CSRF header' });
    }
  }
}
