import { once } from 'node:events';
import type { FastifyReply } from 'fastify';
import type { TaskEvent } from '../store/tasks.js';
import { eventJson } from './serialize.js';

/** One Server-Sent Events frame: the event's seq is its id, so a client resumes with Last-Event-ID. */
export function sseFrame(e: TaskEvent): string {
  return `id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(eventJson(e))}\n\n`;
}

/**
 * SSE limits. Replay reads the store a page at a time (at most `pageEvents` events and about `pageBytes`
 * bytes of event data) and reads the next page only once the socket has drained, so a replay of a huge
 * task holds about one page per client, never the task. A client whose unsent data passes
 * `maxBufferedBytes` (it reads more slowly than its task writes) is disconnected, with an SSE comment
 * naming the reason; it resumes with Last-Event-ID.
 */
export interface SseLimits {
  pageEvents: number;
  pageBytes: number;
  maxBufferedBytes: number;
}

/** How long a disconnected slow client has to read what is left (the reason comes last) before its socket is dropped. */
const SLOW_CLIENT_GRACE_MS = 30_000;

export const DEFAULT_SSE_LIMITS: SseLimits = { pageEvents: 1000, pageBytes: 256 * 1024, maxBufferedBytes: 8 * 1024 * 1024 };

/**
 * Stream events: replay from the store after `from` in pages, then go live with no gap and no duplicate.
 * Live events are not buffered while the replay runs: they are committed before they are published, so
 * the replay's next page reads them; the switch to live happens in the same turn as the last (empty)
 * page. Heartbeat comments keep proxies from closing the stream. `isEnd(e)` ends the stream after that
 * event — also when its seq is at or below `from` (a Last-Event-ID beyond the last event must not keep the
 * stream of an ended task open). Resolves when the stream ends.
 */
export async function streamEvents(
  reply: FastifyReply,
  opts: {
    from: number;
    subscribe(fn: (e: TaskEvent) => void): () => void;
    /** Up to `limit` events after `after` (about `maxBytes` of data at most, at least one event). */
    replay(after: number, limit: number, maxBytes: number): TaskEvent[];
    filter(e: TaskEvent): boolean;
    isEnd(e: TaskEvent): boolean;
    /** Called after the replay: true when the stream should end at once (e.g. the task already ended). */
    endedAfterReplay?(): boolean;
    heartbeatMs?: number;
    limits?: Partial<SseLimits>;
    /** Ends the stream when aborted (the daemon is stopping; clients reconnect with Last-Event-ID). */
    shutdown?: AbortSignal;
  },
): Promise<void> {
  const limits = { ...DEFAULT_SSE_LIMITS, ...opts.limits };
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write(': connected\n\n');
  let last = opts.from;
  let live = false;
  let closed = false;
  const ended = new Promise<void>((r) => res.once('close', r));
  const close = (reason?: string) => {
    if (closed) return;
    closed = true;
    off();
    clearInterval(hb);
    opts.shutdown?.removeEventListener('abort', onShutdown);
    if (reason === undefined) {
      res.end();
      return;
    }
    // Too slow: say why (a client that reads at all sees it after what it already has), then let go
    // of the socket's memory even if the client never reads again.
    const socket = res.socket;
    res.end(`: disconnected: ${reason}\n\n`, () => socket?.end());
    setTimeout(() => res.destroy(), SLOW_CLIENT_GRACE_MS).unref();
  };
  const onShutdown = () => close();
  if (opts.shutdown?.aborted) {
    res.end();
    return;
  }
  opts.shutdown?.addEventListener('abort', onShutdown, { once: true });
  const tooSlow = () => {
    if (res.writableLength <= limits.maxBufferedBytes) return false;
    close(`this client reads more slowly than its events arrive (more than ${limits.maxBufferedBytes} bytes waited to be sent); reconnect with Last-Event-ID ${last} to resume`);
    return true;
  };
  const send = (e: TaskEvent) => {
    if (closed) return;
    if (e.seq > last && opts.filter(e)) {
      last = e.seq;
      res.write(sseFrame(e));
      if (tooSlow()) return;
    }
    if (opts.isEnd(e) && opts.filter(e)) close();
  };
  const off = opts.subscribe((e) => {
    if (live) send(e);
  });
  const hb = setInterval(() => {
    if (closed) return;
    res.write(`: heartbeat ${new Date().toISOString()}\n\n`);
    tooSlow();
  }, opts.heartbeatMs ?? 15_000);
  res.on('close', () => close());
  try {
    for (;;) {
      const page = opts.replay(last, limits.pageEvents, limits.pageBytes);
      if (page.length === 0) break;
      for (const e of page) send(e);
      if (closed) return;
      last = Math.max(last, (page[page.length - 1] as TaskEvent).seq);
      // Backpressure: the next page waits until this one has left (or the client went away).
      if (res.writableNeedDrain) await Promise.race([once(res, 'drain'), ended]);
      else await new Promise((r) => setImmediate(r));
      if (closed) return;
    }
  } catch {
    // The store closed under the replay (the daemon is stopping): end; the client resumes later.
    close();
    return;
  }
  live = true;
  if (opts.endedAfterReplay?.()) close();
  await ended;
}
