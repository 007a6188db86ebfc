/**
 * The outbound guard end to end: a real daemon (`tetora serve` as a child process) runs workflows whose
 * `http` tool calls and `notify` webhooks aim at cloud-metadata and link-local addresses (literal, decimal,
 * IPv4-mapped IPv6, a metadata host name, a redirect from a local server): each step fails naming the URL,
 * the address, the rule and `outboundHttp.allow`, and nothing is sent. Then `outboundHttp` is changed by
 * SIGHUP: `blockPrivateNetworks` refuses `localhost` (a name, resolved by the system) and 127.0.0.1, and
 * the allow-list lets them through again. Only 127.0.0.1 is ever connected to.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaemonHarness, daemonPool } from '../helpers/daemon.js';
import { startRun, step, waitRun, workflowDaemon, writeWorkflow } from '../helpers/workflow.js';

const pool = daemonPool();
let server: Server;
let port = 0;
const hits: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    req.resume();
    if (req.url === '/redirect') {
      res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/iam/security-credentials/' });
      res.end();
    } else res.end(`local ${req.url}`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const http = (id: string, url: string, method = 'GET') => ({ id, type: 'tool_call', toolName: 'http', toolInput: { method, url } });

async function reload(d: DaemonHarness, outboundHttp: Record<string, unknown>): Promise<void> {
  const seen = d.logs.filter((l) => l.msg === 'config reloaded').length;
  d.writeConfig({ ...(JSON.parse(readFileSync(d.configPath, 'utf8')) as Record<string, unknown>), outboundHttp });
  d.kill('SIGHUP');
  const end = Date.now() + 30_000;
  while (d.logs.filter((l) => l.msg === 'config reloaded').length === seen) {
    if (Date.now() > end) throw new Error(`no reload: ${JSON.stringify(d.logs.slice(-3))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('outboundHttp: workflow http calls and notify webhooks', () => {
  it('refuses metadata and link-local destinations in every spelling and through a redirect, sends nothing there, and lets loopback through by default', async () => {
    const d = await workflowDaemon(pool);
    writeWorkflow(d, {
      name: 'ssrf',
      steps: [
        http('literal', 'http://169.254.169.254/latest/meta-data/'),
        http('decimal', 'http://2852039166/latest/meta-data/'),
        http('mapped', 'http://[::ffff:169.254.169.254]/latest/'),
        http('linklocal', 'http://[fe80::1]:8080/', 'POST'),
        http('name', 'http://metadata.google.internal/computeMetadata/v1/'),
        http('redirect', `http://127.0.0.1:${port}/redirect`),
        { id: 'hook', type: 'notify', notifyMsg: 'creds please', notifyTo: 'http://169.254.169.254/hook' },
        http('local', `http://127.0.0.1:${port}/fine`),
      ],
    });
    const run = await waitRun(d, await startRun(d, 'ssrf'));
    expect(run.status).toBe('error');

    const refused = (id: string) => {
      const s = step(run, id);
      expect(s.status, id).toBe('error');
      expect(s.error, id).toContain('TET_ERR_OUTBOUND_REFUSED');
      expect(s.error, id).toContain('outboundHttp.allow');
      return s.error!;
    };
    expect(refused('literal')).toBe('GET http://169.254.169.254/latest/meta-data/ was refused (TET_ERR_OUTBOUND_REFUSED): 169.254.169.254 is a cloud metadata address (rule cloud-metadata); add "169.254.169.254" to outboundHttp.allow in the config if this destination is intended');
    expect(refused('decimal')).toContain('GET http://2852039166/latest/meta-data/ was refused (TET_ERR_OUTBOUND_REFUSED): 169.254.169.254 is a cloud metadata address (rule cloud-metadata)');
    expect(refused('mapped')).toContain('GET http://[::ffff:169.254.169.254]/latest/ was refused (TET_ERR_OUTBOUND_REFUSED): ::ffff:a9fe:a9fe is a cloud metadata address (rule cloud-metadata)');
    expect(refused('linklocal')).toContain('fe80::1 is a link-local address (rule link-local); add "fe80::1" to outboundHttp.allow');
    expect(refused('name')).toContain('host metadata.google.internal is the name of a cloud metadata service (rule cloud-metadata); add "metadata.google.internal" to outboundHttp.allow');
    expect(refused('redirect')).toContain(`GET http://127.0.0.1:${port}/redirect redirects to http://169.254.169.254/latest/meta-data/iam/security-credentials/, which was refused (TET_ERR_OUTBOUND_REFUSED): 169.254.169.254 is a cloud metadata address`);
    const hook = refused('hook');
    expect(hook).toContain('notify http://169.254.169.254/hook: POST http://169.254.169.254/hook was refused');
    expect(hook).toMatch(/\(after 1 try\)$/);
    expect(step(run, 'local')).toMatchObject({ status: 'success', output: 'local /fine' });
    expect(hits).toEqual(['GET /redirect', 'GET /fine']);
  });

  it('blockPrivateNetworks refuses localhost (by its resolved address) and 127.0.0.1; the allow-list lets them through; changes apply on SIGHUP', async () => {
    const d = await workflowDaemon(pool);
    writeWorkflow(d, { name: 'local', steps: [http('byname', `http://localhost:${port}/name`), http('byaddr', `http://127.0.0.1:${port}/addr`)] });
    hits.length = 0;

    await reload(d, { blockPrivateNetworks: true });
    const blocked = await waitRun(d, await startRun(d, 'local'));
    expect(step(blocked, 'byname').error).toMatch(new RegExp(`^GET http://localhost:${port}/name was refused \\(TET_ERR_OUTBOUND_REFUSED\\): host localhost resolves to (127\\.0\\.0\\.1|::1), a loopback address \\(rule loopback\\); set outboundHttp.blockPrivateNetworks to false or add "(127\\.0\\.0\\.1|::1)" to outboundHttp.allow`));
    expect(step(blocked, 'byaddr').error).toContain('127.0.0.1 is a loopback address (rule loopback)');
    expect(hits).toEqual([]);

    await reload(d, { blockPrivateNetworks: true, allow: ['localhost', '127.0.0.0/8'] });
    const allowed = await waitRun(d, await startRun(d, 'local'));
    expect(allowed.status).toBe('success');
    expect(step(allowed, 'byname').output).toBe('local /name');
    expect(step(allowed, 'byaddr').output).toBe('local /addr');
    expect(hits.sort()).toEqual(['GET /addr', 'GET /name']);
  });

  it('config validate refuses a bad outboundHttp entry, naming it', async () => {
    const d = pool.track(await DaemonHarness.create({}));
    const res = await d.cli(['config', 'validate']);
    expect(res.code).toBe(0);
    d.writeConfig({ ...(JSON.parse(readFileSync(d.configPath, 'utf8')) as Record<string, unknown>), outboundHttp: { allow: ['10.0.0.0/40'] } });
    const bad = await d.cli(['config', 'validate']);
    expect(bad.code).toBe(78);
    expect(bad.stderr + bad.stdout).toContain('outboundHttp.allow.0 is "10.0.0.0/40", expected an IP address');
  });
});
