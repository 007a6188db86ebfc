/**
 * Issue 15, the API routes the dashboard's pages call, against the real daemon: GET /api/overview,
 * GET /api/agents/:name (config without secrets, soul preview), GET /api/cost/daily (seeded runs and
 * tokens per UTC day, agent and provider), GET /api/worktrees + POST /api/worktrees/prune (the prune
 * decision with its reasons, as `tetora worktree prune --json` reports it), POST /api/tasks/:id/retry.
 */
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaemonHarness } from '../helpers/daemon.js';
import { GIT_ENV, makeRepo } from '../helpers/worktree-repo.js';

const WT_AGENT = resolve(import.meta.dirname, '../helpers/worktree-agent.mjs');
const SECRET = 'provider-secret-value-0123456789';

let d: DaemonHarness;
let repo: string;

beforeAll(async () => {
  repo = makeRepo();
  d = await DaemonHarness.create({
    dailyBudget: 25,
    providers: {
      fake: { type: 'command', path: process.execPath, args: [resolve(import.meta.dirname, '../helpers/fake-agent.mjs')], env: { SOME_KEY: SECRET } },
      wt: { type: 'command', path: process.execPath, args: [WT_AGENT] },
    },
    agents: {
      a: { provider: 'fake', dailyBudget: 5, description: 'agent a', maxTasksPerAgent: 2 },
      b: { provider: 'fake' },
      coder: { provider: 'wt', worktree: true, workdir: repo },
    },
  });
  // agents/a/SOUL.md: longer than the 4 KiB preview, with a 3-byte character across the cut.
  mkdirSync(join(d.home, 'agents', 'a'), { recursive: true });
  writeFileSync(join(d.home, 'agents', 'a', 'SOUL.md'), `# Soul of a\n${'x'.repeat(4096 - 12 - 1)}€ and more after the cut`);
  await d.start({ env: GIT_ENV });
});

afterAll(async () => {
  await d.stop();
});

describe('GET /api/overview', () => {
  it('health, load per agent, cost against the budgets, recent failures with their reason, Discord state', async () => {
    const failing = await d.dispatch({ agent: 'a', prompt: d.prompt({ exit: 2, stderr: 'the tool broke' }), maxAttempts: 1 });
    const ok = await d.dispatch({ agent: 'b', prompt: d.prompt({ out: 'fine' }) });
    await d.waitTerminal([failing.body.id as string, ok.body.id as string]);
    const { status, body } = await d.json<{
      health: { version: string; uptimeS: number; store: string; draining: boolean };
      agents: Array<{ name: string; running: number; queued: number; maxTasks: number | null }>;
      cost: { todayUsd: number; dailyBudgetUsd: number | null; perAgent: Array<{ agent: string; todayUsd: number; dailyBudgetUsd: number | null }> };
      recentFailures: Array<{ id: string; agent: string; status: string; error: string; endedAt: string }>;
      discord: { enabled: boolean; connected: boolean; state: string };
    }>('/api/overview');
    expect(status).toBe(200);
    expect(body.health).toMatchObject({ store: 'ok', draining: false, version: expect.any(String) });
    expect(body.health.uptimeS).toBeGreaterThanOrEqual(0);
    expect(body.agents.map((a) => a.name)).toEqual(['a', 'b', 'coder']);
    expect(body.agents.find((a) => a.name === 'a')).toMatchObject({ running: 0, queued: 0, maxTasks: 2 });
    expect(body.cost.dailyBudgetUsd).toBe(25);
    expect(body.cost.perAgent.find((p) => p.agent === 'a')).toMatchObject({ dailyBudgetUsd: 5, todayUsd: expect.any(Number) });
    const f = body.recentFailures.find((x) => x.id === failing.body.id);
    expect(f).toMatchObject({ agent: 'a', status: 'failed' });
    expect(f?.error).toContain('the tool broke');
    expect(new Date(f?.endedAt as string).getTime()).toBeGreaterThan(0);
    expect(body.recentFailures.map((x) => x.id)).not.toContain(ok.body.id);
    expect(body.discord).toMatchObject({ enabled: false, connected: false });
  });
});

describe('GET /api/agents/:name', () => {
  it("the agent's config, load and the first 4 KiB of its soul file (a character cut at the limit dropped); no provider secrets", async () => {
    const { status, body } = await d.json<Record<string, unknown>>('/api/agents/a');
    expect(status).toBe(200);
    expect(body).toMatchObject({ name: 'a', provider: 'fake', providerType: 'command', description: 'agent a', maxTasksPerAgent: 2, dailyBudgetUsd: 5, running: 0, queued: 0, configured: true, soulTruncated: true });
    const preview = body.soulPreview as string;
    expect(preview.startsWith('# Soul of a\n')).toBe(true);
    expect(Buffer.byteLength(preview)).toBeLessThanOrEqual(4096);
    expect(preview).not.toContain('\uFFFD');
    expect(preview).not.toContain('after the cut');
    expect(JSON.stringify(body)).not.toContain(SECRET);
    const b = await d.json<Record<string, unknown>>('/api/agents/b');
    expect(b.body).toMatchObject({ name: 'b', soulPreview: null, soulTruncated: false });
    const coder = await d.json<Record<string, unknown>>('/api/agents/coder');
    expect(coder.body).toMatchObject({ worktree: true, workdir: repo });
  });

  it('an unknown agent is 404 naming the known ones', async () => {
    const { status, body } = await d.json<{ error: { code: string; message: string } }>('/api/agents/nobody');
    expect(status).toBe(404);
    expect(body.error.code).toBe('TET_ERR_HTTP_NOT_FOUND');
    expect(body.error.message).toContain('a, b, coder');
  });
});

describe('GET /api/cost/daily', () => {
  it('sums seeded runs (by the day each run ended) and tokens (by the day each task ended) per UTC day, agent and provider', async () => {
    const day = 24 * 3600 * 1000;
    const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
    const db = new Database(join(d.home, 'tetora.db'));
    const seed = (agent: string, provider: string, endedAt: number, runs: number[], tokens: [number, number]) => {
      const id = randomUUID();
      db.prepare(`INSERT INTO tasks (id, source, agent, provider, prompt, status, max_attempts, created_at, updated_at, finished_at, tokens_in, tokens_out, cost_usd)
        VALUES (?, 'http', ?, ?, 'seed', 'succeeded', 1, ?, ?, ?, ?, ?, ?)`).run(id, agent, provider, endedAt, endedAt, endedAt, tokens[0], tokens[1], runs.reduce((a, b) => a + b, 0));
      runs.forEach((c, i) => db.prepare(`INSERT INTO task_runs (task_id, run, attempt, instance_id, provider, started_at, ended_at, outcome, cost_usd) VALUES (?, ?, 1, 'seed', ?, ?, ?, 'succeeded', ?)`).run(id, i + 1, provider, endedAt - 1000, endedAt, c));
    };
    try {
      seed('a', 'fake', today - 2 * day + 3600_000, [0.5, 0.25], [100, 10]);
      seed('a', 'fake', today - 2 * day + 7200_000, [1], [50, 5]);
      seed('b', 'fake', today - 2 * day + 3600_000, [2], [0, 0]);
      seed('a', 'fake', today + 60_000, [0.125], [7, 3]);
      seed('a', 'fake', today - 40 * day, [9], [9, 9]);
    } finally {
      db.close();
    }
    const iso = (t: number) => new Date(t).toISOString().slice(0, 10);
    const { status, body } = await d.json<{ since: string; days: Array<{ day: string; agent: string; provider: string; costUsd: number; tokensIn: number; tokensOut: number }> }>('/api/cost/daily?days=30');
    expect(status).toBe(200);
    expect(body.since).toBe(iso(today - 29 * day));
    const seeded = body.days.filter((r) => r.costUsd > 0);
    expect(seeded).toEqual([
      { day: iso(today - 2 * day), agent: 'a', provider: 'fake', costUsd: 1.75, tokensIn: 150, tokensOut: 15 },
      { day: iso(today - 2 * day), agent: 'b', provider: 'fake', costUsd: 2, tokensIn: 0, tokensOut: 0 },
      { day: iso(today), agent: 'a', provider: 'fake', costUsd: 0.125, tokensIn: 7, tokensOut: 3 },
    ]);
    // The 40-day-old run shows with ?days=41, and today's money counts in the overview.
    expect((await d.json<{ days: Array<{ costUsd: number }> }>('/api/cost/daily?days=41')).body.days.some((r) => r.costUsd === 9)).toBe(true);
    const overview = await d.json<{ cost: { todayUsd: number; perAgent: Array<{ agent: string; todayUsd: number }> } }>('/api/overview');
    expect(overview.body.cost.todayUsd).toBeCloseTo(0.125);
    expect(overview.body.cost.perAgent.find((p) => p.agent === 'a')?.todayUsd).toBeCloseTo(0.125);
  });

  it('refuses a days value out of range', async () => {
    for (const q of ['days=0', 'days=367', 'days=x', 'days=1&days=2', 'weeks=2']) {
      const { status, body } = await d.json<{ error: { code: string } }>(`/api/cost/daily?${q}`);
      expect(status, q).toBe(400);
      expect(body.error.code).toBe('TET_ERR_HTTP_BAD_REQUEST');
    }
  });
});

describe('worktrees', () => {
  it('lists each worktree with what prune would do and why, and POST /api/worktrees/prune removes only what holds no work', async () => {
    const log = join(d.home, 'wt-log.jsonl');
    const clean = await d.dispatch({ agent: 'coder', prompt: `nothing to keep ${JSON.stringify({ log })}` });
    const dirty = await d.dispatch({ agent: 'coder', prompt: `leave a file ${JSON.stringify({ log, untracked: 1 })}` });
    const [c, w] = await d.waitTerminal([clean.body.id as string, dirty.body.id as string]);
    expect([c?.status, w?.status]).toEqual(['succeeded', 'succeeded']);

    type Row = { taskId: string; path: string; branch: string; state: string; lockHolder: string | null; sizeBytes: number | null; prune: { action: string; reason: string } };
    const list = await d.json<{ worktrees: Row[] }>('/api/worktrees');
    expect(list.status).toBe(200);
    const byTask = new Map(list.body.worktrees.map((r) => [r.taskId, r]));
    const cleanRow = byTask.get(clean.body.id as string);
    const dirtyRow = byTask.get(dirty.body.id as string);
    expect(cleanRow).toMatchObject({ state: 'idle', lockHolder: null, prune: { action: 'remove', reason: '' } });
    expect(cleanRow?.branch).toMatch(/^tetora\/coder\//);
    expect(cleanRow?.sizeBytes).toBeGreaterThan(0);
    expect(dirtyRow).toMatchObject({ state: 'idle', prune: { action: 'keep', reason: '1 uncommitted file' } });
    // Listing changed nothing.
    expect(existsSync(cleanRow?.path as string)).toBe(true);

    const dry = await d.json<{ dryRun: boolean; entries: Array<{ taskId: string; action: string; applied: boolean; reasons: string[] }> }>('/api/worktrees/prune', { method: 'POST', body: JSON.stringify({ dryRun: true }) });
    expect(dry.status).toBe(200);
    expect(dry.body.dryRun).toBe(true);
    expect(dry.body.entries.every((e) => !e.applied)).toBe(true);
    expect(existsSync(cleanRow?.path as string)).toBe(true);

    const real = await d.json<{ dryRun: boolean; entries: Array<{ taskId: string; action: string; applied: boolean; reasons: string[] }> }>('/api/worktrees/prune', { method: 'POST', body: '{}' });
    expect(real.status).toBe(200);
    expect(real.body.dryRun).toBe(false);
    const entry = (id: unknown) => real.body.entries.find((e) => e.taskId === id);
    expect(entry(clean.body.id)).toMatchObject({ action: 'remove', applied: true });
    expect(entry(dirty.body.id)).toMatchObject({ action: 'keep', applied: false, reasons: ['1 uncommitted file'] });
    expect(existsSync(cleanRow?.path as string)).toBe(false);
    expect(existsSync(dirtyRow?.path as string)).toBe(true);
    // The same report `tetora worktree prune --json` prints: its keys, from the CLI.
    const cli = await d.cli(['worktree', 'prune', '--dry-run', '--json']);
    expect(cli.code).toBe(0);
    const cliReport = JSON.parse(cli.stdout) as { dryRun: boolean; entries: Array<Record<string, unknown>> };
    expect(Object.keys(cliReport).sort()).toEqual(Object.keys(real.body).sort());
    expect(Object.keys(cliReport.entries[0] ?? {}).sort()).toEqual(Object.keys(entry(dirty.body.id) ?? {}).sort());
  });

  it('refuses a prune body that is not {dryRun: boolean}', async () => {
    for (const body of ['[]', '{"dryRun": "yes"}', '{"dry": true}']) {
      const res = await d.json<{ error: { code: string } }>('/api/worktrees/prune', { method: 'POST', body });
      expect(res.status, body).toBe(400);
      expect(res.body.error.code).toBe('TET_ERR_HTTP_BAD_REQUEST');
    }
  });
});

describe('POST /api/tasks/:id/retry', () => {
  it('runs a failed task again as a new task linked to it, once; other statuses are 409', async () => {
    const failing = await d.dispatch({ agent: 'a', prompt: d.prompt({ exit: 2, stderr: 'this prompt fails' }), maxAttempts: 1, priority: 3, name: 'job-1' });
    const [orig] = await d.waitTerminal([failing.body.id as string]);
    expect(orig?.status).toBe('failed');

    const res = await d.json<{ id: string; status: string; created: boolean; retryOf: string; task: { id: string; agent: string } }>(`/api/tasks/${orig?.id}/retry`, { method: 'POST' });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ created: true, retryOf: orig?.id, task: { agent: 'a' } });
    expect(res.body.id).not.toBe(orig?.id);
    // The same request ran again (the fake agent fails this prompt on every task's first run).
    const [retried] = await d.waitTerminal([res.body.id]);
    expect(retried).toMatchObject({ status: 'failed', prompt: orig?.prompt, priority: 3, maxAttempts: 1, source: 'http', runs: 1, options: { name: 'job-1' } });
    expect(retried?.error?.message).toContain('this prompt fails');
    const view = await d.json<{ links: { retryOf: { id: string } | null; retries: Array<{ id: string }> } }>(`/api/tasks/${res.body.id}`);
    expect(view.body.links.retryOf?.id).toBe(orig?.id);
    const origView = await d.json<{ links: { retries: Array<{ id: string; status: string }> } }>(`/api/tasks/${orig?.id}`);
    expect(origView.body.links.retries).toEqual([expect.objectContaining({ id: res.body.id, status: 'failed' })]);

    // A second click returns the first retry; nothing new is queued. The retry itself can be retried.
    const again = await d.json<{ id: string; created: boolean }>(`/api/tasks/${orig?.id}/retry`, { method: 'POST' });
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ id: res.body.id, created: false });
    const third = await d.json<{ id: string; created: boolean }>(`/api/tasks/${res.body.id}/retry`, { method: 'POST' });
    expect(third.body).toMatchObject({ created: true });
    expect(third.body.id).not.toBe(res.body.id);
    await d.waitTerminal([third.body.id]);

    const ok = await d.dispatch({ agent: 'b', prompt: d.prompt({ out: 'fine' }) });
    await d.waitTerminal([ok.body.id as string]);
    const notRetryable = await d.json<{ error: { code: string; details: { status: string } } }>(`/api/tasks/${ok.body.id}/retry`, { method: 'POST' });
    expect(notRetryable.status).toBe(409);
    expect(notRetryable.body.error).toMatchObject({ code: 'TET_ERR_TASK_NOT_RETRYABLE', details: { status: 'succeeded' } });
    const missing = await d.json<{ error: { code: string } }>(`/api/tasks/${randomUUID()}/retry`, { method: 'POST' });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('TET_ERR_TASK_NOT_FOUND');
  });
});
