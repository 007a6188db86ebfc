import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.js';
import type { Metrics } from '../metrics.js';

export function registerInfoRoutes(app: FastifyInstance, deps: AppDeps, metrics: Metrics): void {
  const { engine } = deps;

  /** Liveness: no token needed. 503 while draining, so a load balancer stops sending work. */
  app.get('/healthz', async (_req, reply) => {
    const ok = engine.state === 'running' && !deps.draining();
    return reply.status(ok ? 200 : 503).send({ status: ok ? 'ok' : engine.state === 'running' ? 'draining' : engine.state, version: deps.version, ...(deps.commit ? { commit: deps.commit } : {}), instance: engine.instanceId });
  });

  /**
   * Health: `status` is `ok` only while the engine runs and the store both reads and accepts writes. While
   * the store refuses writes, `store` says why (`code`, `reason`, `fix`) and since when (`since`, epoch ms);
   * `scheduler.running` still counts runs whose results wait for the store (their slots stay taken).
   */
  app.get('/api/health', async () => {
    const health = engine.storeHealth();
    let store: { ok: boolean; error?: string; code?: string; fix?: string; since?: number; recoveries: number } = health.ok
      ? { ok: true, recoveries: health.recoveries }
      : { ok: false, error: health.reason ?? 'the store refuses writes', ...(health.code ? { code: health.code } : {}), ...(health.fix ? { fix: health.fix } : {}), ...(health.since !== undefined ? { since: health.since } : {}), recoveries: health.recoveries };
    try {
      engine.store.lastEventSeq();
    } catch (err) {
      store = { ...store, ok: false, error: (err as Error).message };
    }
    let stats: ReturnType<typeof engine.stats> | undefined;
    try {
      stats = engine.stats();
    } catch {
      /* the store cannot be read: store.ok says so */
    }
    const cfg = engine.config;
    let discord: ReturnType<NonNullable<typeof deps.discord>> | undefined;
    try {
      discord = deps.discord?.();
    } catch {
      /* the store cannot be read: store.ok says so */
    }
    return {
      status: store.ok && engine.state === 'running' && !deps.draining() ? 'ok' : 'degraded',
      version: deps.version,
      ...(deps.commit ? { commit: deps.commit } : {}),
      instance: engine.instanceId,
      pid: process.pid,
      store,
      scheduler: { state: deps.draining() ? 'draining' : engine.state, running: stats?.running ?? null, queued: stats?.queued ?? null, maxConcurrent: cfg.maxConcurrent, byStatus: stats?.byStatus ?? {} },
      providers: Object.values(cfg.providers).map((p) => ({ name: p.name, type: p.type, maxConcurrent: p.maxConcurrent ?? null })),
      // Discord being down does not make the daemon degraded: HTTP and every other source keep working.
      ...(discord ? { discord: { enabled: discord.enabled, connected: discord.connected, state: discord.state, reason: discord.reason, fix: discord.fix } } : {}),
    };
  });

  app.get('/api/agents', async () => {
    const stats = engine.stats();
    const cfg = engine.config;
    return {
      agents: stats.agents.map((a) => {
        const def = cfg.agents[a.agent];
        return {
          name: a.agent,
          description: def?.description ?? '',
          provider: def?.provider ?? null,
          model: def?.model ?? null,
          maxTasksPerAgent: a.maxTasksPerAgent,
          running: a.running,
          queued: a.queued,
          waiting: a.waiting,
          configured: def !== undefined,
        };
      }),
    };
  });

  app.get('/metrics', async (_req, reply) => {
    const text = await metrics.registry.metrics();
    return reply.header('content-type', metrics.registry.contentType).send(text);
  });
}
