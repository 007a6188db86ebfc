/**
 * Our own Discord REST sender (contract seam 7), on Node's fetch: one call per method, no retries of its
 * own. Each answer is classified by pure functions (classifyResponse, classifyError) into what the
 * deliverer does next: done, wait for a rate limit (never an attempt), retry with backoff (5xx, timeouts,
 * network errors), or give up at once (other 4xx: a dead letter).
 */

/** When a channel's bucket allows the next call (from X-RateLimit-Remaining / -Reset-After). */
export interface Bucket {
  remaining: number;
  resetAfterMs: number;
}

export type SendOutcome =
  | { kind: 'ok'; status: number; body: unknown; bucket?: Bucket }
  | { kind: 'rate_limited'; waitMs: number; global: boolean; reason: string }
  | { kind: 'retry'; reason: string; label: 'server_error' | 'timeout' | 'network' }
  | { kind: 'dead'; status?: number; reason: string };

/** Headers as fetch gives them (only `get` is used), so tests can pass a plain Headers. */
export interface HeaderLike {
  get(name: string): string | null;
}

function seconds(v: unknown): number | undefined {
  const n = typeof v === 'string' ? Number(v) : typeof v === 'number' ? v : NaN;
  return Number.isFinite(n) && n >= 0 ? n * 1000 : undefined;
}

/** The wait a 429 asks for when it gives none: never a tight loop. */
export const DEFAULT_RATE_LIMIT_WAIT_MS = 1000;

function describe(body: unknown): string {
  if (body && typeof body === 'object') {
    const b = body as { code?: unknown; message?: unknown };
    if (typeof b.message === 'string') return `${b.message}${b.code !== undefined ? ` (code ${String(b.code)})` : ''}`;
  }
  if (typeof body === 'string' && body.trim() !== '') return body.trim().slice(0, 200);
  return '';
}

/** What to do about a 4xx that is not a rate limit: the reason kept on the dead letter, with the fix. */
function deadReason(status: number, body: unknown): string {
  const said = describe(body);
  const what =
    status === 403
      ? 'the bot lacks a permission in this channel (it needs View Channel, Send Messages, Attach Files, Read Message History, Add Reactions); grant them'
      : status === 404
        ? 'the channel or message is unknown to Discord (deleted, or the bot left the server)'
        : status === 401
          ? 'Discord refused the bot token; set a valid discord.botToken and reload'
          : status === 413
            ? 'the message or its file is too large for Discord'
            : 'Discord refused the request as invalid';
  return `HTTP ${status}${said ? `: ${said}` : ''} — ${what}`;
}

/**
 * Classify one HTTP answer (pure). 429: wait for the `Retry-After` header or the body's `retry_after`,
 * whichever is given (the longer when both are), global or per route; 5xx: retry; other 4xx: dead.
 */
export function classifyResponse(status: number, headers: HeaderLike, body: unknown): SendOutcome {
  if (status >= 200 && status < 300) {
    const remaining = Number(headers.get('x-ratelimit-remaining'));
    const reset = seconds(headers.get('x-ratelimit-reset-after') ?? undefined);
    const bucket = headers.get('x-ratelimit-remaining') !== null && Number.isFinite(remaining) && reset !== undefined ? { remaining, resetAfterMs: reset } : undefined;
    return { kind: 'ok', status, body, ...(bucket ? { bucket } : {}) };
  }
  if (status === 429) {
    const b = body && typeof body === 'object' ? (body as { retry_after?: unknown; global?: unknown; message?: unknown }) : {};
    const fromHeader = seconds(headers.get('retry-after') ?? undefined);
    const fromBody = seconds(b.retry_after);
    // None given: a default wait; a zero wait still waits a little (a server answering 429 with 0 must not make us spin).
    const waitMs = fromHeader === undefined && fromBody === undefined ? DEFAULT_RATE_LIMIT_WAIT_MS : Math.max(50, Math.ceil(Math.max(fromHeader ?? 0, fromBody ?? 0)));
    const global = headers.get('x-ratelimit-global')?.toLowerCase() === 'true' || b.global === true || headers.get('x-ratelimit-scope') === 'global';
    const source = fromHeader !== undefined && fromBody !== undefined ? 'header and body' : fromHeader !== undefined ? 'Retry-After header' : fromBody !== undefined ? 'body retry_after' : 'no wait given';
    return { kind: 'rate_limited', waitMs, global, reason: `HTTP 429${global ? ' (global)' : ''}: wait ${waitMs} ms (${source})` };
  }
  if (status >= 500) return { kind: 'retry', label: 'server_error', reason: `HTTP ${status}${describe(body) ? `: ${describe(body)}` : ''} from Discord` };
  return { kind: 'dead', status, reason: deadReason(status, body) };
}

/** Classify a request that got no answer (pure): a timeout or a network error (reset, refused) is retried. */
export function classifyError(err: unknown): SendOutcome {
  const e = err as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } } | undefined;
  const name = e?.name ?? '';
  if (name === 'TimeoutError' || name === 'AbortError') return { kind: 'retry', label: 'timeout', reason: 'no answer from Discord in time (timeout)' };
  const code = e?.cause?.code ?? e?.code;
  const msg = e?.cause?.message ?? e?.message ?? String(err);
  return { kind: 'retry', label: 'network', reason: `network error${code ? ` ${code}` : ''}: ${msg}` };
}

export interface MessagePayload {
  content: string;
  nonce?: string;
  /** Reply to this message (not failing when it was deleted). */
  replyTo?: string | null;
  components?: unknown[];
  /** A file sent with the message: its name and text. */
  file?: { name: string; content: string };
}

export interface RestOptions {
  /** REST base without the version, e.g. https://discord.com/api (read at every call: a reload applies). */
  apiBaseUrl: () => string;
  token: () => string;
  /** Per request. @default 15000 */
  timeoutMs?: number;
}

/** One Discord REST call per method; the caller decides about retries (see SendOutcome). */
export class DiscordRest {
  constructor(private readonly opts: RestOptions) {}

  /** POST /channels/:id/messages, with its nonce enforced (a repeat returns the first message). */
  createMessage(channelId: string, m: MessagePayload): Promise<SendOutcome> {
    const payload: Record<string, unknown> = {
      content: m.content,
      allowed_mentions: { parse: [], replied_user: true },
    };
    if (m.nonce) {
      payload.nonce = m.nonce;
      payload.enforce_nonce = true;
    }
    if (m.replyTo) payload.message_reference = { message_id: m.replyTo, fail_if_not_exists: false };
    if (m.components) payload.components = m.components;
    if (m.file) {
      payload.attachments = [{ id: 0, filename: m.file.name }];
      const form = new FormData();
      form.append('payload_json', JSON.stringify(payload));
      form.append('files[0]', new Blob([m.file.content], { type: 'text/markdown; charset=utf-8' }), m.file.name);
      return this.#call('POST', `/channels/${channelId}/messages`, form);
    }
    return this.#call('POST', `/channels/${channelId}/messages`, payload);
  }

  /** PATCH /channels/:id/messages/:id */
  editMessage(channelId: string, messageId: string, m: { content: string; components?: unknown[] }): Promise<SendOutcome> {
    return this.#call('PATCH', `/channels/${channelId}/messages/${messageId}`, { content: m.content, components: m.components ?? [] });
  }

  /** PUT /channels/:id/messages/:id/reactions/:emoji/@me (idempotent on Discord's side). */
  addReaction(channelId: string, messageId: string, emoji: string): Promise<SendOutcome> {
    return this.#call('PUT', `/channels/${channelId}/messages/${messageId}/reactions/${encodeURIComponent(emoji)}/@me`);
  }

  async #call(method: string, path: string, body?: Record<string, unknown> | FormData): Promise<SendOutcome> {
    const headers: Record<string, string> = { authorization: `Bot ${this.opts.token()}`, 'user-agent': 'DiscordBot (https://github.com/TakumaLee/Tetora, 2)' };
    let data: string | FormData | undefined;
    if (body instanceof FormData) data = body;
    else if (body) {
      headers['content-type'] = 'application/json';
      data = JSON.stringify(body);
    }
    let res: Response;
    let parsed: unknown;
    try {
      res = await fetch(`${this.opts.apiBaseUrl()}/v10${path}`, { method, headers, ...(data !== undefined ? { body: data } : {}), signal: AbortSignal.timeout(this.opts.timeoutMs ?? 15_000) });
      const text = await res.text();
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        parsed = text;
      }
    } catch (err) {
      return classifyError(err);
    }
    return classifyResponse(res.status, res.headers, parsed);
  }
}
