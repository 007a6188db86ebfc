/**
 * Issue 14, security tests: the bearer token on EVERY route, and the body limit on every body-taking route,
 * walked from the app's live route table (`buildApp(...).routes`, collected by an onRoute hook as the routes
 * are registered), so a route added later cannot forget either. The deps the optional route families need
 * (workflows, schedules, board, Discord, restart) are tripwires: any use of them throws, so a route that
 * reached its handler without the token would answer 500, not 401.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp, type RouteEntry } from '../../src/http/app.js';
import type { Engine } from '../../src/engine/engine.js';
import { Harness } from '../helpers/engine-harness.js';
import { DaemonHarness, TOKEN as DAEMON_TOKEN } from '../helpers/daemon.js';
import { EXEMPT, allDeps as depsWithToken, concrete } from '../helpers/route-table.js';
import { postRaw } from '../helpers/faults.js';

const TOKEN = 'sec-token-0123456789abcdef0123456789';

const BODY_LIMIT = 4096;

let engine: Engine;
let app: FastifyInstance;
let routes: RouteEntry[];

beforeAll(async () => {
  const h = new Harness();
  engine = h.engine();
  const built = buildApp(depsWithToken(engine, TOKEN, BODY_LIMIT));
  app = built.app;
  routes = built.routes;
  await app.ready();
});

afterAll(async () => {
  await app.close();
});

describe('the live route table', () => {
  it('lists every route family, and exactly the justified exemptions', () => {
    const keys = routes.map((r) => `${r.method} ${r.url}`);
    // The families the daemon serves: a broken collection (an empty table) must not pass silently.
    for (const k of ['POST /api/dispatch', 'GET /api/tasks/:id', 'POST /api/workflows/:name/run', 'POST /api/board', 'POST /api/route', 'POST /api/triggers/webhook/:name', 'GET /metrics']) {
      expect(keys, k).toContain(k);
    }
    expect(routes.length).toBeGreaterThan(40);
    expect(routes.filter((r) => r.exempt !== false).map((r) => `${r.method} ${r.url}`).sort()).toEqual([...EXEMPT].sort());
  });
});

describe('every non-exempt route', () => {
  const cases = (): RouteEntry[] => routes.filter((r) => r.exempt === false);

  it.each([
    ['no Authorization header', undefined, 'no Authorization header'],
    ['a wrong token', `Bearer ${TOKEN}x`, 'wrong token'],
    ['a token of another length', 'Bearer short', 'wrong token'],
    ['another scheme', `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}`, 'not a Bearer token'],
  ])('answers 401 TET_ERR_HTTP_UNAUTHORIZED with %s, before its handler runs', async (_label, authorization, reason) => {
    const failures: string[] = [];
    for (const r of cases()) {
      const hasBody = !['GET', 'HEAD', 'DELETE', 'OPTIONS'].includes(r.method);
      const res = await app.inject({
        method: r.method as 'GET',
        url: concrete(r.url),
        headers: { ...(authorization ? { authorization } : {}), ...(hasBody ? { 'content-type': 'application/json' } : {}) },
        ...(hasBody ? { payload: '{}' } : {}),
      });
      if (res.statusCode !== 401) {
        failures.push(`${r.method} ${r.url} → ${res.statusCode} ${res.body.slice(0, 200)}`);
        continue;
      }
      if (r.method === 'HEAD') continue;
      const body = res.json<{ error: { code: string; details: { reason: string } } }>();
      if (body.error.code !== 'TET_ERR_HTTP_UNAUTHORIZED' || body.error.details.reason !== reason) failures.push(`${r.method} ${r.url} → ${res.body}`);
      if (res.headers['www-authenticate'] !== 'Bearer realm="tetora"') failures.push(`${r.method} ${r.url}: no WWW-Authenticate`);
    }
    expect(failures).toEqual([]);
    expect(cases().length).toBeGreaterThan(40);
  });

  it('gets past the token check with the right token (the 401s above are the token check, not the route)', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/tasks', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.statusCode).toBe(200);
    // A tripwire family: with the token, its handler runs and reaches the dep (500 naming it).
    const wf = await app.inject({ method: 'POST', url: '/api/workflows/x1/run', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, payload: '{}' });
    expect(wf.statusCode).toBe(500);
  });
});

describe('the exempt routes', () => {
  it('/healthz answers without a token (503 here: the engine of this app is not started, so not ready)', async () => {
    const res = await app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).not.toBe(401);
    expect(res.body).not.toContain('TET_ERR_HTTP_UNAUTHORIZED');
  });

  it('a path that only resembles /healthz is not exempt', async () => {
    for (const url of ['/healthz/', '/api/tasks?x=/healthz', '/healthz/../api/tasks']) {
      const res = await app.inject({ method: 'GET', url });
      expect([401, 404], url).toContain(res.statusCode);
    }
  });
});

describe('body limits', () => {
  it('an oversized body is 413 TET_ERR_HTTP_BODY_TOO_LARGE naming the limit on every body-taking route', async () => {
    const big = JSON.stringify({ prompt: 'x'.repeat(BODY_LIMIT * 2) });
    const failures: string[] = [];
    const bodyRoutes = routes.filter((r) => ['POST', 'PUT', 'PATCH'].includes(r.method));
    for (const r of bodyRoutes) {
      const res = await app.inject({ method: r.method as 'POST', url: concrete(r.url), headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, payload: big });
      const body = res.statusCode === 413 ? res.json<{ error: { code: string; message: string; details: { limitBytes: number } } }>() : undefined;
      if (!body || body.error.code !== 'TET_ERR_HTTP_BODY_TOO_LARGE' || body.error.details.limitBytes !== BODY_LIMIT || !body.error.message.includes('4 KiB')) {
        failures.push(`${r.method} ${r.url} → ${res.statusCode} ${res.body.slice(0, 200)}`);
      }
    }
    expect(failures).toEqual([]);
    expect(bodyRoutes.map((r) => r.url)).toEqual(expect.arrayContaining(['/api/dispatch', '/api/workflows/:name/run', '/api/board', '/api/route', '/api/triggers/webhook/:name']));
  });
});

describe('the real daemon', () => {
  let d: DaemonHarness;
  beforeAll(async () => {
    d = await DaemonHarness.create();
    await d.start();
  });
  afterAll(async () => {
    d.kill('SIGTERM');
    await d.exited();
  });

  it('refuses a body over its 10 MiB default with 413 on each body-taking family (dispatch, workflow run, board, route, webhook)', async () => {
    const big = JSON.stringify({ agent: 'a', prompt: 'x'.repeat(10 * 1024 * 1024 + 16) });
    for (const path of ['/api/dispatch', '/api/workflows/w1/run', '/api/board', '/api/route', '/api/triggers/webhook/t1']) {
      const res = await postRaw(d.port, path, big, DAEMON_TOKEN);
      expect(res.status, path).toBe(413);
      const body = JSON.parse(res.body) as { error: { code: string; details: { limitBytes: number } } };
      expect(body.error.code, path).toBe('TET_ERR_HTTP_BODY_TOO_LARGE');
      expect(body.error.details.limitBytes).toBe(10 * 1024 * 1024);
    }
  });

  it('answers 401 without the token on a sample of every family (the daemon sets apiToken)', async () => {
    const sample: Array<[string, string]> = [['GET', '/api/tasks'], ['POST', '/api/dispatch'], ['GET', '/api/workflows'], ['GET', '/api/board'], ['GET', '/metrics'], ['GET', '/api/config']];
    for (const [method, path] of sample) {
      const res = await d.fetch(path, { method, token: null, ...(method === 'POST' ? { body: '{}' } : {}) });
      expect(res.status, `${method} ${path}`).toBe(401);
    }
    expect((await d.fetch('/healthz', { token: null })).status).toBe(200);
  });
});
