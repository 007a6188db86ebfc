import { DEFAULT_POLICY, type OutboundPolicy } from '../../outbound/address.js';
import { outboundRequest, type LookupAll, type OutboundResult } from '../../outbound/request.js';
import { IDEMPOTENCY_HEADER } from './keys.js';

export type HttpCallResult = OutboundResult;

/** Where a call may go (`outboundHttp` of the config, see src/outbound/) and, for tests, the resolver. */
export interface HttpGuard {
  policy?: OutboundPolicy;
  lookup?: LookupAll;
}

/**
 * One HTTP request through the outbound guard (link-local and cloud-metadata destinations are refused,
 * see src/outbound/address.ts); a status of 400 or more is a failure naming it. Never rejects.
 */
export async function httpCall(req: { method: string; url: string; headers?: Record<string, string>; body?: string; timeoutMs: number; signal: AbortSignal } & HttpGuard): Promise<HttpCallResult> {
  const { policy, lookup, ...rest } = req;
  return outboundRequest({ ...rest, policy: policy ?? DEFAULT_POLICY, ...(lookup ? { lookup } : {}) });
}

/**
 * POST `body` as JSON to a webhook, retried with exponential backoff (`tries` in all) on a network
 * error or a 5xx/429 answer; a refused destination is not retried. Every try carries `idempotencyKey`
 * (as the Idempotency-Key header) when given. Never rejects.
 */
export async function postWebhook(url: string, body: unknown, opts: { tries?: number; baseMs?: number; timeoutMs?: number; signal: AbortSignal; sleep?: (ms: number) => Promise<void>; idempotencyKey?: string } & HttpGuard): Promise<HttpCallResult & { tries: number }> {
  const tries = opts.tries ?? 4;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let last: HttpCallResult = { ok: false, body: '', error: 'not sent' };
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(opts.idempotencyKey ? { [IDEMPOTENCY_HEADER]: opts.idempotencyKey } : {}) };
  for (let i = 1; i <= tries; i++) {
    last = await httpCall({ method: 'POST', url, headers, body: JSON.stringify(body), timeoutMs: opts.timeoutMs ?? 30_000, signal: opts.signal, ...(opts.policy ? { policy: opts.policy } : {}), ...(opts.lookup ? { lookup: opts.lookup } : {}) });
    if (last.ok) return { ...last, tries: i };
    const retryable = !last.refused && (last.status === undefined || last.status >= 500 || last.status === 429);
    if (!retryable || opts.signal.aborted || i === tries) return { ...last, tries: i };
    await sleep((opts.baseMs ?? 500) * 2 ** (i - 1));
  }
  return { ...last, tries };
}
