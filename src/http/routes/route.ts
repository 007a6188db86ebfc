import type { FastifyInstance } from 'fastify';
import { TetoraError } from '../../errors.js';
import type { RouteHints } from '../../routing/tiers.js';
import type { AppDeps } from '../deps.js';
import { taskJson } from '../serialize.js';

/** The fields of `POST /api/route` that say where a request comes from (the rest is the task request). */
const WHERE = ['source', 'channel', 'user', 'guild', 'run'] as const;

/**
 * The body of `POST /api/route`: `{prompt, source?, channel?, user?, guild?, run?}` plus any task field
 * (agent, sessionKey, model, …). `source` is what bindings call `channel` (discord, http, …); `channel`,
 * `user` and `guild` are the ids they match. Pure.
 */
export function routeRequestOf(body: unknown): { input: Record<string, unknown>; source: string; hints: RouteHints; run: boolean } {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new TetoraError('TET_ERR_TASK_INVALID', 'send a JSON object with at least a "prompt" (and optionally "source", "channel", "user", "guild", "run").', { field: '(body)' });
  }
  const b = body as Record<string, unknown>;
  for (const k of ['source', 'channel', 'user', 'guild'] as const) {
    if (b[k] !== undefined && (typeof b[k] !== 'string' || b[k] === '')) {
      throw new TetoraError('TET_ERR_TASK_INVALID', `${k} is ${JSON.stringify(b[k])}: expected a non-empty string.`, { field: k });
    }
  }
  if (b.run !== undefined && typeof b.run !== 'boolean') throw new TetoraError('TET_ERR_TASK_INVALID', `run is ${JSON.stringify(b.run)}: expected true or false.`, { field: 'run' });
  const input = Object.fromEntries(Object.entries(b).filter(([k]) => !(WHERE as readonly string[]).includes(k)));
  const source = (b.source as string | undefined) ?? 'http';
  const hints: RouteHints = { channel: source };
  if (b.channel !== undefined) hints.channelId = b.channel as string;
  if (b.user !== undefined) hints.userId = b.user as string;
  if (b.guild !== undefined) hints.guildId = b.guild as string;
  return { input, source, hints, run: b.run === true };
}

export function registerRouteRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { engine } = deps;
  /**
   * The agent smart dispatch chooses for a prompt: `{agent, method, confidence, reason, classifierTasks?}`.
   * Nothing runs but the classifier (when the tiers fall through to it). `run: true` also dispatches the
   * task (as `tetora dispatch` would, without an agent) and answers once it is routed, with `task`.
   */
  app.post('/api/route', async (req) => {
    if (deps.draining()) throw new TetoraError('TET_ERR_HTTP_DRAINING', 'the daemon is draining and accepts no new tasks; retry after it restarts.', { retryAfterSeconds: 30 });
    const { input, source, hints, run } = routeRequestOf(req.body);
    if (!run) return { ...(await engine.route(input, { source, routeHints: hints }, deps.shutdown)) };
    const taskSource = req.headers['x-tetora-source'] === 'cli' ? 'cli' : 'http';
    if (!engine.config.smartDispatch?.enabled) await engine.route(input, { source, routeHints: hints }); // throws TET_ERR_ROUTE_DISABLED
    const accepted = await engine.enqueueGrouped([input], { source: taskSource, routeHints: hints });
    const task = (accepted[0] as (typeof accepted)[number]).task;
    const routed = await engine.routed(task.id, deps.shutdown);
    const route = JSON.parse(routed.route ?? 'null') as Record<string, unknown> | null;
    return { ...(route ?? { agent: routed.agent, method: 'explicit', confidence: 'high', reason: `the request named agent ${routed.agent}` }), task: taskJson(routed) };
  });
}
