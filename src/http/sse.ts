import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { TetoraError } from '../errors.js';
import type { TaskEvent } from '../store/tasks.js';
import { eventJson } from './serialize.js';

/** One Server-Sent Events frame: the event's seq is its id, so a client resumes with Last-Event-ID. */
export function sseFrame(e: TaskEvent): string {
  return `id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(eventJson(e))}\n\n`;
}

/**
 * SSE limits. Replay reads the store a page at a time (at most `pageEvents` events and about `pageBytes`
 * bytes of event data) and reads the next page only once the socket has drained, so a replay of a huge
 * task holds about one page per client, never the task. A live client whose unsent data passes
 * `maxBufferedBytes` (its task writes faster than any socket drains) gets no more live events: it goes
 * back to paged replay from the last event it was sent, and live again once caught up. Only a client whose
 * socket sends nothing for `stallMs` is disconnected, with an SSE comment naming the reason.
 */
export interface SseLimits {
  /** @default 1000 */
  pageEvents: number;
  /** @default 256 KiB */
  pageBytes: number;
  /** @default 8 MiB */
  maxBufferedBytes: number;
  /** @default 60 s */
  stallMs: number;
}

export const DEFAULT_SSE_LIMITS: SseLimits = { pageEvents: 1000, pageBytes: 256 * 1024, maxBufferedBytes: 8 * 1024 * 1024, stallMs: 60_000 };

/**
 * Stream events: replay from the store after `from` in pages, then go live with no gap and no duplicate.
 * Live events are not buffered while the replay runs: they are committed before they are published, so
 * the replay's next page reads them; the switch to live happens in the same turn as the last (empty)
 * page. A live client that falls more than `maxBufferedBytes` behind is switched back to replay the same
 * way. Heartbeat comments keep proxies from closing the stream. `isEnd(e)` ends the stream after that
 * event — also when its seq is at or below `from` (a Last-Event-ID beyond the last event must not keep the
 * stream of an ended task open). Resolves when the stream ends; never rejects.
 */
export async function streamEvents<E extends { seq: number } = TaskEvent>(
  reply: FastifyReply,
  opts: {
    from: number;
    subscribe(fn: (e: E) => void): () => void;
    /** Up to `limit` events after `after` (about `maxBytes` of data at most, at least one event). */
    replay(after: number, limit: number, maxBytes: number): E[];
    filter(e: E): boolean;
    isEnd(e: E): boolean;
    /** The SSE frame of an event. @default sseFrame (task events) */
    frame?(e: E): string;
    /** Called after the first replay: true when the stream should end at once (e.g. the task already ended). */
    endedAfterReplay?(): boolean;
    heartbeatMs?: number;
    limits?: Partial<SseLimits>;
    /** Ends the stream when aborted (the daemon is stopping; clients reconnect with Last-Event-ID). */
    shutdown?: AbortSignal;
    /** Told when the stream opens and once when it ends, with the reason when the daemon ended it for a stalled client. */
    onOpen?(): void;
    onClose?(reason?: string): void;
  },
): Promise<void> {
  const limits = { ...DEFAULT_SSE_LIMITS, ...opts.limits };
  reply.hijack();
  const res = reply.raw;
  if (opts.shutdown?.aborted) {
    res.end();
    return;
  }
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  opts.onOpen?.();
  let last = opts.from;
  let live = false;
  let closed = false;
  /** Bytes handed to the response; minus what is still unsent, what the socket has sent. */
  let written = 0;
  const write = (text: string) => {
    written += Buffer.byteLength(text);
    res.write(text);
  };
  /** Wakes the loop below: the stream closed, the socket drained, or a live client fell behind. */
  let wake: (() => void) | undefined;
  const nudge = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const ended = new Promise<void>((r) => res.once('close', r));
  const close = (reason?: string) => {
    if (closed) return;
    closed = true;
    off();
    clearInterval(hb);
    clearInterval(watch);
    res.off('drain', nudge);
    opts.shutdown?.removeEventListener('abort', onShutdown);
    nudge();
    opts.onClose?.(reason);
    if (reason === undefined) {
      res.end();
      return;
    }
    // Stalled: say why (a client that reads again sees it after what it already has), then let go of
    // the socket's memory even if the client never reads again.
    const socket = res.socket;
    res.end(`: disconnected: ${reason}\n\n`, () => socket?.end());
    setTimeout(() => res.destroy(), limits.stallMs).unref();
  };
  const onShutdown = () => close();
  opts.shutdown?.addEventListener('abort', onShutdown, { once: true });
  res.on('close', () => close());
  res.on('drain', nudge);
  write(': connected\n\n');

  const frame = opts.frame ?? ((e: E) => sseFrame(e as unknown as TaskEvent));
  const send = (e: E) => {
    if (closed) return;
    if (e.seq > last && opts.filter(e)) {
      last = e.seq;
      write(frame(e));
    }
    if (opts.isEnd(e) && opts.filter(e)) close();
  };
  const off = opts.subscribe((e) => {
    if (!live || closed) return;
    send(e);
    // Too far behind to stay live (a task can publish faster than any socket drains): stop writing live
    // events; the loop replays what this client missed from the store once its socket has drained.
    if (!closed && res.writableLength > limits.maxBufferedBytes) {
      live = false;
      nudge();
    }
  });
  const hb = setInterval(() => {
    if (!closed) write(`: heartbeat ${new Date().toISOString()}\n\n`);
  }, opts.heartbeatMs ?? 15_000);
  // A socket that sends nothing of what waits for it for `stallMs` belongs to a client that stopped
  // reading: disconnect it, so a client cannot hold a socket and its buffers for as long as it likes.
  let sentBest = 0;
  let progressAt = Date.now();
  const watch = setInterval(() => {
    const sent = written - res.writableLength;
    if (!res.writableNeedDrain || sent > sentBest) {
      sentBest = Math.max(sentBest, sent);
      progressAt = Date.now();
      return;
    }
    if (Date.now() - progressAt >= limits.stallMs) {
      close(`this client read nothing for ${Math.round(limits.stallMs / 1000)} s while ${res.writableLength} bytes waited to be sent; reconnect with Last-Event-ID ${last} to resume`);
    }
  }, Math.max(10, Math.min(Math.floor(limits.stallMs / 4), 5000)));
  watch.unref();

  /** Resolves once the socket has room again (at once, after one turn of the event loop, when it has), or the stream closed. */
  const drained = async () => {
    if (!res.writableNeedDrain) {
      await new Promise((r) => setImmediate(r));
      return;
    }
    while (!closed && res.writableNeedDrain) await new Promise<void>((r) => (wake = r));
  };

  const pump = async () => {
    let first = true;
    while (!closed) {
      // Catch up from the store a page at a time; each page is read once the one before has left.
      for (;;) {
        await drained();
        if (closed) return;
        const page = opts.replay(last, limits.pageEvents, limits.pageBytes);
        if (page.length === 0) break;
        for (const e of page) send(e);
        if (closed) return;
        last = Math.max(last, (page[page.length - 1] as E).seq);
      }
      // Live, in the same turn as the empty page: nothing is missed, nothing sent twice.
      live = true;
      if (first && opts.endedAfterReplay?.()) return;
      first = false;
      // Until the stream closes, or the client falls behind and catches up again (live = false).
      while (!closed && live) await new Promise<void>((r) => (wake = r));
    }
  };
  try {
    await pump();
  } catch {
    // The store closed under the stream (the daemon is stopping): end; the client resumes later.
  } finally {
    // Whatever ended the loop, the subscription, the timers and the response end with it.
    close();
  }
  await ended;
}

const sseLimitsSchema = z
  .object({
    pageEvents: z.number().int().min(1),
    pageBytes: z.number().int().min(1),
    maxBufferedBytes: z.number().int().min(1),
    stallMs: z.number().int().min(10),
  })
  .partial()
  .strict();

/**
 * SSE limits from the TETORA_SSE_LIMITS environment variable (JSON, e.g. `{"stallMs": 2000}`): a knob for
 * tests and the bench, not a setting for users. Unset or empty: none. Pure. Throws TET_ERR_CONFIG_INVALID.
 */
export function sseLimitsFromEnv(text: string | undefined): Partial<SseLimits> {
  if (text === undefined || text.trim() === '') return {};
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    raw = undefined;
  }
  const parsed = sseLimitsSchema.safeParse(raw);
  if (!parsed.success) {
    throw new TetoraError(
      'TET_ERR_CONFIG_INVALID',
      `TETORA_SSE_LIMITS is ${JSON.stringify(text.slice(0, 200))}: expected a JSON object with whole numbers pageEvents, pageBytes, maxBufferedBytes (1 or more) and stallMs (10 or more); unset it to use the defaults.`,
      { field: 'TETORA_SSE_LIMITS' },
    );
  }
  return Object.fromEntries(Object.entries(parsed.data).filter((e) => e[1] !== undefined)) as Partial<SseLimits>;
}
