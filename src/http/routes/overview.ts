import { closeSync, openSync, readSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { TetoraError, messageOf } from '../../errors.js';
import { DashboardStore } from '../../store/dashboard.js';
import type { ResolvedAgent } from '../../config/types.js';
import type { AppDeps } from '../deps.js';
import { noQuery, parseQuery } from '../query.js';

/** How much of a soul file the agent page shows. */
export const SOUL_PREVIEW_BYTES = 4096;

const daysQuery = z
  .object({
    days: z
      .string({ error: (iss) => (Array.isArray(iss.input) ? `is given ${iss.input.length} times; give it once` : 'must be a whole number from 1 to 366') })
      .regex(/^\d+$/, { message: 'must be a whole number from 1 to 366' })
      .transform(Number)
      .refine((n) => n >= 1 && n <= 366, { message: 'must be a whole number from 1 to 366' })
      .optional(),
  })
  .strict();

/** 00:00 UTC of the day `daysBack` days before the day of `now` (epoch ms). Pure. */
export function utcDayStart(now: number, daysBack = 0): number {
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - daysBack);
}

/** The first `max` bytes of a file (and whether there was more), or null when it cannot be read. */
export function filePreview(path: string, max: number): { text: string; truncated: boolean; error?: string } | null {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const buf = Buffer.alloc(max + 1);
    const n = readSync(fd, buf, 0, max + 1, 0);
    const cut = buf.subarray(0, Math.min(n, max));
    // Cut at the byte limit: a character split there is dropped, not shown as U+FFFD.
    return { text: new TextDecoder('utf-8', { fatal: false }).decode(trimPartialUtf8(cut)), truncated: n > max };
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? null : { text: '', truncated: false, error: messageOf(err) };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Drops a UTF-8 sequence cut off at the end of `b`. Pure. */
export function trimPartialUtf8(b: Buffer): Buffer {
  let i = b.length - 1;
  let cont = 0;
  while (i >= 0 && cont < 3 && ((b[i] as number) & 0xc0) === 0x80) {
    i--;
    cont++;
  }
  if (i < 0) return b;
  const lead = b[i] as number;
  const need = lead >= 0xf0 ? 3 : lead >= 0xe0 ? 2 : lead >= 0xc0 ? 1 : 0;
  return need > cont ? b.subarray(0, i) : b;
}

/** An agent as the dashboard shows it: its config without secrets (providers are named, never shown). Pure. */
export function agentConfigView(a: ResolvedAgent): Record<string, unknown> {
  return {
    name: a.name,
    description: a.description,
    provider: a.provider,
    model: a.model ?? null,
    maxTasksPerAgent: a.maxTasksPerAgent ?? null,
    workdir: a.workdir ?? null,
    worktree: a.worktree,
    worktreeCleanup: a.worktreeCleanup,
    baseBranch: a.baseBranch ?? null,
    permissionMode: a.permissionMode,
    timeoutMs: a.timeoutMs ?? null,
    budgetUsd: a.budget ?? null,
    dailyBudgetUsd: a.dailyBudget ?? null,
    keywords: a.keywords,
    fallbackProviders: a.fallbackProviders,
    allowedTools: a.allowedTools,
    addDirs: a.addDirs,
    allowedDirs: a.allowedDirs ?? null,
    maxTurns: a.maxTurns ?? null,
    soulFile: a.soulFile ?? null,
  };
}

/**
 * The dashboard's summary routes: `GET /api/overview` (health, load per agent, today's cost against the
 * daily budgets, recent failures, Discord), `GET /api/agents/:name` (config, load, soul preview) and
 * `GET /api/cost/daily?days=30` (cost and tokens per UTC day, agent and provider).
 */
export function registerOverviewRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { engine } = deps;
  let store: DashboardStore | undefined;
  const s = () => (store ??= new DashboardStore(engine.db));
  const started = Date.now() - Math.round(process.uptime() * 1000);

  app.get('/api/overview', async (req) => {
    parseQuery(noQuery, req.query);
    const cfg = engine.config;
    const now = Date.now();
    const health = engine.storeHealth();
    const stats = engine.stats();
    const since = utcDayStart(now);
    const names = [...new Set([...Object.keys(cfg.agents), ...stats.agents.map((a) => a.agent)])].sort();
    let discord: ReturnType<NonNullable<AppDeps['discord']>> | undefined;
    try {
      discord = deps.discord?.();
    } catch {
      discord = undefined;
    }
    return {
      health: {
        version: deps.version,
        uptimeS: Math.floor((now - started) / 1000),
        store: health.ok ? 'ok' : (health.code ?? 'refusing writes'),
        ...(health.ok ? {} : { storeReason: health.reason ?? null, storeFix: health.fix ?? null }),
        state: engine.state,
        draining: deps.draining(),
        running: stats.running,
        queued: stats.queued,
        maxConcurrent: cfg.maxConcurrent,
      },
      agents: stats.agents
        .map((a) => ({ name: a.agent, running: a.running, queued: a.queued, waiting: a.waiting, maxTasks: a.maxTasksPerAgent, configured: cfg.agents[a.agent] !== undefined }))
        .sort((a, b) => a.name.localeCompare(b.name)),
      cost: {
        day: new Date(since).toISOString().slice(0, 10),
        todayUsd: engine.store.spentSince(since),
        dailyBudgetUsd: cfg.dailyBudget ?? null,
        perAgent: names.map((agent) => ({ agent, todayUsd: engine.store.spentSince(since, agent), dailyBudgetUsd: cfg.agents[agent]?.dailyBudget ?? null })),
      },
      recentFailures: s()
        .recentFailures(10)
        .map((f) => ({ id: f.id, agent: f.agent, status: f.status, error: f.error, errorClass: f.errorClass, endedAt: f.endedAt === null ? null : new Date(f.endedAt).toISOString() })),
      discord: discord
        ? { enabled: discord.enabled, connected: discord.connected, state: discord.state, detail: discord.reason, fix: discord.fix }
        : { enabled: false, connected: false, state: 'disabled', detail: 'no discord block in the config', fix: null },
    };
  });

  app.get('/api/agents/:name', async (req) => {
    parseQuery(noQuery, req.query);
    const { name } = req.params as { name: string };
    const cfg = engine.config;
    const def = cfg.agents[name];
    const load = engine.stats().agents.find((a) => a.agent === name);
    if (!def && !load) {
      throw new TetoraError('TET_ERR_HTTP_NOT_FOUND', `no agent "${name}" in the config; GET /api/agents lists them (${Object.keys(cfg.agents).sort().join(', ') || 'none configured'}).`, { agent: name });
    }
    const preview = def?.soulFile ? filePreview(def.soulFile, SOUL_PREVIEW_BYTES) : null;
    return {
      ...(def ? agentConfigView(def) : { name, provider: null, model: null, soulFile: null }),
      configured: def !== undefined,
      providerType: def ? (cfg.providers[def.provider]?.type ?? null) : null,
      running: load?.running ?? 0,
      queued: load?.queued ?? 0,
      waiting: load?.waiting ?? 0,
      soulPreview: preview && !preview.error ? preview.text : null,
      soulTruncated: preview?.truncated ?? false,
      ...(preview?.error ? { soulError: preview.error } : {}),
    };
  });

  app.get('/api/cost/daily', async (req) => {
    const q = parseQuery(daysQuery, req.query);
    const days = q.days ?? 30;
    const since = utcDayStart(Date.now(), days - 1);
    return { since: new Date(since).toISOString().slice(0, 10), days: s().dailyCost(since) };
  });
}
