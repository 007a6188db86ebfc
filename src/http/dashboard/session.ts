import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The dashboard's login session, pure parts: ids, their hashes, the CSRF token derived from an id, the
 * cookie, the cross-site and Host checks, and the login throttle. I/O (the store, fastify) is in auth.ts.
 */

export const SESSION_COOKIE = 'tetora_session';
/** The header a cookie-authenticated state-changing request carries (the value of /dashboard/api/session's csrfToken). */
export const CSRF_HEADER = 'x-tetora-csrf';
/** A session lasts 7 days from login (fixed, not sliding): then the browser logs in again. */
export const SESSION_TTL_MS = 7 * 24 * 3600 * 1000;

/** A new session id: 32 random bytes, base64url (43 characters). */
export function newSessionId(): string {
  return randomBytes(32).toString('base64url');
}

/** Whether a cookie value has the shape of a session id (anything else is ignored without a store lookup). */
export function wellFormedSessionId(v: string | undefined): v is string {
  return v !== undefined && /^[A-Za-z0-9_-]{43}$/.test(v);
}

const sha256 = (...parts: string[]) => {
  const h = createHash('sha256');
  parts.forEach((p, i) => h.update(i === 0 ? p : `\u0000${p}`));
  return h;
};

/** What the store keeps of a session id: its sha256 (hex). */
export function sessionIdHash(id: string): string {
  return sha256(id).digest('hex');
}

/**
 * Binds a session to the apiToken it was opened with, without storing the token: sha256(id, token). A
 * new apiToken (SIGHUP) gives another fingerprint, so every older session stops counting.
 */
export function tokenFingerprint(id: string, apiToken: string | undefined): string {
  return sha256(id, apiToken ?? '').digest('hex');
}

/** The CSRF token of a session: derived from its id (which only the browser holds), so it needs no storage. */
export function csrfTokenOf(id: string): string {
  return sha256('tetora-csrf', id).digest('base64url');
}

/** Constant-time equality of two strings (of any lengths). */
export function sameSecret(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  return timingSafeEqual(sha256(a).digest(), sha256(b).digest());
}

/** The Set-Cookie value of a session (or, with `clear`, the one that deletes it). */
export function sessionCookie(id: string, opts: { secure: boolean; clear?: boolean }): string {
  const parts = [`${SESSION_COOKIE}=${opts.clear ? '' : id}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${opts.clear ? 0 : Math.floor(SESSION_TTL_MS / 1000)}`];
  if (opts.secure) parts.push('Secure');
  return parts.join('; ');
}

/** The value of a cookie in a Cookie header (the first one of that name). */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Whether the request reached the daemon over TLS (directly, or through a proxy that says so). */
export function overTls(encrypted: boolean, forwardedProto: string | undefined): boolean {
  return encrypted || (forwardedProto ?? '').split(',')[0]?.trim().toLowerCase() === 'https';
}

export const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Why a state-changing request is refused as cross-site, or undefined when it is not: a browser's
 * `Sec-Fetch-Site: cross-site`, or an `Origin` that is not the daemon's own (the Host the request was sent
 * to, or X-Forwarded-Host behind a proxy; a browser cannot set that header cross-site without a CORS
 * preflight, which the daemon never grants). Clients without Origin (the CLI, curl, scripts) pass. Pure.
 */
export function crossSiteProblem(h: { method: string; origin?: string | undefined; secFetchSite?: string | undefined; host?: string | undefined; forwardedHost?: string | undefined }): string | undefined {
  if (!STATE_CHANGING.has(h.method.toUpperCase())) return undefined;
  if (h.secFetchSite?.toLowerCase() === 'cross-site') return 'Sec-Fetch-Site is cross-site';
  if (h.origin === undefined) return undefined;
  const own = (h.forwardedHost?.split(',')[0]?.trim() || h.host || '').toLowerCase();
  let originHost: string;
  try {
    const u = new URL(h.origin);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return `Origin ${h.origin} is not this daemon`;
    originHost = u.host.toLowerCase();
  } catch {
    return `Origin ${JSON.stringify(h.origin)} is not this daemon`;
  }
  // new URL drops a default port (http://h:80 → h): compare with the Host header's default port dropped, too.
  const ownHost = own.replace(/:(80|443)$/, '');
  return originHost === ownHost || originHost === own ? undefined : `Origin ${h.origin} is not this daemon (${own || 'no Host header'})`;
}

/**
 * Whether a Host header names this machine's loopback (localhost, 127.x.x.x, [::1]), with any port. A
 * daemon without apiToken listens on loopback only and answers only such names: a web page whose own
 * name was rebound to 127.0.0.1 (DNS rebinding) sends its own name and is refused. Absent: allowed. Pure.
 */
export function loopbackHost(host: string | undefined): boolean {
  if (host === undefined || host === '') return true;
  const m = /^(\[[^\]]+\]|[^:]+)(?::\d+)?$/.exec(host.trim().toLowerCase());
  if (!m) return false;
  const name = m[1] as string;
  return name === 'localhost' || name === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

export interface ThrottleOptions {
  /** Failures allowed before delays start. @default 5 */
  free?: number;
  /** The first delay; each further failure doubles it. @default 1000 */
  baseMs?: number;
  /** @default 15 minutes */
  capMs?: number;
  /** Addresses remembered at most (the oldest are forgotten first). @default 10000 */
  maxEntries?: number;
  now?: () => number;
}

/**
 * Wrong logins per remote address: after `free` failures, each further attempt must wait base·2^(n−free)
 * (capped) after the last failure, and is answered 429 with Retry-After until then. A success clears the
 * address; an address quiet for a day is forgotten. Only the failing address waits: nobody is locked out
 * by someone else's wrong tokens.
 */
export class LoginThrottle {
  readonly #free: number;
  readonly #base: number;
  readonly #cap: number;
  readonly #max: number;
  readonly #now: () => number;
  readonly #byAddr = new Map<string, { failures: number; last: number }>();

  constructor(o: ThrottleOptions = {}) {
    this.#free = o.free ?? 5;
    this.#base = o.baseMs ?? 1000;
    this.#cap = o.capMs ?? 15 * 60 * 1000;
    this.#max = o.maxEntries ?? 10_000;
    this.#now = o.now ?? Date.now;
  }

  /** Milliseconds this address must still wait before its next attempt (0: it may try now). */
  waitMs(addr: string): number {
    const e = this.#byAddr.get(addr);
    if (!e) return 0;
    const now = this.#now();
    if (now - e.last > 24 * 3600 * 1000) {
      this.#byAddr.delete(addr);
      return 0;
    }
    if (e.failures < this.#free) return 0;
    const delay = Math.min(this.#cap, this.#base * 2 ** Math.min(30, e.failures - this.#free));
    return Math.max(0, e.last + delay - now);
  }

  fail(addr: string): void {
    const e = this.#byAddr.get(addr);
    this.#byAddr.delete(addr);
    this.#byAddr.set(addr, { failures: (e?.failures ?? 0) + 1, last: this.#now() });
    while (this.#byAddr.size > this.#max) this.#byAddr.delete(this.#byAddr.keys().next().value as string);
  }

  succeed(addr: string): void {
    this.#byAddr.delete(addr);
  }
}
