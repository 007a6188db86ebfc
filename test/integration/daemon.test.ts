import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DaemonHarness, daemonPool, readSse, runCli, TOKEN } from '../helpers/daemon.js';
import { intervals, parentOf, processAlive, waitUntil } from '../helpers/engine-harness.js';

const pool = daemonPool();
const daemon = pool.start;

const started = (d: DaemonHarness, taskId?: string) => d.log().filter((l) => l.event === 'start' && (!taskId || l.taskId === taskId));

describe('daemon: HTTP API', () => {
  it('a client that disconnects during ?wait=true does not stop its task, which ends succeeded', async () => {
    const d = await daemon();
    const ctl = new AbortController();
    const pending = d.fetch('/api/dispatch?wait=true', { method: 'POST', body: JSON.stringify({ agent: 'a', prompt: d.prompt({ sleepMs: 1500, out: 'finished anyway' }) }), signal: ctl.signal });
    pending.catch(() => {});
    await waitUntil(() => started(d).length === 1);
    ctl.abort();
    await expect(pending).rejects.toThrow();
    const taskId = started(d)[0]!.taskId;
    const [t] = await d.waitTerminal([taskId]);
    expect(t!.status).toBe('succeeded');
    expect(t!.output).toBe('finished anyway');
    expect(started(d).length).toBe(1);
  });

  it('?wait=true answers 200 with the full output once the tasks end; without it, 202 at once', async () => {
    const d = await daemon();
    const waited = await d.dispatch({ agent: 'a', prompt: d.prompt({ out: 'the answer' }) }, '?wait=true');
    expect(waited.status).toBe(200);
    expect(waited.body.tasks[0]!.status).toBe('succeeded');
    expect(waited.body.tasks[0]!.output).toBe('the answer');
    const batch = await d.dispatch({ tasks: [{ agent: 'a', prompt: d.prompt({ sleepMs: 300 }) }, { agent: 'b', prompt: d.prompt({}) }] });
    expect(batch.status).toBe(202);
    expect(batch.body.tasks.map((t) => t.status)).toEqual(['queued', 'queued']);
    const done = await d.waitTerminal(batch.body.tasks.map((t) => t.id));
    expect(done.map((t) => t.status)).toEqual(['succeeded', 'succeeded']);
  });

  it('refuses requests without the token or with a wrong one (401), keeps /healthz public, and names the bad field (400)', async () => {
    const d = await daemon();
    const none = await d.json<{ error: { code: string; message: string } }>('/api/tasks', { token: null });
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('TET_ERR_HTTP_UNAUTHORIZED');
    expect(none.body.error.message).toContain('Authorization: Bearer');
    const wrong = await d.json<{ error: { code: string; message: string } }>('/api/dispatch', { token: `${TOKEN}x`, method: 'POST', body: '{"prompt":"x"}' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.message).toContain('wrong');
    expect((await d.fetch('/healthz', { token: null })).status).toBe(200);

    const badPriority = await d.json<{ error: { code: string; message: string; details: Record<string, unknown> } }>('/api/dispatch', {
      method: 'POST',
      body: JSON.stringify({ agent: 'a', prompt: 'x', priority: 'high' }),
    });
    expect(badPriority.status).toBe(400);
    expect(badPriority.body.error.message).toContain('priority');
    const noPrompt = await d.json<{ error: { message: string } }>('/api/dispatch', { method: 'POST', body: JSON.stringify({ agent: 'a' }) });
    expect(noPrompt.status).toBe(400);
    expect(noPrompt.body.error.message).toContain('prompt');
    const unknownAgent = await d.json<{ error: { message: string } }>('/api/dispatch', { method: 'POST', body: JSON.stringify({ agent: 'nobody', prompt: 'x' }) });
    expect(unknownAgent.status).toBe(400);
    expect(unknownAgent.body.error.message).toContain('nobody');
    const missing = await d.json<{ error: { code: string } }>('/api/tasks/no-such-task');
    expect(missing.status).toBe(404);
    // Nothing was created by the refused requests.
    const list = await d.json<{ tasks: unknown[] }>('/api/tasks');
    expect(list.body.tasks).toEqual([]);
  });

  it('a repeated idempotency key (header or field) returns the same task and runs it once', async () => {
    const d = await daemon();
    const body = JSON.stringify({ agent: 'a', prompt: d.prompt({ sleepMs: 200 }) });
    const first = await d.json<{ id: string; tasks: Array<{ created: boolean }> }>('/api/dispatch', { method: 'POST', body, headers: { 'idempotency-key': 'k-1' } });
    const second = await d.json<{ id: string; tasks: Array<{ created: boolean }> }>('/api/dispatch', { method: 'POST', body, headers: { 'idempotency-key': 'k-1' } });
    expect(second.body.id).toBe(first.body.id);
    expect(first.body.tasks[0]!.created).toBe(true);
    expect(second.body.tasks[0]!.created).toBe(false);
    const viaField = await d.dispatch({ agent: 'a', prompt: d.prompt({}), idempotencyKey: 'k-2' });
    const again = await d.dispatch({ agent: 'a', prompt: d.prompt({}), idempotencyKey: 'k-2' });
    expect(again.body.id).toBe(viaField.body.id);
    await d.waitTerminal([first.body.id, viaField.body.id!]);
    expect(started(d, first.body.id).length).toBe(1);
    expect(started(d, viaField.body.id).length).toBe(1);
  });

  it('lists with filters and cursor pagination, shows one task with its attempts, cancels, and serves agents, health and metrics', async () => {
    const d = await daemon({ agents: { a: { provider: 'fake', maxTasksPerAgent: 2 }, b: { provider: 'fake' } } });
    const res = await d.dispatch([0, 1, 2, 3, 4].map((i) => ({ agent: i % 2 ? 'b' : 'a', prompt: d.prompt({ out: `n${i}` }) })));
    const ids = res.body.tasks.map((t) => t.id);
    await d.waitTerminal(ids);
    const page1 = await d.json<{ tasks: Array<{ id: string; agent: string }>; nextCursor: string | null }>('/api/tasks?limit=2&agent=a');
    expect(page1.body.tasks.length).toBe(2);
    expect(page1.body.tasks.every((t) => t.agent === 'a')).toBe(true);
    const page2 = await d.json<{ tasks: Array<{ id: string }>; nextCursor: string | null }>(`/api/tasks?limit=2&agent=a&cursor=${page1.body.nextCursor}`);
    expect(page2.body.tasks.length).toBe(1);
    expect(page2.body.nextCursor).toBeNull();
    const all = [...page1.body.tasks, ...page2.body.tasks].map((t) => t.id).sort();
    expect(all).toEqual([ids[0], ids[2], ids[4]].sort());
    const badStatus = await d.json<{ error: { message: string } }>('/api/tasks?status=bogus');
    expect(badStatus.status).toBe(400);
    expect(badStatus.body.error.message).toContain('bogus');

    const one = await d.json<{ output: string; attempts: Array<{ attempt: number; outcome: string }> }>(`/api/tasks/${ids[1]}`);
    expect(one.body.output).toBe('n1');
    expect(one.body.attempts).toMatchObject([{ attempt: 1, outcome: 'success' }]);

    const slow = await d.dispatch({ agent: 'a', prompt: d.prompt({ sleepMs: 30_000 }) });
    await waitUntil(() => started(d, slow.body.id).length === 1);
    const cancel = await d.json<{ status: string }>(`/api/tasks/${slow.body.id}/cancel`, { method: 'POST' });
    expect(cancel.status).toBeLessThan(300);
    const [cancelled] = await d.waitTerminal([slow.body.id!]);
    expect(cancelled!.status).toBe('cancelled');
    expect(cancelled!.error?.message).toBeTruthy();

    const agents = await d.json<{ agents: Array<{ name: string; maxTasksPerAgent: number | null; running: number; queued: number }> }>('/api/agents');
    expect(agents.body.agents.find((a) => a.name === 'a')).toMatchObject({ maxTasksPerAgent: 2, running: 0, queued: 0 });
    expect(agents.body.agents.find((a) => a.name === 'b')).toMatchObject({ maxTasksPerAgent: null });
    const health = await d.json<{ status: string; store: { ok: boolean } }>('/api/health');
    expect(health.body).toMatchObject({ status: 'ok', store: { ok: true } });
    const metrics = await (await d.fetch('/metrics')).text();
    expect(metrics).toMatch(/tetora_tasks\{status="succeeded"\} 5/);
    expect(metrics).toMatch(/tetora_tasks\{status="cancelled"\} 1/);
  });

  it('streams one task live over SSE, replays from Last-Event-ID, and streams every task on /api/events', async () => {
    const d = await daemon();
    const all = await d.fetch('/api/events');
    const res = await d.dispatch({ agent: 'a', prompt: d.prompt({ sleepMs: 300, out: 'streamed' }) });
    const id = res.body.id!;
    const live = await readSse(await d.fetch(`/api/tasks/${id}/events`));
    expect(live.map((e) => e.event)).toEqual(expect.arrayContaining(['queued', 'running', 'succeeded']));
    expect(live.at(-1)!.event).toBe('succeeded');
    const seqs = live.map((e) => Number(e.id));
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    // Resume after the second event: exactly the rest, no duplicates.
    const rest = await readSse(await d.fetch(`/api/tasks/${id}/events`, { headers: { 'last-event-id': live[1]!.id! } }));
    expect(rest.map((e) => e.id)).toEqual(live.slice(2).map((e) => e.id));
    const global = await readSse(all, (e) => e.event === 'succeeded' && e.data.taskId === id);
    expect(global.filter((e) => e.data.taskId === id).map((e) => e.id)).toEqual(live.map((e) => e.id));
  });
});

describe('daemon: restarts, drain and reload', () => {
  it('after SIGKILL mid-run, a restarted daemon re-attaches to the running agents and finishes every task exactly once, and SSE replays the whole history', async () => {
    const d = await daemon({ maxConcurrent: 2 });
    const res = await d.dispatch([0, 1, 2, 3].map(() => ({ agent: 'a', prompt: d.prompt({ sleepMs: 1500 }) })));
    const ids = res.body.tasks.map((t) => t.id);
    await waitUntil(() => started(d).length === 2);
    d.kill('SIGKILL');
    await d.exited();
    const killedRuns = started(d).map((l) => l.taskId);

    await d.start();
    const done = await d.waitTerminal(ids);
    expect(done.map((t) => t.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    // The agents of the killed daemon were followed to their end by the next one: one run per task.
    const runs = intervals(d.log());
    for (const id of ids) {
      const mine = runs.filter((r) => r.taskId === id);
      expect(mine).toHaveLength(1);
      expect(mine[0]!.end).toBeDefined();
    }
    for (const t of done) expect(t).toMatchObject({ attempt: 1, runs: 1 });
    const history = await readSse(await d.fetch(`/api/tasks/${killedRuns[0]}/events`));
    const types = history.map((e) => e.event);
    expect(types.filter((t) => t === 'running').length).toBe(1);
    expect(types).toContain('adopted');
    expect(types).not.toContain('interrupted');
    expect(types.at(-1)).toBe('succeeded');
    expect(types[0]).toBe('queued');
  });

  it('SIGTERM drains: new work gets 503 with Retry-After, the daemon exits 0, and the interrupted task resumes at the next start without losing an attempt', async () => {
    const d = await daemon({ drainTimeout: '1500ms', maxConcurrent: 1 });
    const res = await d.dispatch([{ agent: 'a', prompt: d.prompt({ sleepMs: 3000 }) }, { agent: 'b', prompt: d.prompt({}) }]);
    const [longId, queuedId] = res.body.tasks.map((t) => t.id);
    await waitUntil(() => started(d, longId).length === 1);
    d.kill('SIGTERM');
    await waitUntil(() => d.hasLog('draining'));
    const refused = await d.json<{ error: { code: string } }>('/api/dispatch', { method: 'POST', body: JSON.stringify({ agent: 'a', prompt: 'x' }) });
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('TET_ERR_HTTP_DRAINING');
    expect(refused.headers.get('retry-after')).toBeTruthy();
    expect(await d.exited()).toBe(0);

    await d.start();
    const [long, queued] = await d.waitTerminal([longId!, queuedId!]);
    expect(long!.status).toBe('succeeded');
    expect(long!.attempt).toBe(1);
    expect(queued!.status).toBe('succeeded');
    expect(started(d, longId).length).toBe(2);
  });

  it('SIGHUP applies a lower per-agent cap without a restart, and refuses a broken config keeping the old one', async () => {
    const d = await daemon({ agents: { a: { provider: 'fake', maxTasksPerAgent: 4 } } });
    d.writeConfig({ ...readConfig(d), agents: { a: { provider: 'fake', maxTasksPerAgent: 1 } } });
    d.kill('SIGHUP');
    await waitUntil(() => d.hasLog('config reloaded'));
    const res = await d.dispatch([0, 1, 2].map(() => ({ agent: 'a', prompt: d.prompt({ sleepMs: 300 }) })));
    const ids = res.body.tasks.map((t) => t.id);
    expect((await d.waitTerminal(ids)).map((t) => t.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    const runs = intervals(d.log()).sort((x, y) => x.start - y.start);
    expect(runs).toHaveLength(3);
    for (let i = 1; i < runs.length; i++) expect(runs[i]!.start).toBeGreaterThanOrEqual(runs[i - 1]!.end!);
    expect((await d.json<{ agents: Array<{ maxTasksPerAgent: number }> }>('/api/agents')).body.agents[0]!.maxTasksPerAgent).toBe(1);

    d.writeConfig({ ...readConfig(d), maxConcurrent: 'many' });
    d.kill('SIGHUP');
    await waitUntil(() => d.hasLog('config reload refused'));
    const refusal = d.logs.find((l) => l.msg === 'config reload refused; the old config stays');
    expect(String(refusal?.err)).toContain('maxConcurrent');
    const after = await d.dispatch({ agent: 'a', prompt: d.prompt({ out: 'still serving' }) }, '?wait=true');
    expect(after.body.tasks[0]!.output).toBe('still serving');
    expect((await d.json<{ agents: Array<{ maxTasksPerAgent: number }> }>('/api/agents')).body.agents[0]!.maxTasksPerAgent).toBe(1);
  });
});

describe('daemon: shutdown with clients attached, and a second daemon', () => {
  it('SIGTERM ends open SSE streams and ?wait answers (202 with current states), then exits 0', async () => {
    const d = await daemon({ drainTimeout: '300ms' });
    const all = await d.fetch('/api/events');
    const waiting = d.fetch('/api/dispatch?wait=true', { method: 'POST', body: JSON.stringify({ agent: 'a', prompt: d.prompt({ sleepMs: 20_000 }) }) });
    await waitUntil(() => started(d).length === 1);
    const taskId = started(d)[0]!.taskId;
    const follow = await d.fetch(`/api/tasks/${taskId}/events`);
    d.kill('SIGTERM');
    const answer = await waiting;
    expect(answer.status).toBe(202);
    expect(((await answer.json()) as { tasks: Array<{ status: string }> }).tasks[0]!.status).toMatch(/^(running|interrupted)$/);
    const followed = await readSse(follow);
    expect(followed.at(-1)!.event).toBe('interrupted');
    const global = await readSse(all);
    expect(global.some((e) => e.event === 'interrupted')).toBe(true);
    expect(await d.exited()).toBe(0);
  });

  it('a second daemon on the same home refuses to start and leaves the running one and its tasks alone', async () => {
    const d = await daemon();
    const res = await d.dispatch({ agent: 'a', prompt: d.prompt({ sleepMs: 1500, out: 'undisturbed' }) });
    await waitUntil(() => started(d).length === 1);
    const second = await runCli(['--config', d.configPath, 'serve', '--listen', '127.0.0.1:0'], { TETORA_HOME: d.home });
    expect(second.code).not.toBe(0);
    expect(second.stderr).toContain(`another Tetora daemon (pid ${d.child!.pid}`);
    const [t] = await d.waitTerminal([res.body.id!]);
    expect(t).toMatchObject({ status: 'succeeded', output: 'undisturbed', runs: 1 });
  });

  it('tetora dispatch --wait keeps following across a daemon restart and exits with the outcome', async () => {
    const d = await daemon();
    const cli = d.cli(['dispatch', d.prompt({ sleepMs: 1500, out: 'survived' }), '--agent', 'a', '--wait']);
    await waitUntil(() => started(d).length === 1);
    d.kill('SIGKILL');
    await d.exited();
    await d.start();
    const r = await cli;
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('survived');
    expect(started(d)).toHaveLength(1); // the restarted daemon re-attached to the run: it ran once
  });
});

describe('daemon: signals during boot', () => {
  it('a SIGHUP while the daemon recovers orphans at boot is applied once it runs, instead of killing it', async () => {
    const d = await daemon();
    const res = await d.dispatch({ agent: 'a', prompt: d.prompt({ sleepMs: 60_000, ignoreTerm: true }) });
    await waitUntil(() => started(d).length === 1);
    d.kill('SIGKILL'); // the agent, detached and deaf to SIGTERM, outlives its daemon
    await d.exited();
    // Its launcher dies too, without recording an exit: the run cannot be re-attached to, so the boot
    // sweep kills the agent — waiting out its SIGTERM grace, which keeps the daemon booting a while.
    const agent = started(d)[0]!.pid;
    process.kill(parentOf(agent), 'SIGKILL');
    const starts = () => d.logs.filter((l) => String(l.msg).startsWith('daemon starting')).length;
    const booting = d.start();
    await waitUntil(() => starts() === 2);
    d.kill('SIGHUP');
    await booting;
    expect(d.hasLog('SIGHUP during start')).toBe(true);
    await waitUntil(() => d.hasLog('config reloaded'));
    expect(d.child!.exitCode).toBeNull();
    expect(processAlive(agent)).toBe(false);
    const cancelled = await d.json<{ status: string }>(`/api/tasks/${res.body.id}/cancel`, { method: 'POST' });
    expect(cancelled.status).toBeLessThan(300);
  });
});

describe('daemon: CLI', () => {
  it('tetora dispatch --wait shows progress and exits 0 on success, non-zero on failure; task, status and agent commands read the daemon', async () => {
    const d = await daemon();
    const ok = await d.cli(['dispatch', d.prompt({ out: 'cli answer' }), '--agent', 'a', '--wait']);
    expect(ok.code).toBe(0);
    expect(ok.stdout.trim()).toBe('cli answer');
    expect(ok.stderr).toContain('attempt 1/3');
    expect(ok.stderr).toContain('succeeded');

    const bad = await d.cli(['dispatch', d.prompt({ exit: 3, stderr: 'the tool broke' }), '--agent', 'a', '--wait']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('the tool broke');

    const json = await d.cli(['dispatch', d.prompt({}), '--agent', 'b', '--json']);
    expect(json.code).toBe(0);
    const queued = JSON.parse(json.stdout) as { id: string; status: string };
    expect(queued.status).toBe('queued');
    await d.waitTerminal([queued.id]);

    const list = await d.cli(['task', 'list', '--json']);
    expect((JSON.parse(list.stdout) as { tasks: unknown[] }).tasks.length).toBe(3);
    const bySource = async (source: string) => (JSON.parse((await d.cli(['task', 'list', '--source', source, '--json'])).stdout) as { tasks: unknown[] }).tasks.length;
    expect([await bySource('cli'), await bySource('http')]).toEqual([3, 0]);
    const show = await d.cli(['task', 'show', queued.id]);
    expect(show.stdout).toContain(queued.id);
    expect(show.stdout).toContain('succeeded');
    const logs = await d.cli(['task', 'logs', queued.id]);
    expect(logs.stdout).toContain('succeeded');
    const status = await d.cli(['status']);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('the tool broke');
    const agents = await d.cli(['agent', 'list', '--json']);
    expect((JSON.parse(agents.stdout) as Array<{ name: string }>).map((a) => a.name).sort()).toEqual(['a', 'b']);

    const drain = await d.cli(['drain']);
    expect(drain.code).toBe(0);
    expect(await d.exited()).toBe(0);
  });

  it('with no daemon, the CLI names the address it tried and how to start one', async () => {
    const d = await DaemonHarness.create();
    const r = await runCli(['--config', d.configPath, 'status'], { TETORA_HOME: d.home });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`127.0.0.1:${d.port}`);
    expect(r.stderr).toContain('tetora serve');
    expect(r.stderr).not.toContain('    at ');
  });
});

function readConfig(d: DaemonHarness): Record<string, unknown> {
  return JSON.parse(readFileSync(d.configPath, 'utf8')) as Record<string, unknown>;
}
