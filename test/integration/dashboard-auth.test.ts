/**
 * Issue 15, the dashboard server against the real daemon: every route of the live route table refused
 * without the token or a session cookie (a forged one, a revoked one, one from before the apiToken
 * changed); the cookie's flags; login throttling; CSRF on cookie-authenticated writes; cross-site writes
 * refused with or without the token; the page shell, its assets and their headers; path traversal refused;
 * a clear 503 when the UI is not built; a daemon without apiToken (no login, CSRF still, DNS rebinding).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteEntry } from '../../src/http/app.js';
import { DaemonHarness, TOKEN } from '../helpers/daemon.js';
import { EXEMPT, concrete, routeTable } from '../helpers/route-table.js';

/** A request with exactly these headers (fetch would normalise paths and refuses to set Host). */
function raw(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent: false, headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}) } });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function errorCode(body: string): string | undefined {
  try {
    return (JSON.parse(body) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}

/** The session id of a login answer's Set-Cookie. */
function cookieOf(setCookie: string | null): string {
  const m = /^tetora_session=([^;]*)/.exec(setCookie ?? '');
  if (!m) throw new Error(`no tetora_session cookie in ${setCookie}`);
  return m[1] as string;
}

async function login(d: DaemonHarness, token = TOKEN, headers: Record<string, string> = {}): Promise<{ status: number; setCookie: string | null; body: string }> {
  const res = await fetch(`${d.base}/dashboard/api/login`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ token }) });
  return { status: res.status, setCookie: res.headers.get('set-cookie'), body: await res.text() };
}

async function session(d: DaemonHarness, cookie?: string): Promise<{ loginRequired: boolean; authenticated: boolean; csrfToken?: string; version: string }> {
  const res = await fetch(`${d.base}/dashboard/api/session`, { headers: cookie ? { cookie: `tetora_session=${cookie}` } : {} });
  expect(res.status).toBe(200);
  return (await res.json()) as { loginRequired: boolean; authenticated: boolean; csrfToken?: string; version: string };
}

/** Every non-exempt route of the table, requested with `headers`: the ones that did not answer 401. */
async function notRefused(d: DaemonHarness, routes: RouteEntry[], headers: Record<string, string>): Promise<string[]> {
  const failures: string[] = [];
  for (const r of routes.filter((x) => x.exempt === false)) {
    const hasBody = !['GET', 'HEAD', 'DELETE', 'OPTIONS'].includes(r.method);
    const res = await raw(d.port, r.method, concrete(r.url), headers, hasBody ? '{}' : undefined);
    if (res.status !== 401) failures.push(`${r.method} ${r.url} → ${res.status} ${res.body.slice(0, 160)}`);
    else if (r.method !== 'HEAD' && errorCode(res.body) !== 'TET_ERR_HTTP_UNAUTHORIZED') failures.push(`${r.method} ${r.url} → ${res.body.slice(0, 160)}`);
  }
  return failures;
}

let routes: RouteEntry[];
beforeAll(async () => {
  routes = await routeTable();
});

describe('a daemon with apiToken and a built dashboard', () => {
  let d: DaemonHarness;
  let assets: string;

  beforeAll(async () => {
    const root = mkdtempSync(join(tmpdir(), 'tetora-dash-'));
    assets = join(root, 'dashboard');
    mkdirSync(join(assets, 'img'), { recursive: true });
    writeFileSync(join(assets, 'index.html'), '<!doctype html><title>Tetora</title><script type="module" src="/dashboard/assets/app.js"></script>');
    writeFileSync(join(assets, 'app.js'), 'console.log("app")');
    writeFileSync(join(assets, 'app.css'), 'body{}');
    writeFileSync(join(assets, 'img', 'logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    // Beside the asset folder: what a path traversal would reach.
    writeFileSync(join(root, 'secret.txt'), 'SECRET-BESIDE-ASSETS');
    d = await DaemonHarness.create();
    await d.start({ env: { TETORA_DASHBOARD_DIR: assets } });
  });
  afterAll(async () => {
    await d.stop();
  });

  it('the route table holds the dashboard routes, exempt exactly as listed', () => {
    const keys = routes.map((r) => `${r.method} ${r.url}`);
    expect(keys).toEqual(expect.arrayContaining(['GET /dashboard', 'GET /dashboard/assets/*', 'POST /dashboard/api/login', 'GET /api/tasks', 'POST /api/dispatch']));
    expect(routes.filter((r) => r.exempt !== false).map((r) => `${r.method} ${r.url}`).sort()).toEqual([...EXEMPT].sort());
    expect(routes.filter((r) => r.exempt === false).length).toBeGreaterThan(40);
  });

  it('refuses every non-exempt route with no token and no cookie, a forged cookie, or a cookie that is not a session id', async () => {
    const forged = randomSessionId();
    expect(await notRefused(d, routes, {})).toEqual([]);
    expect(await notRefused(d, routes, { cookie: `tetora_session=${forged}` })).toEqual([]);
    expect(await notRefused(d, routes, { cookie: 'tetora_session=../../etc; other=1' })).toEqual([]);
  });

  it('login: a wrong token is 401; the right one sets an HttpOnly SameSite=Strict cookie on / (Secure behind TLS) and stores only its hash', async () => {
    const wrong = await login(d, `${TOKEN}x`);
    expect(wrong.status).toBe(401);
    expect(errorCode(wrong.body)).toBe('TET_ERR_HTTP_UNAUTHORIZED');
    expect(wrong.setCookie).toBeNull();

    const ok = await login(d);
    expect(ok.status).toBe(204);
    const flags = (ok.setCookie ?? '').split(';').map((s) => s.trim());
    expect(flags).toEqual(expect.arrayContaining(['HttpOnly', 'SameSite=Strict', 'Path=/']));
    expect(flags).not.toContain('Secure');
    const id = cookieOf(ok.setCookie);
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const rows = d.query<{ id_hash: string; token_fp: string; expires_at: number; created_at: number }>('SELECT id_hash, token_fp, expires_at, created_at FROM dashboard_sessions');
    expect(rows.map((r) => r.id_hash)).toContain(createHash('sha256').update(id).digest('hex'));
    expect(JSON.stringify(rows)).not.toContain(id);
    expect(JSON.stringify(rows)).not.toContain(TOKEN);
    const row = rows.find((r) => r.id_hash === createHash('sha256').update(id).digest('hex'));
    expect((row?.expires_at ?? 0) - (row?.created_at ?? 0)).toBe(7 * 24 * 3600 * 1000);

    const tls = await login(d, TOKEN, { 'x-forwarded-proto': 'https' });
    expect(tls.status).toBe(204);
    expect((tls.setCookie ?? '').split(';').map((s) => s.trim())).toContain('Secure');
  });

  it('the session endpoint answers without auth and tells only whether this browser is logged in', async () => {
    const anon = await session(d);
    expect(anon).toEqual({ loginRequired: true, authenticated: false, version: expect.any(String) });
    const id = cookieOf((await login(d)).setCookie);
    const s = await session(d, id);
    expect(s.loginRequired).toBe(true);
    expect(s.authenticated).toBe(true);
    expect(s.csrfToken).toMatch(/^[A-Za-z0-9_-]{20,}$/);
  });

  it('with the cookie: reads work (also the event stream); writes need X-Tetora-CSRF', async () => {
    const id = cookieOf((await login(d)).setCookie);
    const cookie = `tetora_session=${id}`;
    const { csrfToken } = await session(d, id);
    expect((await raw(d.port, 'GET', '/api/tasks', { cookie })).status).toBe(200);
    const sse = new AbortController();
    const events = await fetch(`${d.base}/api/events`, { headers: { cookie }, signal: sse.signal });
    expect(events.status).toBe(200);
    expect(events.headers.get('content-type')).toContain('text/event-stream');
    sse.abort();

    const body = JSON.stringify({ agent: 'a', prompt: d.prompt({ out: 'hi' }) });
    const noCsrf = await raw(d.port, 'POST', '/api/dispatch', { cookie }, body);
    expect(noCsrf.status).toBe(403);
    expect(errorCode(noCsrf.body)).toBe('TET_ERR_HTTP_CSRF');
    const wrongCsrf = await raw(d.port, 'POST', '/api/dispatch', { cookie, 'x-tetora-csrf': `${csrfToken}x` }, body);
    expect(wrongCsrf.status).toBe(403);
    // Another session's CSRF token does not fit this session.
    const other = await session(d, cookieOf((await login(d)).setCookie));
    expect((await raw(d.port, 'POST', '/api/dispatch', { cookie, 'x-tetora-csrf': other.csrfToken as string }, body)).status).toBe(403);
    expect(d.query('SELECT id FROM tasks')).toEqual([]);

    const ok = await raw(d.port, 'POST', '/api/dispatch', { cookie, 'x-tetora-csrf': csrfToken as string, origin: d.base, 'sec-fetch-site': 'same-origin' }, body);
    expect(ok.status).toBe(202);
    await d.waitTerminal([(JSON.parse(ok.body) as { id: string }).id]);
  });

  it('a cross-site write is refused with the cookie AND with the bearer token; scripts without Origin keep working', async () => {
    const id = cookieOf((await login(d)).setCookie);
    const { csrfToken } = await session(d, id);
    const body = JSON.stringify({ agent: 'a', prompt: d.prompt({ out: 'x' }) });
    const cases: Array<Record<string, string>> = [
      { cookie: `tetora_session=${id}`, 'x-tetora-csrf': csrfToken as string, origin: 'http://evil.example' },
      { cookie: `tetora_session=${id}`, 'x-tetora-csrf': csrfToken as string, 'sec-fetch-site': 'cross-site' },
      { authorization: `Bearer ${TOKEN}`, origin: 'http://evil.example' },
      { authorization: `Bearer ${TOKEN}`, origin: 'null' },
      { authorization: `Bearer ${TOKEN}`, origin: `http://127.0.0.1:${d.port + 1}` },
      { authorization: `Bearer ${TOKEN}`, 'sec-fetch-site': 'cross-site' },
    ];
    for (const h of cases) {
      const res = await raw(d.port, 'POST', '/api/dispatch', h, body);
      expect(res.status, JSON.stringify(h)).toBe(403);
      expect(errorCode(res.body)).toBe('TET_ERR_HTTP_CROSS_SITE');
    }
    // A cross-site login and logout are refused too (no login CSRF).
    const xLogin = await raw(d.port, 'POST', '/dashboard/api/login', { origin: 'http://evil.example' }, JSON.stringify({ token: TOKEN }));
    expect(xLogin.status).toBe(403);
    expect(xLogin.headers['set-cookie']).toBeUndefined();
    expect(d.query('SELECT id FROM tasks WHERE prompt = ?', JSON.parse(body).prompt)).toEqual([]);
    // A cross-site GET is no write: the cookie still reads (SameSite=Strict keeps browsers from sending it).
    expect((await raw(d.port, 'GET', '/api/tasks', { authorization: `Bearer ${TOKEN}`, 'sec-fetch-site': 'cross-site' })).status).toBe(200);
    // The bearer token without Origin (the CLI, scripts): unchanged.
    expect((await raw(d.port, 'POST', '/api/dispatch', { authorization: `Bearer ${TOKEN}` }, body)).status).toBe(202);
  });

  it('logout needs the CSRF token, revokes the session and clears the cookie', async () => {
    const id = cookieOf((await login(d)).setCookie);
    const cookie = `tetora_session=${id}`;
    const { csrfToken } = await session(d, id);
    const noCsrf = await raw(d.port, 'POST', '/dashboard/api/logout', { cookie });
    expect(noCsrf.status).toBe(403);
    expect((await raw(d.port, 'GET', '/api/tasks', { cookie })).status).toBe(200);
    const out = await raw(d.port, 'POST', '/dashboard/api/logout', { cookie, 'x-tetora-csrf': csrfToken as string });
    expect(out.status).toBe(204);
    expect(String(out.headers['set-cookie'])).toMatch(/^tetora_session=;.*Max-Age=0/);
    expect(d.query('SELECT 1 FROM dashboard_sessions WHERE id_hash = ?', createHash('sha256').update(id).digest('hex'))).toEqual([]);
    expect(await session(d, id)).toMatchObject({ authenticated: false });
    expect(await notRefused(d, routes, { cookie })).toEqual([]);
  });

  it('the page shell: every client path gives index.html with the security headers; assets with their types', async () => {
    for (const path of ['/dashboard', '/dashboard/', '/dashboard/login', '/dashboard/tasks/abc', '/dashboard/runs/r1']) {
      const res = await raw(d.port, 'GET', path);
      expect(res.status, path).toBe(200);
      expect(res.body).toContain('<title>Tetora</title>');
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['content-security-policy']).toContain("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'");
      expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['cache-control']).toBe('no-cache');
    }
    const js = await raw(d.port, 'GET', '/dashboard/assets/app.js');
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.body).toBe('console.log("app")');
    expect((await raw(d.port, 'GET', '/dashboard/assets/app.css')).headers['content-type']).toBe('text/css; charset=utf-8');
    expect((await raw(d.port, 'GET', '/dashboard/assets/img/logo.svg')).headers['content-type']).toBe('image/svg+xml');
    const missing = await raw(d.port, 'GET', '/dashboard/assets/nope.js');
    expect(missing.status).toBe(404);
    // An unknown dashboard API path is a JSON 404, not the page.
    const api = await raw(d.port, 'GET', '/dashboard/api/nope');
    expect(api.status).toBe(404);
    expect(errorCode(api.body)).toBe('TET_ERR_HTTP_NOT_FOUND');
  });

  it('refuses path traversal out of the asset folder', async () => {
    for (const path of [
      '/dashboard/assets/../secret.txt',
      '/dashboard/assets/%2e%2e/secret.txt',
      '/dashboard/assets/%2E%2E%2Fsecret.txt',
      '/dashboard/assets/img/../../secret.txt',
      '/dashboard/assets/img/%2e%2e/%2e%2e/secret.txt',
      '/dashboard/assets/..%5csecret.txt',
      `/dashboard/assets/${encodeURIComponent(join(assets, '..', 'secret.txt'))}`,
      '/dashboard/assets//etc/passwd',
      '/dashboard/assets/app.js%00.css',
    ]) {
      const res = await raw(d.port, 'GET', path);
      expect(res.body, path).not.toContain('SECRET-BESIDE-ASSETS');
      expect(res.body, path).not.toContain('root:');
      // The shell may answer a path the router normalised to a client route; never the file.
      expect([400, 404, 200], path).toContain(res.status);
      if (res.status === 200) expect(res.body).toContain('<title>Tetora</title>');
    }
  });

  it('login is throttled per address after 5 wrong tokens (429 with Retry-After), even for the right token meanwhile', async () => {
    // A success clears the address's count; this session is used by the next test.
    sessionBeforeReload = cookieOf((await login(d)).setCookie);
    for (let i = 0; i < 5; i++) expect((await login(d, `wrong-${i}`)).status).toBe(401);
    const sixth = await fetch(`${d.base}/dashboard/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: 'wrong-6' }) });
    expect(sixth.status).toBe(429);
    expect(Number(sixth.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(errorCode(await sixth.text())).toBe('TET_ERR_HTTP_LOGIN_THROTTLED');
    const right = await login(d);
    expect(right.status).toBe(429);
    expect(right.setCookie).toBeNull();
    // The bearer token is not a login: scripts are not throttled.
    expect((await d.fetch('/api/tasks')).status).toBe(200);
  });

  it('a new apiToken (SIGHUP) ends every session opened with the old one', async () => {
    // The session was opened before the throttle test (which now holds this address).
    const cookie = `tetora_session=${sessionBeforeReload}`;
    expect((await raw(d.port, 'GET', '/api/tasks', { cookie })).status).toBe(200);
    const cfg = JSON.parse(readFileSync(d.configPath, 'utf8')) as Record<string, unknown>;
    d.writeConfig({ ...cfg, apiToken: `${TOKEN}-new` });
    d.kill('SIGHUP');
    for (let i = 0; i < 200 && (await d.fetch('/api/tasks', { token: `${TOKEN}-new` })).status !== 200; i++) await new Promise((r) => setTimeout(r, 50));
    expect((await d.fetch('/api/tasks', { token: `${TOKEN}-new` })).status).toBe(200);
    expect((await raw(d.port, 'GET', '/api/tasks', { cookie })).status).toBe(401);
    expect(await session(d, sessionBeforeReload)).toMatchObject({ authenticated: false });
  });
});

let sessionBeforeReload = '';

function randomSessionId(): string {
  return createHash('sha256').update(String(Math.random())).digest('base64url').slice(0, 43);
}

describe('a daemon without apiToken (loopback only)', () => {
  let d: DaemonHarness;
  beforeAll(async () => {
    // An empty folder as the dashboard's: the UI is "not built".
    d = await DaemonHarness.create({ apiToken: undefined });
    await d.start({ env: { TETORA_DASHBOARD_DIR: mkdtempSync(join(tmpdir(), 'tetora-nodash-')) } });
  });
  afterAll(async () => {
    await d.stop();
  });

  it('needs no login; the session endpoint sets a cookie carrying a CSRF token that cookie writes must send', async () => {
    const res = await fetch(`${d.base}/dashboard/api/session`);
    const body = (await res.json()) as { loginRequired: boolean; authenticated: boolean; csrfToken: string };
    expect(body).toMatchObject({ loginRequired: false, authenticated: true, csrfToken: expect.any(String) });
    const id = cookieOf(res.headers.get('set-cookie'));
    expect((res.headers.get('set-cookie') ?? '').split(';').map((s) => s.trim())).toEqual(expect.arrayContaining(['HttpOnly', 'SameSite=Strict']));
    // The same cookie gives the same token; no session row is written (there is nothing to log into).
    expect((await session(d, id)).csrfToken).toBe(body.csrfToken);
    expect(d.query('SELECT 1 FROM dashboard_sessions')).toEqual([]);

    const task = JSON.stringify({ agent: 'a', prompt: d.prompt({ out: 'x' }) });
    const cookie = `tetora_session=${id}`;
    const noCsrf = await raw(d.port, 'POST', '/api/dispatch', { cookie }, task);
    expect(noCsrf.status).toBe(403);
    expect(errorCode(noCsrf.body)).toBe('TET_ERR_HTTP_CSRF');
    expect((await raw(d.port, 'POST', '/api/dispatch', { cookie, 'x-tetora-csrf': body.csrfToken }, task)).status).toBe(202);
    // A script without cookie or Origin: unchanged (no token needed here).
    expect((await raw(d.port, 'POST', '/api/dispatch', {}, task)).status).toBe(202);
    // Reads with the cookie need no CSRF header.
    expect((await raw(d.port, 'GET', '/api/tasks', { cookie })).status).toBe(200);
  });

  it('refuses cross-site writes and any request naming a Host that is not loopback (DNS rebinding)', async () => {
    const task = JSON.stringify({ agent: 'a', prompt: d.prompt({ out: 'x' }) });
    const cross = await raw(d.port, 'POST', '/api/dispatch', { origin: 'http://evil.example' }, task);
    expect(cross.status).toBe(403);
    expect(errorCode(cross.body)).toBe('TET_ERR_HTTP_CROSS_SITE');
    for (const [method, path] of [['GET', '/api/tasks'], ['POST', '/api/dispatch'], ['GET', '/dashboard'], ['GET', '/dashboard/api/session']] as const) {
      const res = await raw(d.port, method, path, { host: `evil.example:${d.port}`, origin: `http://evil.example:${d.port}` }, method === 'POST' ? task : undefined);
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(errorCode(res.body)).toBe('TET_ERR_HTTP_CROSS_SITE');
    }
    for (const host of [`localhost:${d.port}`, `127.0.0.1:${d.port}`]) expect((await raw(d.port, 'GET', '/api/tasks', { host })).status, host).toBe(200);
  });

  it('login answers 204 (nothing to log into) and sets the CSRF cookie', async () => {
    const r = await login(d, 'anything');
    expect(r.status).toBe(204);
    expect(cookieOf(r.setCookie)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('with the UI not built, /dashboard is a 503 saying to run npm run build (HTML for a browser, JSON otherwise)', async () => {
    const html = await raw(d.port, 'GET', '/dashboard/tasks/x', { accept: 'text/html,application/xhtml+xml' });
    expect(html.status).toBe(503);
    expect(html.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(html.body).toContain('npm run build');
    expect(html.body).toContain('TET_ERR_DASHBOARD_NOT_BUILT');
    expect(html.headers['content-security-policy']).toContain("default-src 'self'");
    const json = await raw(d.port, 'GET', '/dashboard');
    expect(json.status).toBe(503);
    expect(errorCode(json.body)).toBe('TET_ERR_DASHBOARD_NOT_BUILT');
    expect(JSON.parse(json.body).error.message).toContain('npm run build');
    // The API works without it.
    expect((await raw(d.port, 'GET', '/api/overview')).status).toBe(200);
  });
});
