/**
 * Issue 14, security tests: webhook signatures with a replay window, on the real daemon (run by
 * test/helpers/serve-recording.mjs, whose workflow starter records each start in a file). A correct
 * signature with a timestamp outside the 5-minute window is refused; an identical signed request sent again
 * (a replay inside the window) is refused — also after a daemon restart, as the used signatures are in the
 * store (migration 012, table webhook_signatures); a fresh signature for the same body is accepted.
 */
import Database from 'better-sqlite3';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { signWebhook } from '../../src/schedules/webhook.js';
import { DaemonHarness, daemonPool } from '../helpers/daemon.js';

const pool = daemonPool();
const ENTRY = resolve(import.meta.dirname, '../helpers/serve-recording.mjs');
const SECRET = 'replay-secret-4711';

describe('signed webhooks', () => {
  it('refuse a stale timestamp and a replayed request (also across a restart); a fresh signature starts the workflow', async () => {
    const d = pool.track(await DaemonHarness.create({ workflowTriggers: [{ name: 'deploy', workflowName: 'ship', trigger: { type: 'webhook' }, secret: SECRET }] }));
    const log = join(d.home, 'starts.jsonl');
    const started = () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []);
    const start = () => d.start({ entry: ENTRY, env: { RECORDING_STARTER_LOG: log } });
    await start();
    const send = (ts: string, body: string, sig = signWebhook(SECRET, ts, body)) =>
      fetch(`${d.base}/api/triggers/webhook/deploy`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-tetora-timestamp': ts, 'x-tetora-signature': sig } });
    const reasonOf = async (r: Response) => ((await r.json()) as { error: { code: string; details: { reason: string } } }).error;
    const now = Math.floor(Date.now() / 1000);
    const body = '{"ref":"main"}';

    // Correctly signed, but 6 minutes old (and 6 minutes ahead): refused by the window.
    for (const ts of [String(now - 360), String(now + 360)]) {
      const r = await send(ts, body);
      expect(r.status).toBe(401);
      expect((await reasonOf(r)).details.reason).toContain('more than 5 minutes');
    }
    expect(started()).toEqual([]);

    // The first delivery starts the workflow; the identical request again is a replay.
    const ts = String(now);
    expect((await send(ts, body)).status).toBe(202);
    expect(started()).toHaveLength(1);
    const replay = await send(ts, body);
    expect(replay.status).toBe(401);
    const err = await reasonOf(replay);
    expect(err.code).toBe('TET_ERR_HTTP_UNAUTHORIZED');
    expect(err.details.reason).toContain('already used');
    expect(started()).toHaveLength(1);

    // A restart forgets nothing: the used signature is in the store.
    d.kill('SIGTERM');
    await d.exited();
    await start();
    expect((await send(ts, body)).status).toBe(401);
    expect(started()).toHaveLength(1);

    // The same body with a new timestamp is a new delivery.
    const ts2 = String(now + 1);
    expect((await send(ts2, body)).status).toBe(202);
    expect(started()).toHaveLength(2);
    d.kill('SIGTERM');
    await d.exited();
    const db = new Database(join(d.home, 'tetora.db'), { readonly: true });
    try {
      expect(db.prepare('SELECT trigger FROM webhook_signatures ORDER BY seen_at').all()).toEqual([{ trigger: 'deploy' }, { trigger: 'deploy' }]);
    } finally {
      db.close();
    }
  });
});
