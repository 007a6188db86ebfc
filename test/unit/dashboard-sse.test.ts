import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { openStream, type StreamState } from '../../src/dashboard/ui/stream.js';

/**
 * The dashboard's event-stream client (src/dashboard/ui/sse.ts) against a real HTTP server on loopback:
 * a dropped stream reconnects with Last-Event-ID (no gap, no duplicate), a stream ended by its last event
 * is not reopened, a 401 is reported as such.
 */
let server: Server | undefined;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

function serve(handler: (req: IncomingMessage, n: number, res: import('node:http').ServerResponse) => void): Promise<string> {
  let n = 0;
  server = createServer((req, res) => handler(req, ++n, res));
  return new Promise((r) => server!.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(server!.address() as AddressInfo).port}/events`)));
}

const frame = (id: number, type: string) => `id: ${id}\nevent: ${type}\ndata: ${JSON.stringify({ seq: id, type })}\n\n`;

describe('dashboard SSE client', () => {
  it('reconnects after a dropped connection with Last-Event-ID and stops after the last event', async () => {
    const seen: Array<string | undefined> = [];
    const url = await serve((req, n, res) => {
      seen.push(req.headers['last-event-id'] as string | undefined);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (n === 1) {
        res.write(': connected\n\n' + frame(1, 'queued') + frame(2, 'running'));
        // Dropped mid-frame: the half frame must not be delivered.
        res.end('id: 3\nevent: provider.text\nda');
        return;
      }
      res.end(frame(3, 'provider.text') + frame(4, 'succeeded'));
    });
    const events: Array<[string, number]> = [];
    const states: StreamState[] = [];
    await new Promise<void>((done) => {
      openStream(url, (type, _d, id) => events.push([type, id]), (s) => {
        states.push(s);
        if (s === 'ended') done();
      }, { isEnd: (type) => type === 'succeeded' });
    });
    expect(events).toEqual([['queued', 1], ['running', 2], ['provider.text', 3], ['succeeded', 4]]);
    expect(seen).toEqual([undefined, '2']);
    expect(states).toEqual(['connecting', 'live', 'reconnecting', 'live', 'ended']);
  });

  it('resumes from a given id and reports a 401 without retrying', async () => {
    const seen: Array<string | undefined> = [];
    const url = await serve((req, _n, res) => {
      seen.push(req.headers['last-event-id'] as string | undefined);
      res.writeHead(401, { 'content-type': 'application/json' }).end('{}');
    });
    let lost = 0;
    const state = await new Promise<StreamState>((done) => {
      openStream(url, () => undefined, (s) => s === 'unauthorized' && done(s), { from: 41, onUnauthorized: () => lost++ });
    });
    expect(state).toBe('unauthorized');
    expect(lost).toBe(1);
    expect(seen).toEqual(['41']);
  });
});
