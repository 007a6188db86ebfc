/** streamEvents on a real fastify server and socket: whatever ends a stream releases what it holds. */
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { streamEvents } from '../../src/http/sse.js';

const apps: Array<ReturnType<typeof Fastify>> = [];
afterEach(async () => {
  for (const a of apps.splice(0)) {
    a.server.closeAllConnections();
    await a.close();
  }
});

/** GET `path` and read the body to its end. */
function readAll(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body));
    })
      .on('error', reject)
      .end();
  });
}

describe('an SSE stream whose store fails as the replay ends', () => {
  it('ends the response and drops its subscription (endedAfterReplay throwing)', async () => {
    let subscribed = 0;
    const app = Fastify();
    apps.push(app);
    app.get('/s', async (_req, reply) => {
      await streamEvents(reply, {
        from: 0,
        subscribe: () => {
          subscribed++;
          return () => void subscribed--;
        },
        replay: () => [],
        filter: () => true,
        isEnd: () => false,
        // The store closes at this very moment (the daemon is stopping).
        endedAfterReplay: () => {
          throw new Error('The database connection is not open');
        },
      });
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const body = await readAll((app.server.address() as AddressInfo).port, '/s');
    expect(body).toBe(': connected\n\n');
    expect(subscribed).toBe(0);
  });
});
