import { errorBody } from './shapes.js';
import type { ReceivedFile } from './http.js';

/** A REST request as the fake received it (and what it answered). */
export interface ReceivedRequest {
  method: string;
  /** Without `/api/v10`, e.g. `/channels/123/messages`. */
  path: string;
  query: Record<string, string>;
  /** The JSON body, or a multipart request's `payload_json`; null without a body (an array for bulk command PUTs). */
  body: Record<string, unknown> | null;
  files: ReceivedFile[];
  headers: { authorization?: string; 'content-type'?: string; 'user-agent'?: string; 'x-audit-log-reason'?: string };
  at: number;
  /**
   * The status sent; 'held' while a `{hold}` script keeps it; 'reset' / 'closed' when a script dropped the
   * connection (TCP RST / FIN); 'unanswered' when the client had gone before the answer (its effect, if any,
   * still happened).
   */
  answeredWith: number | 'held' | 'reset' | 'closed' | 'unanswered' | null;
}

export interface RouteResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type RequestMatcher =
  | { method?: string; path?: string | RegExp; channelId?: string }
  | ((r: ReceivedRequest) => boolean);

export type ScriptedResponse =
  | { status: 429; retryAfterHeader?: number; retryAfterBody?: number; global?: boolean }
  | { status: number; code?: number; message?: string; body?: unknown }
  | { reset: true }
  | { close: true }
  | { hold: true; commit?: boolean }
  | { delayMs: number }
  | { pass: true };

interface Bucket {
  limit: number;
  windowMs: number;
  windowStart: number;
  count: number;
}

/** Scripted answers and per-channel rate-limit buckets. */
export class Faults {
  readonly #scripts: { matcher: RequestMatcher; responses: ScriptedResponse[] }[] = [];
  readonly #buckets = new Map<string, Bucket>();

  script(matcher: RequestMatcher, responses: ScriptedResponse[]): void {
    this.#scripts.push({ matcher, responses: [...responses] });
  }

  /** The next scripted response for this request (undefined: answer normally). */
  next(entry: ReceivedRequest): Exclude<ScriptedResponse, { pass: true }> | undefined {
    const script = this.#scripts.find((s) => s.responses.length > 0 && matches(s.matcher, entry));
    const next = script?.responses.shift();
    if (script && script.responses.length === 0) this.#scripts.splice(this.#scripts.indexOf(script), 1);
    return next && 'pass' in next ? undefined : next;
  }

  rateLimit(channelId: string, options: { limit: number; windowMs: number }): void {
    this.#buckets.set(channelId, { ...options, windowStart: 0, count: 0 });
  }

  /**
   * Take a slot of the request's channel bucket: null when none applies, else the 429 to answer beyond the
   * limit, or the X-RateLimit headers to add to the normal answer.
   */
  take(entry: ReceivedRequest): { limited: RouteResult } | { headers: Record<string, string> } | null {
    const m = /^\/channels\/(\d+)\/messages/.exec(entry.path);
    const bucket = m && entry.method !== 'GET' ? this.#buckets.get(m[1]!) : undefined;
    if (!m || !bucket) return null;
    const now = Date.now();
    if (now - bucket.windowStart >= bucket.windowMs) {
      bucket.windowStart = now;
      bucket.count = 0;
    }
    const resetAfter = (bucket.windowStart + bucket.windowMs - now) / 1000;
    const headers = {
      'x-ratelimit-limit': String(bucket.limit),
      'x-ratelimit-reset-after': resetAfter.toFixed(3),
      'x-ratelimit-reset': ((bucket.windowStart + bucket.windowMs) / 1000).toFixed(3),
      'x-ratelimit-bucket': `fake-channel-${m[1]}`,
    };
    if (bucket.count >= bucket.limit) {
      return {
        limited: {
          status: 429,
          headers: { ...headers, 'x-ratelimit-remaining': '0', 'retry-after': String(Math.ceil(resetAfter)), 'x-ratelimit-scope': 'user' },
          body: { message: 'You are being rate limited.', retry_after: resetAfter, global: false },
        },
      };
    }
    bucket.count += 1;
    return { headers: { ...headers, 'x-ratelimit-remaining': String(bucket.limit - bucket.count) } };
  }
}

export function matches(matcher: RequestMatcher, r: ReceivedRequest): boolean {
  if (typeof matcher === 'function') return matcher(r);
  if (matcher.method && matcher.method.toUpperCase() !== r.method) return false;
  if (matcher.path !== undefined && !(typeof matcher.path === 'string' ? matcher.path === r.path : matcher.path.test(r.path))) return false;
  if (matcher.channelId && !r.path.startsWith(`/channels/${matcher.channelId}/`) && r.path !== `/channels/${matcher.channelId}`) return false;
  return true;
}

/** The answer of a scripted status: a 429 with Discord's headers (none for a body-only one), or an error body. */
export function scriptedAnswer(s: {
  status: number;
  code?: number;
  message?: string;
  body?: unknown;
  retryAfterHeader?: number;
  retryAfterBody?: number;
  global?: boolean;
}): RouteResult {
  if (s.status !== 429) return { status: s.status, body: s.body ?? errorBody(s.status, s.code, s.message) };
  const bodyOnly = s.retryAfterBody !== undefined && s.retryAfterHeader === undefined;
  const header = s.retryAfterHeader ?? 1;
  const body = { message: 'You are being rate limited.', retry_after: s.retryAfterBody ?? header, global: s.global === true };
  if (bodyOnly) return { status: 429, body };
  const headers: Record<string, string> = {
    'retry-after': String(header),
    'x-ratelimit-limit': '5',
    'x-ratelimit-remaining': '0',
    'x-ratelimit-reset-after': String(header),
    'x-ratelimit-reset': ((Date.now() + header * 1000) / 1000).toFixed(3),
    'x-ratelimit-bucket': 'fake-scripted',
    'x-ratelimit-scope': s.global ? 'global' : 'user',
  };
  if (s.global) headers['x-ratelimit-global'] = 'true';
  return { status: 429, headers, body };
}
