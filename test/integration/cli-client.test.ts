/** The CLI's HTTP client (node:http) against small loopback servers: token, error mapping, timeouts, SSE. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DaemonClient, followEvents } from '../../src/cli/client.js';
import { TetoraError } from '../../src/errors.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<number> {
  const s = createServer(handler);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as AddressInfo).port;
}

const client = (port: number, opts: { idleTimeoutMs?: number } = {}) =>
  new DaemonClient({ listenHost: '127.0.0.1', listenPort: port, apiToken: 'tok', configPath: '/x/config.json' }, opts);

describe('DaemonClient', () => {
  it('sends the bearer token and a JSON body, and maps an error body to a TetoraError with its code and details', async () => {
    const seen: Array<{ auth?: string; type?: string; body: string }> = [];
    const port = await serve((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ auth: req.headers.authorization, type: req.headers['content-type'], body });
        if (req.url === '/ok') return res.writeHead(202, { 'content-type': 'application/json' }).end('{"id":"t1"}');
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'TET_ERR_TASK_NOT_FOUND', message: 'no task x', details: { id: 'x' } } }));
      });
    });
    expect(await client(port).json('POST', '/ok', { prompt: 'hé' })).toEqual({ status: 202, body: { id: 't1' } });
    expect(seen[0]).toEqual({ auth: 'Bearer tok', type: 'application/json', body: '{"prompt":"hé"}' });
    const err = await client(port).json('GET', '/missing').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TetoraError);
    expect((err as TetoraError).code).toBe('TET_ERR_TASK_NOT_FOUND');
    expect((err as TetoraError).message).toBe('no task x');
    expect((err as TetoraError).details).toEqual({ id: 'x', status: 404 });
  });

  it('gives up on a server that accepts and never answers after the idle timeout, naming the address', async () => {
    const port = await serve(() => {});
    const err = await client(port, { idleTimeoutMs: 300 }).json('GET', '/api/health').catch((e: unknown) => e);
    expect((err as TetoraError).code).toBe('TET_ERR_DAEMON_UNREACHABLE');
    expect((err as TetoraError).message).toContain(`127.0.0.1:${port}`);
    expect((err as TetoraError).message).toContain('ETIMEDOUT');
  });

  it('names a refused connection', async () => {
    const port = await serve(() => {});
    servers.pop()?.close();
    const err = await client(port).json('GET', '/api/health').catch((e: unknown) => e);
    expect((err as TetoraError).code).toBe('TET_ERR_DAEMON_UNREACHABLE');
    expect((err as TetoraError).message).toContain('ECONNREFUSED');
  });

  it('follows an SSE stream whose multi-byte characters are split across writes, and resumes with Last-Event-ID after a drop', async () => {
    const ids: Array<string | undefined> = [];
    const port = await serve((req, res) => {
      ids.push(req.headers['last-event-id'] as string | undefined);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const frame = (seq: number, type: string, text: string) => Buffer.from(`id: ${seq}\ndata: ${JSON.stringify({ seq, taskId: 't', at: '', type, data: { text } })}\n\n`);
      if (ids.length === 1) {
        const b = frame(1, 'provider.text', '🚀é');
        const cut = b.indexOf(Buffer.from('🚀')) + 2; // inside the 4-byte emoji
        res.write(b.subarray(0, cut));
        setTimeout(() => {
          res.write(b.subarray(cut), () => setTimeout(() => res.destroy(), 20)); // dropped before the end
        }, 20);
      } else {
        res.end(frame(2, 'succeeded', ''));
      }
    });
    const got: Array<{ type: string; text: unknown }> = [];
    await followEvents(client(port), '/api/tasks/t/events', (e) => void got.push({ type: e.type, text: e.data.text }), { retries: 3 });
    expect(got).toEqual([
      { type: 'provider.text', text: '🚀é' },
      { type: 'succeeded', text: '' },
    ]);
    expect(ids).toEqual([undefined, '1']);
  });

  it("a refused event stream is the daemon's error (a wrong token: its code, its message, exit 1), not retried", async () => {
    let requests = 0;
    const port = await serve((_req, res) => {
      requests++;
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'TET_ERR_HTTP_UNAUTHORIZED', message: 'the bearer token is wrong; use the apiToken from the daemon config.', details: { reason: 'wrong token' } } }));
    });
    const err = await followEvents(client(port), '/api/tasks/t/events', () => undefined, { retries: 3 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TetoraError);
    expect((err as TetoraError).code).toBe('TET_ERR_HTTP_UNAUTHORIZED');
    expect((err as TetoraError).exitCode).toBe(1);
    expect((err as TetoraError).message).toBe('the bearer token is wrong; use the apiToken from the daemon config.');
    expect(requests).toBe(1);
  });

  it('waits for a slow onEvent before reading more of the stream', async () => {
    const port = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let seq = 1; seq <= 3; seq++) res.write(`id: ${seq}\ndata: ${JSON.stringify({ seq, taskId: 't', at: '', type: seq === 3 ? 'succeeded' : 'provider.text', data: {} })}\n\n`);
      res.end();
    });
    const order: string[] = [];
    await followEvents(client(port), '/api/tasks/t/events', async (e) => {
      order.push(`start ${e.seq}`);
      await new Promise((r) => setTimeout(r, 20));
      order.push(`end ${e.seq}`);
    });
    expect(order).toEqual(['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
  });
});
