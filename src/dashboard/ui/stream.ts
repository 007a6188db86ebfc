import { SseParser } from './sse-parse.js';

/**
 * Server-Sent Events read with fetch (so every event type arrives, the cookie goes along, a 401 is seen
 * as one and `Last-Event-ID` can be sent): on a dropped connection it reconnects after a backoff with
 * `Last-Event-ID: <last id seen>` (the daemon replays from there: no gap, no duplicate). A stream the
 * daemon ends on purpose (a finished task or run) is not reopened.
 */
export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'ended' | 'unauthorized';

export interface StreamOptions {
  /** Resume after this event id. */
  from?: number;
  /** The stream's last event: once seen, the stream is over (the daemon closes it too). */
  isEnd?: (type: string, data: Record<string, unknown>) => boolean;
  /** Called on 401 (the session is gone). */
  onUnauthorized?: () => void;
}

export interface StreamHandle {
  close(): void;
}

export function openStream(
  url: string,
  onEvent: (type: string, data: Record<string, unknown>, id: number) => void,
  onState: (s: StreamState) => void,
  opts: StreamOptions = {},
): StreamHandle {
  let last = opts.from;
  let closed = false;
  let ended = false;
  let failures = 0;
  let ctrl: AbortController | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const run = async () => {
    if (closed) return;
    ctrl = new AbortController();
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (last !== undefined) headers['last-event-id'] = String(last);
    try {
      const res = await fetch(url, { headers, credentials: 'same-origin', signal: ctrl.signal });
      if (res.status === 401) {
        onState('unauthorized');
        opts.onUnauthorized?.();
        return;
      }
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      onState('live');
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      const parser = new SseParser();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const m of parser.feed(value)) {
          let data: Record<string, unknown>;
          try {
            data = JSON.parse(m.data) as Record<string, unknown>;
          } catch {
            continue;
          }
          const id = m.id !== undefined ? Number(m.id) : NaN;
          if (Number.isFinite(id)) last = id;
          failures = 0;
          onEvent(m.event, data, id);
          if (opts.isEnd?.(m.event, data)) ended = true;
        }
      }
      // The daemon ended the stream: the task or run is over (or the daemon is stopping: reconnect).
      if (ended) {
        onState('ended');
        return;
      }
    } catch {
      if (closed) return;
    }
    if (closed || ended) return;
    failures++;
    onState('reconnecting');
    timer = setTimeout(() => void run(), Math.min(15_000, 500 * 2 ** Math.min(failures - 1, 5)));
  };
  onState('connecting');
  void run();
  return {
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      ctrl?.abort();
    },
  };
}
