import type { FastifyReply, FastifyRequest } from 'fastify';
import type { TaskEvent } from '../store/tasks.js';
import { eventJson } from './serialize.js';

/** One Server-Sent Events frame: the event's seq is its id, so a client resumes with Last-Event-ID. */
export function sseFrame(e: TaskEvent): string {
  return `id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(eventJson(e))}\n\n`;
}

/** Where to resume: the Last-Event-ID header, or ?lastEventId=, or 0 (from the start). */
export function lastEventId(req: FastifyRequest): number {
  const h = req.headers['last-event-id'];
  const q = (req.query as Record<string, string | undefined>).lastEventId;
  const raw = (Array.isArray(h) ? h[0] : h) ?? q;
  const n = Number(raw);
  return Number.isInteger(n) && n > 0 ? n : 0;
}

/**
 * Stream events: subscribe first (buffering), replay from the store, then go live with no gap and no
 * duplicate (events are ordered by seq). Heartbeat comments keep proxies from closing the stream.
 * `isEnd(e)` ends the stream after that event. Returns when the stream ends.
 */
export function streamEvents(
  req: FastifyRequest,
  reply: FastifyReply,
  opts: {
    subscribe(fn: (e: TaskEvent) => void): () => void;
    replay(after: number): TaskEvent[];
    filter(e: TaskEvent): boolean;
    isEnd(e: TaskEvent): boolean;
    /** Called after the replay: true when the stream should end at once (e.g. the task already ended). */
    endedAfterReplay?(): boolean;
    heartbeatMs?: number;
    /** Ends the stream when aborted (the daemon is stopping; clients reconnect with Last-Event-ID). */
    shutdown?: AbortSignal;
  },
): void {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write(': connected\n\n');
  let last = lastEventId(req);
  let live = false;
  let closed = false;
  const buffer: TaskEvent[] = [];
  const close = () => {
    if (closed) return;
    closed = true;
    off();
    clearInterval(hb);
    opts.shutdown?.removeEventListener('abort', close);
    res.end();
  };
  if (opts.shutdown?.aborted) {
    res.end();
    return;
  }
  opts.shutdown?.addEventListener('abort', close, { once: true });
  const send = (e: TaskEvent) => {
    if (closed || e.seq <= last || !opts.filter(e)) return;
    last = e.seq;
    res.write(sseFrame(e));
    if (opts.isEnd(e)) close();
  };
  const off = opts.subscribe((e) => (live ? send(e) : buffer.push(e)));
  const hb = setInterval(() => res.write(`: heartbeat ${new Date().toISOString()}\n\n`), opts.heartbeatMs ?? 15_000);
  res.on('close', close);
  // Replay in pages; the store is the source of truth.
  for (;;) {
    const page = opts.replay(last);
    if (page.length === 0) break;
    for (const e of page) send(e);
    if (closed) return;
    last = Math.max(last, (page[page.length - 1] as TaskEvent).seq);
  }
  live = true;
  for (const e of buffer.splice(0)) send(e);
  if (!closed && opts.endedAfterReplay?.()) close();
}
