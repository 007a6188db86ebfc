import Database from 'better-sqlite3';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { signWebhook } from '../../src/schedules/webhook.js';
import { DaemonHarness, TOKEN, daemonPool } from '../helpers/daemon.js';

/**
 * Workflow triggers on the real daemon, run by test/helpers/serve-recording.mjs: `tetora serve` with a
 * recording workflow starter (each start is a line in a file) in place of the workflow runner.
 */
const pool = daemonPool();
const ENTRY = resolve(import.meta.dirname, '../helpers/serve-recording.mjs');
const SECRET = 'hook-secret-0123';

interface Started {
  name: string;
  variables: Record<string, string>;
  meta: { source: string; trigger: { name: string; kind: string; firingId: number; scheduledAt: number; idempotencyKey: string } };
  runId: string;
}

async function until(what: string, check: () => boolean | Promise<boolean>, deadlineMs = 30_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`not reached within ${deadlineMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function daemon(triggers: unknown[]): Promise<{ d: DaemonHarness; started: () => Started[]; firings: () => Array<Record<string, unknown>>; clock: (iso: string) => void; start: () => Promise<void> }> {
  const d = pool.track(await DaemonHarness.create({ workflowTriggers: triggers }));
  const log = join(d.home, 'starts.jsonl');
  const clockFile = join(d.home, 'test-clock');
  const clock = (iso: string) => writeFileSync(clockFile, String(Date.parse(iso)));
  clock('2026-01-01T00:00:30Z');
  const started = () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Started) : []);
  const firings = () => {
    const db = new Database(join(d.home, 'tetora.db'), { readonly: true });
    try {
      return db.prepare('SELECT * FROM schedule_firings ORDER BY id').all() as Array<Record<string, unknown>>;
    } finally {
      db.close();
    }
  };
  const start = () => d.start({ entry: ENTRY, env: { RECORDING_STARTER_LOG: log, TETORA_TEST_CLOCK: clockFile } });
  await start();
  return { d, started, firings, clock, start };
}

function webhook(d: DaemonHarness, name: string, body: string, headers: Record<string, string>): Promise<Response> {
  return fetch(`${d.base}/api/triggers/webhook/${name}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
}

const now = () => String(Math.floor(Date.now() / 1000));

describe('webhook triggers', () => {
  it('without the token, or with a bad or stale signature: 401 and nothing starts; a good signature or the token starts the workflow', async () => {
    const { d, started, firings } = await daemon([
      { name: 'deploy', workflowName: 'ship', trigger: { type: 'webhook' }, secret: SECRET, variables: { env: 'prod', ref: 'none' } },
      { name: 'plain', workflowName: 'notes', trigger: { type: 'webhook' } },
    ]);
    const body = '{"ref":"main","count":2}';
    const ts = now();
    const refused: Array<[string, Promise<Response>]> = [
      ['no token, no signature', webhook(d, 'deploy', body, {})],
      ['wrong token', webhook(d, 'deploy', body, { authorization: 'Bearer nope' })],
      ['signature of another body', webhook(d, 'deploy', body, { 'x-tetora-timestamp': ts, 'x-tetora-signature': signWebhook(SECRET, ts, '{"ref":"evil"}') })],
      ['signature with another secret', webhook(d, 'deploy', body, { 'x-tetora-timestamp': ts, 'x-tetora-signature': signWebhook('guess', ts, body) })],
      ['stale timestamp, well signed', webhook(d, 'deploy', body, { 'x-tetora-timestamp': String(Number(ts) - 600), 'x-tetora-signature': signWebhook(SECRET, String(Number(ts) - 600), body) })],
      ['signature without timestamp', webhook(d, 'deploy', body, { 'x-tetora-signature': signWebhook(SECRET, ts, body) })],
      ['a trigger without a secret, no token', webhook(d, 'plain', body, { 'x-tetora-timestamp': ts, 'x-tetora-signature': signWebhook(SECRET, ts, body) })],
      ['an unknown trigger, no token', webhook(d, 'ghost', body, {})],
    ];
    for (const [why, res] of refused) {
      const r = await res;
      expect({ why, status: r.status }).toEqual({ why, status: 401 });
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('TET_ERR_HTTP_UNAUTHORIZED');
    }
    // A signature is no key to the rest of the API.
    const signed = { 'x-tetora-timestamp': ts, 'x-tetora-signature': signWebhook(SECRET, ts, '') };
    expect((await fetch(`${d.base}/api/jobs`, { headers: signed })).status).toBe(401);
    expect((await fetch(`${d.base}/api/triggers/deploy/fire`, { method: 'POST', headers: signed })).status).toBe(401);
    expect(started()).toEqual([]);
    expect(firings()).toEqual([]);

    // Sent as `curl -d` sends it (form-encoded): the signature covers the bytes whatever the content type says.
    const good = await webhook(d, 'deploy', body, { 'content-type': 'application/x-www-form-urlencoded', 'x-tetora-timestamp': ts, 'x-tetora-signature': signWebhook(SECRET, ts, body) });
    expect(good.status).toBe(202);
    const accepted = (await good.json()) as { runId: string; workflow: string; firing: { kind: string; status: string } };
    expect(accepted).toMatchObject({ workflow: 'ship', firing: { kind: 'webhook', status: 'started' } });
    expect(started()).toHaveLength(1);
    expect(started()[0]).toMatchObject({ name: 'ship', runId: accepted.runId, variables: { env: 'prod', ref: 'main', count: '2' }, meta: { source: 'trigger', trigger: { name: 'deploy', kind: 'webhook' } } });

    const byToken = await webhook(d, 'plain', '{"note":"hi"}', { authorization: `Bearer ${TOKEN}` });
    expect(byToken.status).toBe(202);
    expect(started()[1]).toMatchObject({ name: 'notes', variables: { note: 'hi' } });
    expect(firings().map((f) => [f.schedule, f.kind, f.status, f.workflow_run_id])).toEqual([
      ['trigger:deploy', 'webhook', 'started', accepted.runId],
      ['trigger:plain', 'webhook', 'started', started()[1]?.runId],
    ]);

    // Authenticated but not a JSON object: 400, nothing starts.
    const bad = await webhook(d, 'plain', '[1,2]', { authorization: `Bearer ${TOKEN}` });
    expect(bad.status).toBe(400);
    expect(started()).toHaveLength(2);
  });
});

describe('cron, event and manual triggers', () => {
  it('a cron trigger starts its workflow once per time, across a SIGKILL and a restart at that time', async () => {
    const { d, started, clock, start } = await daemon([{ name: 'minutely', workflowName: 'report', trigger: { type: 'cron', cron: '* * * * *' }, variables: { depth: 2 } }]);
    clock('2026-01-01T00:01:00Z');
    await until('the 00:01 start', () => started().length === 1);
    expect(started()[0]).toMatchObject({ name: 'report', variables: { depth: '2' }, meta: { trigger: { name: 'minutely', kind: 'cron', scheduledAt: Date.parse('2026-01-01T00:01:00Z'), idempotencyKey: `trigger:minutely:${Date.parse('2026-01-01T00:01:00Z')}` } } });
    d.kill('SIGKILL');
    await d.exited();
    await start();
    await until('the trigger is held again', async () => (await d.json<{ triggers: Array<{ held: boolean }> }>('/api/triggers')).body.triggers[0]?.held === true);
    clock('2026-01-01T00:01:30Z');
    await until('the daemon looked at 00:01:30', async () => (await d.json<{ triggers: Array<{ nextFireAt: string }> }>('/api/triggers')).body.triggers[0]?.nextFireAt === '2026-01-01T00:02:00.000Z');
    expect(started()).toHaveLength(1);
    clock('2026-01-01T00:02:00Z');
    await until('the 00:02 start', () => started().length === 2);
  });

  it('an event trigger fires on a matching task event (wildcard), not on others; a cooldown drops what follows', async () => {
    const { d, started } = await daemon([
      { name: 'on-fail', workflowName: 'triage', trigger: { type: 'event', event: 'task.fail*' }, cooldown: '1h' },
      { name: 'on-start', workflowName: 'audit', trigger: { type: 'event', event: 'workflow.started' } },
    ]);
    const ok = await d.dispatch({ prompt: d.prompt({ out: 'fine' }), agent: 'a' });
    await d.waitTerminal([ok.body.id as string]);
    const bad = await d.dispatch({ prompt: d.prompt({ exit: 3, stderr: 'broken' }), agent: 'a', maxAttempts: 1 });
    const [failed] = await d.waitTerminal([bad.body.id as string]);
    expect(failed?.status).toBe('failed');
    await until('triage started', () => started().some((s) => s.name === 'triage'));
    const triage = started().find((s) => s.name === 'triage') as Started;
    expect(triage.variables).toMatchObject({ event: 'task.failed', taskId: bad.body.id, taskStatus: 'failed', agent: 'a' });
    // The workflow.started of the triage run fires on-start (an event of the workflow source) ...
    await until('audit started', () => started().some((s) => s.name === 'audit'));
    expect(started().find((s) => s.name === 'audit')?.variables).toMatchObject({ event: 'workflow.started', runId: triage.runId, workflow: 'triage' });
    // ... but not on its own run's workflow.started (no loop), and the second failure falls in the cooldown.
    const bad2 = await d.dispatch({ prompt: d.prompt({ exit: 3, stderr: 'broken' }), agent: 'a', maxAttempts: 1 });
    await d.waitTerminal([bad2.body.id as string]);
    const probe = await d.dispatch({ prompt: d.prompt({ out: 'after' }), agent: 'b' });
    await d.waitTerminal([probe.body.id as string]);
    const names = started().map((s) => s.name);
    expect(names.filter((n) => n === 'triage')).toHaveLength(1);
    expect(names.filter((n) => n === 'audit')).toHaveLength(1);
  });

  it('trigger list and fire from the CLI; a workflow the runner refuses is recorded as a failed firing', async () => {
    const { d, started, firings } = await daemon([
      { name: 'nightly', workflowName: 'report', trigger: { type: 'cron', cron: '0 2 * * *', tz: 'Asia/Taipei' } },
      { name: 'broken', workflowName: 'fails', trigger: { type: 'webhook' } },
      { name: 'off', workflowName: 'report', enabled: false, trigger: { type: 'webhook' } },
    ]);
    const list = await d.cli(['trigger', 'list', '--json']);
    expect(list.code, list.stderr).toBe(0);
    const triggers = (JSON.parse(list.stdout) as { triggers: Array<Record<string, unknown>> }).triggers;
    // 02:00 in Taipei (UTC+8) is 18:00 UTC the day before.
    expect(triggers[0]).toMatchObject({ name: 'nightly', type: 'cron', tz: 'Asia/Taipei', nextFireAt: '2026-01-01T18:00:00.000Z', held: true });
    expect((await d.cli(['trigger', 'list'])).stdout).toContain('nightly');

    const fired = await d.cli(['trigger', 'fire', 'nightly', '--var', 'topic=release', '--json']);
    expect(fired.code, fired.stderr).toBe(0);
    expect(JSON.parse(fired.stdout)).toMatchObject({ runId: started()[0]?.runId, firing: { kind: 'manual', status: 'started' } });
    expect(started()[0]).toMatchObject({ name: 'report', variables: { topic: 'release' } });

    const refused = await d.cli(['trigger', 'fire', 'broken']);
    expect(refused.code).not.toBe(0);
    expect(firings().at(-1)).toMatchObject({ schedule: 'trigger:broken', status: 'failed', error: 'workflow "fails" does not exist' });
    const disabled = await d.cli(['trigger', 'fire', 'off']);
    expect(disabled.stderr).toContain('disabled');
    const bad = await d.cli(['trigger', 'fire', 'nightly', '--var', 'novalue']);
    expect(bad.code).toBe(64);
  });
});
