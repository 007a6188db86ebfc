import type { Outcome, OutcomeClass } from '../engine/provider.js';

/**
 * Pieces of error classification shared by every provider: pure functions of what the provider said
 * (HTTP status, headers, message text) and the clock. Each adapter's own classifier builds on these.
 */

export type Classified = Pick<Outcome, 'class' | 'retryAfterMs' | 'resetAt'>;

/** `Retry-After` (seconds or an HTTP date), `retry-after-ms`, or a rate-limit reset header → milliseconds to wait. */
export function retryAfterFromHeaders(headers: Record<string, string | undefined>, now: number): number | undefined {
  const h = (name: string) => headers[name] ?? headers[name.toLowerCase()];
  const ms = h('retry-after-ms');
  if (ms && Number.isFinite(Number(ms))) return Math.max(0, Math.round(Number(ms)));
  const ra = h('retry-after');
  if (ra) {
    if (/^\d+(\.\d+)?$/.test(ra.trim())) return Math.round(Number(ra) * 1000);
    const at = Date.parse(ra);
    if (Number.isFinite(at)) return Math.max(0, at - now);
  }
  return undefined;
}

/** A reset moment from headers: `anthropic-ratelimit-unified-reset` (epoch seconds) or an ISO `*-reset` header. */
export function resetFromHeaders(headers: Record<string, string | undefined>): number | undefined {
  const unified = headers['anthropic-ratelimit-unified-reset'];
  if (unified && /^\d+$/.test(unified)) return Number(unified) * 1000;
  for (const name of ['anthropic-ratelimit-requests-reset', 'anthropic-ratelimit-tokens-reset']) {
    const v = headers[name];
    const t = v ? Date.parse(v) : NaN;
    if (Number.isFinite(t)) return t;
  }
  return undefined;
}

const UNIT_MS: Array<[RegExp, number]> = [
  [/^(ms|milliseconds?)$/i, 1],
  [/^(s|secs?|seconds?)$/i, 1000],
  [/^(m|mins?|minutes?)$/i, 60_000],
  [/^(h|hrs?|hours?)$/i, 3_600_000],
];
const DURATION_PART = String.raw`(\d+(?:\.\d+)?)\s*(ms|milliseconds?|secs?|seconds?|s|mins?|minutes?|m|hrs?|hours?|h)\b`;

/** "try again in 1.5s", "try again in 20 seconds", "retry after 3 minutes", "try again in 1m30s" / "6m0s" / "2h5m" → milliseconds. */
export function retryInFromText(text: string): number | undefined {
  const m = new RegExp(String.raw`(?:try again|retry) (?:in|after) ((?:\d+(?:\.\d+)?\s*(?:ms|milliseconds?|secs?|seconds?|s|mins?|minutes?|m|hrs?|hours?|h)\b\s*)+)`, 'i').exec(text.replace(/(\d)(ms|h|m|s)(?=\d)/gi, '$1$2 '));
  if (!m) return undefined;
  let total = 0;
  for (const part of (m[1] as string).matchAll(new RegExp(DURATION_PART, 'gi'))) {
    const unit = UNIT_MS.find(([re]) => re.test(part[2] as string));
    if (unit) total += Number(part[1]) * unit[1];
  }
  return Math.round(total);
}

/**
 * "try again at 5:50 AM" (the next such local time), "try again at Nov 26th, 2026 9:30 AM" or an ISO time
 * → epoch ms. Undefined when the text holds no such time.
 */
export function tryAgainAtFromText(text: string, now: number): number | undefined {
  const m = /try again at ([^\n]*?\d{1,2}:\d{2}(?::\d{2})?\s*(?:[AP]\.?M\.?)?(?:\s*[A-Z]{2,5}|Z)?)(?=[.\s]|$)/i.exec(text);
  if (!m) return undefined;
  const raw = (m[1] as string).replace(/(\d)(st|nd|rd|th)\b/g, '$1').trim();
  const timeOnly = /^(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AP])?\.?M?\.?$/i.exec(raw);
  if (timeOnly) {
    let hour = Number(timeOnly[1]);
    const ampm = timeOnly[4]?.toUpperCase();
    if (ampm === 'P' && hour < 12) hour += 12;
    if (ampm === 'A' && hour === 12) hour = 0;
    const d = new Date(now);
    d.setHours(hour, Number(timeOnly[2]), Number(timeOnly[3] ?? 0), 0);
    const t = d.getTime();
    if (t > now) return t;
    // A time just past (codex truncates the reset to the minute, and the message may be read late): the
    // limit is lifting now; retry in a minute rather than tomorrow.
    if (now - t < 3_600_000) return now + 60_000;
    // Tomorrow at that local time: by the calendar, so a DST change does not shift it by an hour.
    d.setDate(d.getDate() + 1);
    d.setHours(hour, Number(timeOnly[2]), Number(timeOnly[3] ?? 0), 0);
    return d.getTime();
  }
  const withDate = Date.parse(raw.replace(/(\d)\s*([AP])\.?M\.?$/i, '$1 $2M'));
  return Number.isFinite(withDate) ? withDate : undefined;
}

/** Network failures that are worth another attempt. */
export const CONNECTION_ERROR = /ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|EAI_AGAIN|socket hang up|connection (error|reset|refused|failed|closed)|error sending request|network|stream (disconnected|stalled)|idle timeout|timed out|premature close|terminated/i;

/** The class an HTTP status implies for a model API; undefined when the status says nothing. */
export function classOfStatus(status: number | null | undefined): OutcomeClass | undefined {
  if (status === null || status === undefined) return undefined;
  if (status === 429) return 'rate_limited';
  if (status === 408 || status === 409 || status === 529 || status >= 500) return 'transient';
  if (status >= 400) return 'permanent';
  return undefined;
}

/** What the user can do about a permanent failure with this status, appended to the provider's message. */
export function hintForStatus(status: number | null | undefined, keyHint: string): string {
  if (status === 401 || status === 403) return `check the API key (${keyHint})`;
  if (status === 400 || status === 413 || status === 422) return 'the request was rejected as invalid; shorten the prompt or conversation (a new session key) or check the model name';
  if (status === 404) return 'check the model name and the provider baseUrl';
  return '';
}

/** The first non-blank line of a text. */
export function firstLine(s: string): string {
  return (s.split('\n').find((l) => l.trim()) ?? s).trim();
}

/** Keep the last `max` characters of a text, marking the cut. */
export function tail(text: string, max = 2000): string {
  const t = text.trim();
  return t.length > max ? `…${t.slice(-max)}` : t;
}

/** Remove anything that looks like an API key from a text meant for logs and error messages. */
export function redactSecrets(text: string, secrets: Array<string | undefined> = []): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 6) out = out.split(s).join('[redacted]');
  return out.replace(/\b(sk-(?:ant-)?[A-Za-z0-9_-]{3})[A-Za-z0-9_-]{6,}/g, '$1…[redacted]').replace(/(Bearer\s+)[A-Za-z0-9._-]{8,}/g, '$1[redacted]');
}

/** A bounded collector of the lines a CLI printed that were not JSON events (shown in errors). */
export class BoundedLines {
  #lines: string[] = [];
  #size = 0;
  dropped = 0;
  constructor(private readonly maxChars = 8192) {}
  push(line: string): void {
    this.#lines.push(line);
    this.#size += line.length + 1;
    while (this.#size > this.maxChars && this.#lines.length > 1) {
      this.#size -= (this.#lines.shift() as string).length + 1;
      this.dropped += 1;
    }
  }
  text(): string {
    return (this.dropped ? `…(${this.dropped} earlier lines dropped)\n` : '') + this.#lines.join('\n');
  }
  get empty(): boolean {
    return this.#lines.length === 0;
  }
}
