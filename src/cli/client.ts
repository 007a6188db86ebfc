import { request, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { ResolvedConfig } from '../config/types.js';
import { TetoraError, errorCatalog, isTetoraError, messageOf, type ErrorCode } from '../errors.js';
import { isTerminalType } from './format.js';
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
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      throw new TetoraError('TET_ERR_DAEMON_UNREACHABLE', `the server at ${this.base} answered ${res.status} with something that is not Tetora's JSON; is listenAddr pointing at another program?`, { url: this.base, status: res.status });
    }
    if (res.status >= 300) {
      const e = (parsed as { error?: { code?: string; message?: string; details?: unknown } }).error;
      const code: ErrorCode = e?.code && e.code in errorCatalog ? (e.code as ErrorCode) : 'TET_ERR_HTTP_BAD_REQUEST';
      const details = e?.details && typeof e.details === 'object' && !Array.isArray(e.details) ? (e.details as Record<string, unknown>) : {};
      throw new TetoraError(code, `${e?.message ?? `HTTP ${res.status}`}`, { ...details, status: res.status });
    }
    return { status: res.status, body: parsed as T };
  }
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
 * Follow an SSE stream until `onEvent` says stop or the stream ends after a terminal event. A dropped
 * connection, a daemon that restarts (connection refused, 503 while it drains or starts) or a stream the
 * daemon ended while shutting down is resumed with Last-Event-ID, within `retries` tries in a row.
 */
export async function followEvents(
  client: DaemonClient,
  path: string,
  onEvent: (e: { seq: number; taskId: string; at: string; type: string; data: Record<string, unknown> }) => boolean | void,
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
        problem = new Error('the daemon is draining or starting (503)');
      } else if (res.status !== 200) {
        const text = await res.text();
        throw new TetoraError(res.status === 404 ? 'TET_ERR_TASK_NOT_FOUND' : 'TET_ERR_HTTP_BAD_REQUEST', `cannot follow ${path}: HTTP ${res.status} ${text.slice(0, 300)}. Check the task id with \`tetora task list\` and the daemon with \`tetora status\`.`);
      } else {
        failures = 0;
        const parser = new SseParser();
        let ended = false;
        try {
          for await (const chunk of res.body) {
            for (const m of parser.feed(chunk)) {
              if (m.id) last = m.id;
              const e = JSON.parse(m.data) as Parameters<typeof onEvent>[0];
              if (onEvent(e) === true) return;
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
      if (isTetoraError(err) && err.code !== 'TET_ERR_DAEMON_UNREACHABLE') throw err;
      problem = err;
    }
    if (opts.signal?.aborted) return;
    if (++failures > retries) throw isTetoraError(problem) ? problem : client.unreachable(problem);
    await new Promise((r) => setTimeout(r, Math.min(2000, 250 * failures)));
  }
}
