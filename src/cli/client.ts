import type { ResolvedConfig } from '../config/types.js';
import { TetoraError, errorCatalog, isTetoraError, type ErrorCode } from '../errors.js';
import { isTerminalType } from './format.js';

/** The CLI's HTTP client for a running daemon: address and token come from the config. */
export class DaemonClient {
  readonly base: string;
  constructor(
    private readonly config: Pick<ResolvedConfig, 'listenHost' | 'listenPort' | 'apiToken' | 'configPath'>,
  ) {
    const host = config.listenHost === '0.0.0.0' ? '127.0.0.1' : config.listenHost === '::' ? '::1' : config.listenHost;
    this.base = `http://${host.includes(':') ? `[${host}]` : host}:${config.listenPort}`;
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.config.apiToken ? { authorization: `Bearer ${this.config.apiToken}` } : {}), ...extra };
  }

  unreachable(err: unknown): TetoraError {
    const cause = (err as { cause?: { code?: string } })?.cause?.code ?? (err as Error)?.message;
    return new TetoraError(
      'TET_ERR_DAEMON_UNREACHABLE',
      `no Tetora daemon answers at ${this.base} (${cause}). Start one with \`tetora serve\` (config ${this.config.configPath}), or check listenAddr.`,
      { url: this.base },
    );
  }

  async raw(method: string, path: string, body?: unknown, extra: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
    try {
      return await fetch(`${this.base}${path}`, {
        method,
        headers: this.headers(body === undefined ? extra : { 'content-type': 'application/json', ...extra }),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      throw this.unreachable(err);
    }
  }

  /** JSON request; a daemon error becomes a TetoraError with the daemon's code and message. */
  async json<T>(method: string, path: string, body?: unknown, extra: Record<string, string> = {}): Promise<{ status: number; body: T }> {
    const res = await this.raw(method, path, body, extra);
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      throw new TetoraError('TET_ERR_DAEMON_UNREACHABLE', `the server at ${this.base} answered ${res.status} with something that is not Tetora's JSON; is listenAddr pointing at another program?`);
    }
    if (!res.ok && res.status !== 202) {
      const e = (parsed as { error?: { code?: string; message?: string } }).error;
      const code: ErrorCode = e?.code && e.code in errorCatalog ? (e.code as ErrorCode) : 'TET_ERR_HTTP_BAD_REQUEST';
      throw new TetoraError(code, `${e?.message ?? `HTTP ${res.status}`}`, { status: res.status });
    }
    return { status: res.status, body: parsed as T };
  }
}

export interface SseMessage {
  id?: string;
  event: string;
  data: string;
}

/** Incremental Server-Sent Events parser: feed text chunks, get complete messages. Pure. */
export class SseParser {
  #buf = '';
  feed(chunk: string): SseMessage[] {
    // Line ends may be CRLF, LF or CR, and a CRLF may be split across chunks: normalise the whole
    // buffer, holding back a trailing CR until the next chunk says whether an LF follows it.
    this.#buf = (this.#buf + chunk).replace(/\r\n?/g, (m, offset: number, all: string) => (m === '\r' && offset === all.length - 1 ? '\r' : '\n'));
    const tail = this.#buf.endsWith('\r') ? '\r' : '';
    if (tail) this.#buf = this.#buf.slice(0, -1);
    const out: SseMessage[] = [];
    let idx: number;
    while ((idx = this.#buf.indexOf('\n\n')) >= 0) {
      const block = this.#buf.slice(0, idx);
      this.#buf = this.#buf.slice(idx + 2);
      const msg: SseMessage = { event: 'message', data: '' };
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line === '' || line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'id') msg.id = value;
        else if (field === 'event') msg.event = value;
        else if (field === 'data') data.push(value);
      }
      if (data.length === 0 && msg.id === undefined) continue;
      msg.data = data.join('\n');
      out.push(msg);
    }
    this.#buf += tail;
    return out;
  }
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
      } else if (!res.ok || !res.body) {
        const text = await res.text();
        throw new TetoraError(res.status === 404 ? 'TET_ERR_TASK_NOT_FOUND' : 'TET_ERR_HTTP_BAD_REQUEST', `cannot follow ${path}: HTTP ${res.status} ${text.slice(0, 300)}. Check the task id with \`tetora task list\` and the daemon with \`tetora status\`.`);
      } else {
        failures = 0;
        const parser = new SseParser();
        const decoder = new TextDecoder();
        let ended = false;
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          for (const m of parser.feed(decoder.decode(chunk, { stream: true }))) {
            if (m.id) last = m.id;
            const e = JSON.parse(m.data) as Parameters<typeof onEvent>[0];
            if (onEvent(e) === true) return;
            if (isTerminalType(e.type)) ended = true;
          }
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
