/**
 * Issue 14, security tests: no secret in logs, task events, error bodies or `config show`. A real daemon
 * runs with known secrets (apiToken, a provider apiKey, another one referenced as `$VAR`, the Discord
 * bot token, a webhook secret) through a mixed run — a dispatch that succeeds, a provider call that fails
 * against a 127.0.0.1 server that echoes the request's credentials back in its error, a config error on
 * reload, a webhook with a bad signature, requests with wrong tokens — then every log line (stderr and
 * $TETORA_HOME/logs/*), every text cell of every table of the store, every HTTP body collected and the
 * output of `tetora config show` are searched for each secret.
 */
import Database from 'better-sqlite3';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DaemonHarness, TOKEN } from '../helpers/daemon.js';
import { runCli } from '../helpers/cli.js';
import { signWebhook } from '../../src/schedules/webhook.js';

const SECRETS = {
  apiToken: TOKEN,
  apiKey: 'sk-ant-literal-KEY-7f3a9c1e5b2d4f60',
  envKey: 'sk-env-referenced-KEY-91b7e2c4d8a0f3',
  botToken: 'discord-bot-TOKEN-MTIzNDU2Nzg5MDEy.abc',
  webhookSecret: 'whsec-HOOK-5e8d1a7c3b9f2046',
};

let echo: Server;
let d: DaemonHarness;

afterAll(async () => {
  d?.kill('SIGTERM');
  await d?.exited();
  await new Promise((r) => echo?.close(r));
});

/** Every file under `dir` (recursively). */
function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

/** Every text (and blob, as UTF-8) cell of every table, as "table.column: value". */
function storeCells(dbPath: string): string[] {
  const db = new Database(dbPath, { readonly: true });
  try {
    const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as Array<{ name: string }>;
    const out: string[] = [];
    for (const { name } of tables) {
      for (const row of db.prepare(`SELECT * FROM "${name.replace(/"/g, '""')}"`).all() as Array<Record<string, unknown>>) {
        for (const [col, v] of Object.entries(row)) {
          if (typeof v === 'string') out.push(`${name}.${col}: ${v}`);
          else if (Buffer.isBuffer(v)) out.push(`${name}.${col}: ${v.toString('utf8')}`);
        }
      }
    }
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['tasks', 'task_events']));
    return out;
  } finally {
    db.close();
  }
}

describe('secrets', () => {
  it('appear in no log, no store row, no HTTP body and not in `config show`, after a mixed run', async () => {
    // A provider endpoint that refuses every call and echoes the credentials it was sent in its error.
    echo = createServer((req, res) => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ type: 'error', error: { type: 'authentication_error', message: `invalid x-api-key ${String(req.headers['x-api-key'])} (authorization: ${String(req.headers.authorization)})` } }));
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    const baseUrl = `http://127.0.0.1:${(echo.address() as AddressInfo).port}`;
    const env = { TETORA_SEC_ENV_KEY: SECRETS.envKey };

    d = await DaemonHarness.create({
      providers: {
        fake: { type: 'command', path: process.execPath, args: [join(import.meta.dirname, '..', 'helpers', 'fake-agent.mjs')] },
        keyed: { type: 'anthropic', baseUrl, apiKey: SECRETS.apiKey, model: 'claude-x' },
        envkeyed: { type: 'anthropic', baseUrl, apiKey: '$TETORA_SEC_ENV_KEY', model: 'claude-x' },
      },
      agents: { a: { provider: 'fake' }, k: { provider: 'keyed' }, e: { provider: 'envkeyed' } },
      discord: { enabled: false, botToken: SECRETS.botToken },
      workflowTriggers: [{ name: 'hook', workflowName: 'nowhere', trigger: { type: 'webhook' }, secret: SECRETS.webhookSecret }],
    });
    await d.start({ env });
    const bodies: string[] = [];
    const collect = async (res: Response): Promise<Response> => {
      bodies.push(`${res.status} ${await res.clone().text()}`);
      return res;
    };

    // A dispatch that succeeds, and two provider calls that fail with the echoing server.
    const ok = await d.dispatch({ agent: 'a', prompt: d.prompt({ out: 'done' }) });
    const failing = await d.dispatch([{ agent: 'k', prompt: 'hi' }, { agent: 'e', prompt: 'hi' }]);
    bodies.push(JSON.stringify(ok.body), JSON.stringify(failing.body));
    const ids = [...ok.body.tasks, ...failing.body.tasks].map((t) => t.id);
    const done = await d.waitTerminal(ids);
    expect(done.map((t) => t.status)).toEqual(['succeeded', 'failed', 'failed']);
    for (const id of ids) {
      await collect(await d.fetch(`/api/tasks/${id}`));
      await collect(await d.fetch(`/api/tasks/${id}/events`));
      await collect(await d.fetch(`/api/tasks/${id}/output`));
    }

    // Wrong tokens, a webhook with a bad signature and one with a stale one.
    await collect(await d.fetch('/api/tasks', { token: `${TOKEN}x` }));
    await collect(await d.fetch('/api/tasks', { token: null }));
    const ts = String(Math.floor(Date.now() / 1000));
    await collect(await fetch(`${d.base}/api/triggers/webhook/hook`, { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json', 'x-tetora-timestamp': ts, 'x-tetora-signature': signWebhook('guess', ts, '{"a":1}') } }));
    await collect(await fetch(`${d.base}/api/triggers/webhook/hook`, { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json', 'x-tetora-timestamp': '1000', 'x-tetora-signature': signWebhook(SECRETS.webhookSecret, '1000', '{"a":1}') } }));
    await collect(await d.fetch('/api/config'));
    await collect(await d.fetch('/api/health'));
    await collect(await d.fetch('/api/agents'));

    // A config error on reload (the daemon keeps the running config and logs why).
    const good = readFileSync(d.configPath, 'utf8');
    writeFileSync(d.configPath, good.replace('"maxConcurrent": 8', '"maxConcurrent": "eight"'), { mode: 0o600 });
    d.kill('SIGHUP');
    const end = Date.now() + 15_000;
    while (!d.logs.some((l) => JSON.stringify(l).includes('maxConcurrent')) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    expect(d.logs.some((l) => JSON.stringify(l).includes('maxConcurrent'))).toBe(true);
    writeFileSync(d.configPath, good, { mode: 0o600 });

    const show = await runCli(['--config', d.configPath, 'config', 'show'], { TETORA_HOME: d.home, ...env });
    expect(show.code).toBe(0);
    const showJson = await runCli(['--config', d.configPath, 'config', 'show', '--json'], { TETORA_HOME: d.home, ...env });

    d.kill('SIGTERM');
    await d.exited();

    const haystacks: Array<[string, string]> = [
      ['stderr', d.logs.map((l) => JSON.stringify(l)).join('\n')],
      ...files(join(d.home, 'logs')).map((f): [string, string] => [f, readFileSync(f, 'utf8')]),
      ...storeCells(join(d.home, 'tetora.db')).map((c): [string, string] => ['store', c]),
      ...bodies.map((b): [string, string] => ['http', b]),
      ['config show', show.stdout + show.stderr],
      ['config show --json', showJson.stdout + showJson.stderr],
    ];
    // The failing calls did reach the provider: its error is recorded (the test sees the path a leak would take).
    expect(haystacks.some(([, h]) => h.includes('invalid x-api-key'))).toBe(true);
    const leaks: string[] = [];
    for (const [name, secret] of Object.entries(SECRETS)) {
      for (const [where, text] of haystacks) {
        const at = text.indexOf(secret);
        if (at >= 0) leaks.push(`${name} in ${where}: …${text.slice(Math.max(0, at - 120), at + secret.length + 20)}…`);
      }
    }
    expect(leaks).toEqual([]);
  });
});
