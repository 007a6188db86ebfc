import { request, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { ResolvedConfig } from '../config/types.js';
import { TetoraError, errorCatalog, isTetoraError, messageOf, type ErrorCode } from '../errors.js';
import { isTerminalType, type EventView } from './format.js';
import { SseParser } from './sse.js';

export { SseParser, type SseMessage } from './sse.js';

/** A response whose body has not been read yet (an SSE stream is read as it comes). */
export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body as UTF-8 text chunks (multi-byte characters are never split). */
  body: AsyncIterable<string>;
  /** Reads the whole body. */
  text(): Promise<string>;
  /** Drops the connection (a stream the caller stops reading). */
  close(): void;
}

/**
 * How long a request may go without a byte from the daemon (connecting, waiting for the answer, or
 * between two chunks of an event stream, which carries a heartbeat every 15 s) before it counts as gone.
 */
export const IDLE_TIMEOUT_MS = 60_000;

/**
 * The CLI's HTTP client for a running daemon: address and token come from the config. It speaks
 * node:http, not fetch: fetch refuses the ports on the WHATWG "bad ports" list (6000, 6667, 10080, …),
 * on which a daemon listens as well as on any other.
 */
export class DaemonClient {
  readonly base: string;
  readonly #hostname: string;
  constructor(
    private readonly config: Pick<ResolvedConfig, 'listenHost' | 'listenPort' | 'apiToken' | 'configPath'>,
    private readonly opts: { idleTimeoutMs?: number } = {},
  ) {
    const host = config.listenHost === '0.0.0.0' ? '127.0.0.1' : config.listenHost === '::' ? '::1' : config.listenHost;
    this.#hostname = host;
    this.base = `http://${host.includes(':') ? `[${host}]` : host}:${config.listenPort}`;
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.config.apiToken ? { authorization: `Bearer ${this.config.apiToken}` } : {}), ...extra };
  }

  unreachable(err: unknown): TetoraError {
    const e = err as { code?: unknown; cause?: { code?: unknown } } | undefined;
    const cause = typeof e?.code === 'string' ? e.code : typeof e?.cause?.code === 'string' ? e.cause.code : messageOf(err);
    return new TetoraError(
      'TET_ERR_DAEMON_UNREACHABLE',
      `no Tetora daemon answers at ${this.base} (${cause}). Start one with \`tetora serve\` (config ${this.config.configPath}), or check listenAddr.`,
      { url: this.base },
    );
  }

  /**
   * One request; resolves once the status and headers arrived. A connection that fails or stays silent
   * for the idle timeout becomes TET_ERR_DAEMON_UNREACHABLE; an abort through `signal` rejects with an
   * AbortError.
   */
  raw(method: string, path: string, body?: unknown, extra: Record<string, string> = {}, signal?: AbortSignal): Promise<RawResponse> {
    const idleMs = this.opts.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers = this.headers(payload === undefined ? extra : { 'content-type': 'application/json', 'content-length': String(payload.length), ...extra });
    return new Promise((resolve, reject) => {
      const req = request(
        { hostname: this.#hostname, port: this.config.listenPort, path, method, headers, agent: false, ...(signal ? { signal } : {}) },
        (res) => resolve(wrap(res)),
      );
      req.setTimeout(idleMs, () => req.destroy(Object.assign(new Error(`no answer within ${idleMs / 1000} s`), { code: 'ETIMEDOUT' })));
      req.on('error', (err) => reject(err.name === 'AbortError' ? err : this.unreachable(err)));
      req.end(payload);
    });
  }

  /** JSON request; a daemon error becomes a TetoraError with the daemon's code, message and details. */
  async json<T>(method: string, path: string, body?: unknown, extra: Record<string, string> = {}): Promise<{ status: number; body: T }> {
    const res = await this.raw(method, path, body, extra);
    const text = await res.text();
    if (res.status >= 300) throw errorFromResponse(res.status, text, this.base);
    try {
      return { status: res.status, body: (text ? JSON.parse(text) : {}) as T };
    } catch {
      throw notTetora(res.status, this.base);
    }
  }

  /**
   * A task's whole output (GET /api/tasks/:id/output) as it arrives, also when it is too large for the
   * task row and served from its spool file; a daemon error becomes its TetoraError.
   */
  async output(id: string): Promise<AsyncIterable<string>> {
    const res = await this.raw('GET', `/api/tasks/${encodeURIComponent(id)}/output`);
    if (res.status >= 300) throw errorFromResponse(res.status, await res.text(), this.base);
    return res.body;
  }
}

function notTetora(status: number, base: string): TetoraError {
  return new TetoraError('TET_ERR_DAEMON_UNREACHABLE', `the server at ${base} answered ${status} with something that is not Tetora's JSON; is listenAddr pointing at another program?`, { url: base, status });
}

/**
 * The error an answer with status >= 300 stands for: the daemon's own (its code, message and details,
 * plus `status`) when the body is Tetora's error JSON; an unknown code becomes TET_ERR_HTTP_BAD_REQUEST;
 * a body that is not JSON means another program answers (TET_ERR_DAEMON_UNREACHABLE with `status`). Pure.
 */
export function errorFromResponse(status: number, text: string, base: string): TetoraError {
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {
    return notTetora(status, base);
  }
  const e = parsed && typeof parsed === 'object' ? (parsed as { error?: { code?: unknown; message?: unknown; details?: unknown } }).error : undefined;
  const code: ErrorCode = typeof e?.code === 'string' && Object.hasOwn(errorCatalog, e.code) ? (e.code as ErrorCode) : 'TET_ERR_HTTP_BAD_REQUEST';
  const details = e?.details && typeof e.details === 'object' && !Array.isArray(e.details) ? (e.details as Record<string, unknown>) : {};
  const message = typeof e?.message === 'string' && e.message !== '' ? e.message : `the daemon at ${base} answered HTTP ${status} without saying why; check its log.`;
  return new TetoraError(code, message, { ...details, status });
}

function wrap(res: IncomingMessage): RawResponse {
  res.setEncoding('utf8');
  return {
    status: res.statusCode ?? 0,
    headers: res.headers,
    body: res,
    async text() {
      const parts: string[] = [];
      for await (const chunk of res) parts.push(chunk as string);
      return parts.join('');
    },
    close() {
      res.destroy();
    },
  };
}

/**
 * Follow an SSE stream until `onEvent` says stop (true) or the stream ends after a terminal event.
 * `onEvent` may return a promise (e.g. waiting for stdout to drain): no more of the stream is read until
 * it settles, so a slow reader of the CLI's output slows the daemon's sending (TCP backpressure) instead
 * of filling the CLI's memory. A dropped connection, a daemon that restarts (connection refused, 503
 * while it drains or starts) or a stream the daemon ended while shutting down is resumed with
 * Last-Event-ID, within `retries` tries in a row. Any other answer is the daemon's error.
 */
export async function followEvents(
  client: DaemonClient,
  path: string,
  onEvent: (e: EventView) => boolean | void | Promise<boolean | void>,
  opts: { signal?: AbortSignal; retries?: number } = {},
): Promise<void> {
  let last: string | undefined;
  let failures = 0;
  const retries = opts.retries ?? 30;
  for (;;) {
    let problem: unknown;
    try {
      const res = await client.raw('GET', path, undefined, last ? { 'last-event-id': last } : {}, opts.signal);
      if (res.status === 503) {
        res.close();
        problem = new Error('the daemon is draining or starting (503)');
      } else if (res.status !== 200) {
        throw errorFromResponse(res.status, await res.text(), client.base);
      } else {
        failures = 0;
        const parser = new SseParser();
        let ended = false;
        try {
          for await (const chunk of res.body) {
            for (const m of parser.feed(chunk)) {
              if (m.id) last = m.id;
              const e = JSON.parse(m.data) as EventView;
              let stop = onEvent(e);
              if (stop instanceof Promise) stop = await stop;
              if (stop === true) return;
              if (isTerminalType(e.type)) ended = true;
            }
          }
        } finally {
          res.close();
        }
        if (ended) return; // the daemon ended the stream after the terminal event
        problem = new Error('the daemon closed the stream (shutting down?)');
      }
    } catch (err) {
      if ((err as Error).name === 'AbortError' || opts.signal?.aborted) return;
      // Only "nothing answers" is worth another try; an answer (the daemon's error, another program) is final.
      if (isTetoraError(err) && !(err.code === 'TET_ERR_DAEMON_UNREACHABLE' && err.details?.status === undefined)) throw err;
      problem = err;
    }
    if (opts.signal?.aborted) return;
    if (++failures > retries) throw isTetoraError(problem) ? problem : client.unreachable(problem);
    await new Promise((r) => setTimeout(r, Math.min(2000, 250 * failures)));
  }
}
