/**
 * Reading a Discord text attachment into a prompt (src/channels/discord/intake.ts `fetchText`) against a
 * real HTTP server on 127.0.0.1: the URL comes from a message, so it passes the outbound guard like any
 * user-given URL, and at most 1 MB is read whatever size the message declared. Nothing here connects
 * anywhere but 127.0.0.1 (refused destinations are refused before any connection).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchText } from '../../src/channels/discord/intake.js';
import { MAX_TEXT_ATTACHMENT, type InboundAttachment } from '../../src/channels/discord/inbound.js';
import { outboundPolicy } from '../../src/outbound/address.js';

let server: Server;
let base = '';
const paths: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    paths.push(req.url ?? '');
    if (req.url === '/notes.txt') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('the notes — ünïcode\n');
    } else if (req.url === '/liar.txt') {
      // Declared as a few bytes in the message; serves 3 MiB.
      res.writeHead(200, { 'content-type': 'text/plain' });
      const piece = 'x'.repeat(64 * 1024);
      for (let i = 0; i < 48; i++) res.write(piece);
      res.end();
    } else if (req.url === '/to-metadata') {
      res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' });
      res.end();
    } else {
      res.writeHead(404);
      res.end('no such file');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const att = (path: string, size = 20): InboundAttachment => ({ name: path.slice(1), url: `${base}${path}`, contentType: 'text/plain', size });

describe('fetchText (Discord text attachments)', () => {
  it('reads a text attachment as UTF-8', async () => {
    await expect(fetchText(att('/notes.txt'), outboundPolicy(undefined))).resolves.toBe('the notes — ünïcode\n');
  });

  it('stops at 1 MB whatever size the message declared, and says so', async () => {
    const err = await fetchText(att('/liar.txt', 10), outboundPolicy(undefined)).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toContain(`larger than ${MAX_TEXT_ATTACHMENT} bytes`);
    expect(err?.message).toContain('text attachment');
  });

  it('refuses a redirect to a cloud metadata address, naming the setting that would allow it', async () => {
    paths.length = 0;
    await expect(fetchText(att('/to-metadata'), outboundPolicy(undefined))).rejects.toThrow(/TET_ERR_OUTBOUND_REFUSED.*cloud metadata.*outboundHttp\.allow/);
    expect(paths).toEqual(['/to-metadata']);
  });

  it('follows outboundHttp.blockPrivateNetworks: 127.0.0.1 is not asked at all', async () => {
    paths.length = 0;
    await expect(fetchText(att('/notes.txt'), outboundPolicy({ allow: [], blockPrivateNetworks: true }))).rejects.toThrow(/loopback.*outboundHttp\.blockPrivateNetworks/);
    expect(paths).toEqual([]);
    await expect(fetchText(att('/notes.txt'), outboundPolicy({ allow: ['127.0.0.1'], blockPrivateNetworks: true }))).resolves.toBe('the notes — ünïcode\n');
  });

  it('names the status of a failed answer', async () => {
    await expect(fetchText(att('/gone.txt'), outboundPolicy(undefined))).rejects.toThrow(/answered 404: no such file/);
  });
});
