/**
 * The outbound guard's I/O part (src/outbound/request.ts via workflows/steps/http.ts) against real HTTP
 * servers on 127.0.0.1, with an injected resolver standing in for DNS: a name resolving to a metadata
 * address is refused before any connection, the resolver's answer is what the socket connects to, a name
 * that answers differently the second time (DNS rebinding) is caught on the hop that uses it, redirects
 * to forbidden addresses are refused hop by hop, credentials do not follow a redirect to another origin,
 * and a refused webhook is not retried. Nothing here connects anywhere but 127.0.0.1.
 */
import type { LookupAddress } from 'node:dns';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outboundPolicy } from '../../src/outbound/address.js';
import type { LookupAll } from '../../src/outbound/request.js';
import { httpCall, postWebhook } from '../../src/workflows/steps/http.js';

interface Hit {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

let server: Server;
let port = 0;
const hits: Hit[] = [];
let next: string | undefined;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      hits.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      if (req.url?.startsWith('/redirect')) {
        res.writeHead(Number(new URL(req.url, 'http://x').searchParams.get('code') ?? 302), { location: next ?? '/' });
        res.end();
      } else if (req.url === '/stall') {
        res.writeHead(200, { 'content-length': '100' });
        res.write('partial');
      } else if (req.url === '/cut') {
        res.writeHead(200, { 'content-length': '100' });
        res.write('partial', () => res.destroy());
      } else if (req.url === '/big') {
        // 3 MiB, in 64 KiB writes.
        res.writeHead(200, { 'content-type': 'text/plain' });
        const piece = 'x'.repeat(64 * 1024);
        for (let i = 0; i < 48; i++) res.write(piece);
        res.end();
      } else if (req.url === '/bomb') {
        // 50 MiB of zeros in about 50 KB of gzip.
        res.writeHead(200, { 'content-encoding': 'gzip' });
        res.end(gzipSync(Buffer.alloc(50 * 1024 * 1024)));
      } else if (req.url === '/gzip') {
        res.writeHead(200, { 'content-encoding': 'gzip' });
        res.end(gzipSync('unzipped'));
      } else {
        res.end(`hello ${req.method} ${req.url}`);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => {
  server.closeAllConnections();
  server.close(() => r());
}));

/** A resolver answering from a table; a list of answers is used one per query (the last one repeats). */
function resolver(table: Record<string, string[] | string[][]>): LookupAll & { asked: string[] } {
  const asked: string[] = [];
  const counts = new Map<string, number>();
  const fn = ((host: string, _opts: unknown, cb: (err: NodeJS.ErrnoException | null, a: LookupAddress[]) => void) => {
    asked.push(host);
    const entry = table[host];
    if (!entry) return cb(Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' }), []);
    const n = counts.get(host) ?? 0;
    counts.set(host, n + 1);
    const answer = (Array.isArray(entry[0]) ? (entry as string[][])[Math.min(n, entry.length - 1)] : entry) as string[];
    setImmediate(() => cb(null, answer.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))));
  }) as LookupAll & { asked: string[] };
  fn.asked = asked;
  return fn;
}

const call = (url: string, extra: Partial<Parameters<typeof httpCall>[0]> = {}) => httpCall({ method: 'GET', url, timeoutMs: 10_000, signal: new AbortController().signal, ...extra });

describe('outbound guard', () => {
  it('refuses a name resolving to a metadata address before connecting, and connects to what the resolver answers', async () => {
    const lookup = resolver({ 'evil.test': ['169.254.169.254'], 'good.test': ['127.0.0.1'], 'mixed.test': ['127.0.0.1', '169.254.169.254'], 'v6.test': ['::ffff:169.254.169.254'] });
    const before = hits.length;
    const evil = await call(`http://evil.test:${port}/latest/meta-data/`, { lookup });
    expect(evil.ok).toBe(false);
    expect(evil.refused?.rule).toBe('cloud-metadata');
    expect(evil.error).toBe(`GET http://evil.test:${port}/latest/meta-data/ was refused (TET_ERR_OUTBOUND_REFUSED): host evil.test resolves to 169.254.169.254, a cloud metadata address (rule cloud-metadata); add "169.254.169.254" to outboundHttp.allow in the config if this destination is intended`);
    const mixed = await call(`http://mixed.test:${port}/`, { lookup });
    expect(mixed.refused?.address).toBe('169.254.169.254');
    const v6 = await call(`http://v6.test:${port}/`, { lookup });
    expect(v6.refused?.rule).toBe('cloud-metadata');
    expect(hits.length).toBe(before);

    const good = await call(`http://good.test:${port}/ok`, { lookup });
    expect(good).toMatchObject({ ok: true, status: 200, body: 'hello GET /ok' });
    expect(hits.at(-1)?.headers.host).toBe(`good.test:${port}`);
    expect(lookup.asked).toEqual(['evil.test', 'mixed.test', 'v6.test', 'good.test']);
  });

  it('refuses literal forbidden addresses in every spelling without asking the resolver', async () => {
    const lookup = resolver({});
    for (const url of ['http://169.254.169.254/latest/meta-data/', 'http://2852039166/', 'http://0xa9fea9fe/', 'http://0251.0376.0251.0376/', 'http://[::ffff:169.254.169.254]/', 'http://[fd00:ec2::254]/', 'http://100.100.100.200/', 'http://[fe80::1]/', 'http://0.0.0.0:1/', 'http://metadata.google.internal/computeMetadata/v1/']) {
      const r = await call(url, { lookup });
      expect(r.ok, url).toBe(false);
      expect(r.error, url).toContain('TET_ERR_OUTBOUND_REFUSED');
      expect(r.error, url).toContain('outboundHttp.allow');
    }
    expect(lookup.asked).toEqual([]);
  });

  it('checks every redirect hop: a literal, a decimal literal and a rebinding name are refused on the hop that leads there', async () => {
    for (const target of ['http://169.254.169.254/latest/meta-data/iam/', 'http://2852039166/']) {
      next = target;
      const before = hits.length;
      const r = await call(`http://127.0.0.1:${port}/redirect`);
      expect(r.ok).toBe(false);
      expect(r.error).toContain(`GET http://127.0.0.1:${port}/redirect redirects to ${new URL(target).href}, which was refused (TET_ERR_OUTBOUND_REFUSED): 169.254.169.254 is a cloud metadata address`);
      expect(hits.slice(before).map((h) => h.url)).toEqual(['/redirect']);
    }

    // DNS rebinding: the first answer is harmless, the second (on the redirect hop) is the metadata address.
    const lookup = resolver({ 'rebind.test': [['127.0.0.1'], ['169.254.169.254']] });
    next = `http://rebind.test:${port}/second`;
    const before = hits.length;
    const r = await call(`http://rebind.test:${port}/redirect`, { lookup });
    expect(r.refused?.address).toBe('169.254.169.254');
    expect(r.error).toContain('host rebind.test resolves to 169.254.169.254');
    expect(hits.slice(before).map((h) => h.url)).toEqual(['/redirect']);
    expect(lookup.asked).toEqual(['rebind.test', 'rebind.test']);
  });

  it('follows allowed redirects; a 303 turns a POST into a GET; credentials do not follow to another origin', async () => {
    const lookup = resolver({ 'other.test': ['127.0.0.1'] });
    next = `http://other.test:${port}/landed`;
    const before = hits.length;
    const r = await call(`http://127.0.0.1:${port}/redirect?code=303`, { method: 'POST', body: 'payload', headers: { authorization: 'Bearer s3cret', 'x-kept': 'yes', 'content-type': 'text/plain' }, lookup });
    expect(r).toMatchObject({ ok: true, body: 'hello GET /landed' });
    const [first, second] = hits.slice(before);
    expect(first).toMatchObject({ method: 'POST', body: 'payload' });
    expect(first!.headers.authorization).toBe('Bearer s3cret');
    expect(second).toMatchObject({ method: 'GET', body: '' });
    expect(second!.headers.authorization).toBeUndefined();
    expect(second!.headers['x-kept']).toBe('yes');
    expect(second!.headers['content-type']).toBeUndefined();

    next = '/same-origin';
    const same = await call(`http://127.0.0.1:${port}/redirect?code=307`, { method: 'PUT', body: 'again', headers: { authorization: 'Bearer s3cret' } });
    expect(same).toMatchObject({ ok: true, body: 'hello PUT /same-origin' });
    expect(hits.at(-1)).toMatchObject({ method: 'PUT', body: 'again' });
    expect(hits.at(-1)!.headers.authorization).toBe('Bearer s3cret');

    expect(await call(`http://127.0.0.1:${port}/gzip`, { headers: { 'accept-encoding': 'gzip' } })).toMatchObject({ ok: true, body: 'unzipped' });
    expect((await call('file:///etc/passwd')).error).toContain('only http and https URLs are sent, not file:');
  });

  it('blockPrivateNetworks refuses loopback by name and by address; the allow-list lets the named ones through', async () => {
    const lookup = resolver({ 'local.test': ['127.0.0.1'] });
    const strict = outboundPolicy({ blockPrivateNetworks: true });
    const before = hits.length;
    const byName = await call(`http://local.test:${port}/x`, { lookup, policy: strict });
    expect(byName.error).toContain('host local.test resolves to 127.0.0.1, a loopback address (rule loopback); set outboundHttp.blockPrivateNetworks to false or add "127.0.0.1" to outboundHttp.allow');
    expect((await call(`http://127.0.0.1:${port}/x`, { policy: strict })).refused?.rule).toBe('loopback');
    expect(hits.length).toBe(before);

    const allowName = outboundPolicy({ blockPrivateNetworks: true, allow: ['local.test'] });
    expect(await call(`http://local.test:${port}/by-name`, { lookup, policy: allowName })).toMatchObject({ ok: true, body: 'hello GET /by-name' });
    expect((await call(`http://127.0.0.1:${port}/x`, { policy: allowName })).refused?.rule).toBe('loopback');
    const allowRange = outboundPolicy({ blockPrivateNetworks: true, allow: ['127.0.0.0/8'] });
    expect(await call(`http://127.0.0.1:${port}/by-range`, { policy: allowRange })).toMatchObject({ ok: true, body: 'hello GET /by-range' });
  });

  it('an answer cut off by the timeout or the server ends the call with a failure naming it', async () => {
    const r = await call(`http://127.0.0.1:${port}/stall`, { timeoutMs: 300 });
    expect(r).toMatchObject({ ok: false, error: `GET http://127.0.0.1:${port}/stall failed: no answer within 300 ms` });
    const cut = await call(`http://127.0.0.1:${port}/cut`);
    expect(cut.ok).toBe(false);
    expect(cut.error).toMatch(new RegExp(`^GET http://127.0.0.1:${port}/cut failed: `));
  });

  it('an answer over outboundHttp.maxResponseBytes (counted decoded: a gzip bomb too) fails the call naming the setting; a webhook is not retried for it', async () => {
    const small = outboundPolicy({ maxResponseBytes: 1024 * 1024 });
    const big = await httpCall({ method: 'GET', url: `http://127.0.0.1:${port}/big`, timeoutMs: 10_000, signal: new AbortController().signal, policy: small });
    expect(big.ok).toBe(false);
    expect(big.status).toBe(200);
    expect(big.body).toBe('');
    expect(big.error).toContain(`GET http://127.0.0.1:${port}/big failed: it answered 200 with a body larger than 1048576 bytes (decoded)`);
    expect(big.error).toContain('outboundHttp.maxResponseBytes');
    // The default (10 MiB) lets the 3 MiB through whole.
    const whole = await httpCall({ method: 'GET', url: `http://127.0.0.1:${port}/big`, timeoutMs: 10_000, signal: new AbortController().signal, policy: outboundPolicy(undefined) });
    expect(whole.ok).toBe(true);
    expect(whole.body.length).toBe(3 * 1024 * 1024);
    const bomb = await httpCall({ method: 'GET', url: `http://127.0.0.1:${port}/bomb`, timeoutMs: 10_000, signal: new AbortController().signal, policy: outboundPolicy(undefined) });
    expect(bomb.ok).toBe(false);
    expect(bomb.error).toContain('larger than 10485760 bytes (decoded)');
    const before = hits.length;
    const hook = await postWebhook(`http://127.0.0.1:${port}/big`, { x: 1 }, { tries: 3, baseMs: 1, signal: new AbortController().signal, policy: small });
    expect(hook.ok).toBe(false);
    expect(hook.tries).toBe(1);
    expect(hits.length - before).toBe(1);
  });

  it('a refused webhook is not retried; a failing allowed one is', async () => {
    const slept: number[] = [];
    const sleep = async (ms: number) => void slept.push(ms);
    const refused = await postWebhook('http://169.254.169.254/hook', { text: 'x' }, { signal: new AbortController().signal, sleep });
    expect(refused).toMatchObject({ ok: false, tries: 1 });
    expect(refused.refused?.rule).toBe('cloud-metadata');
    expect(slept).toEqual([]);
    const lookup = resolver({});
    const unresolvable = await postWebhook(`http://nowhere.test:${port}/hook`, { text: 'x' }, { signal: new AbortController().signal, sleep, tries: 2, lookup });
    expect(unresolvable).toMatchObject({ ok: false, tries: 2 });
    expect(unresolvable.error).toContain('ENOTFOUND');
  });
});
