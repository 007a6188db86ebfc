/**
 * The HTTP app's live route table (`buildApp(...).routes`) with every optional route family registered,
 * and the list of routes that answer without the token or a dashboard session: the security tests walk the
 * table, so a route added later cannot forget authentication.
 */
import type { AppDeps, RouteEntry } from '../../src/http/app.js';
import { buildApp } from '../../src/http/app.js';
import type { Engine } from '../../src/engine/engine.js';
import { Harness } from './engine-harness.js';

/**
 * The routes that answer without the bearer token or a session, and why:
 * - /healthz: the liveness probe (a service manager or load balancer holds no token); it says only "ok",
 *   the version and the commit.
 * - POST /api/triggers/webhook/:name: checks the token itself, or the trigger's HMAC signature over the raw
 *   body (a sender such as GitHub holds only the shared secret); without either it answers the same 401.
 * - The dashboard (issue 15): its page shell and built assets (no data in them), and its session endpoints:
 *   `session` says only whether a login is needed (and the caller's own CSRF token), `login` checks the
 *   token itself (throttled), `logout` revokes only the caller's own session (CSRF-checked).
 */
export const EXEMPT = [
  'GET /healthz',
  'HEAD /healthz',
  'POST /api/triggers/webhook/:name',
  'GET /dashboard',
  'HEAD /dashboard',
  'GET /dashboard/*',
  'HEAD /dashboard/*',
  'GET /dashboard/assets/*',
  'HEAD /dashboard/assets/*',
  'GET /dashboard/api/session',
  'HEAD /dashboard/api/session',
  'POST /dashboard/api/login',
  'POST /dashboard/api/logout',
];

/** A dependency that must never be touched: any property read throws. */
export function tripwire<T>(name: string): T {
  return new Proxy({}, {
    get(_t, prop) {
      throw new Error(`${name}.${String(prop)} was used: a handler ran`);
    },
  }) as T;
}

/** Deps with every optional family present (as tripwires), so every route is registered. */
export function allDeps(engine: Engine, token: string, bodyLimit?: number): AppDeps {
  return {
    engine,
    version: 't',
    apiToken: () => token,
    requestDrain: () => {
      throw new Error('requestDrain was called');
    },
    requestRestart: () => {
      throw new Error('requestRestart was called');
    },
    draining: () => false,
    ...(bodyLimit ? { bodyLimit } : {}),
    workflows: tripwire('workflows'),
    schedules: tripwire('schedules'),
    board: tripwire('board'),
    discord: () => {
      throw new Error('discord was called');
    },
    discordWake: () => {
      throw new Error('discordWake was called');
    },
  };
}

/** A concrete URL for a route pattern (`:param` → a plausible id). */
export function concrete(url: string): string {
  return url.replace(/:[A-Za-z]+/g, 'x1').replace(/\*$/, 'x1');
}

/** The whole route table of an app with every family, read once it is ready (then closed). */
export async function routeTable(): Promise<RouteEntry[]> {
  const h = new Harness();
  const engine = h.engine();
  const { app, routes } = buildApp(allDeps(engine, 'route-table-token'));
  await app.ready();
  await app.close();
  return routes;
}
