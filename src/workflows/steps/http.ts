export interface HttpCallResult {
  ok: boolean;
  status?: number;
  body: string;
  error?: string;
}

/** One HTTP request; a status of 400 or more is a failure naming it. Never rejects. */
export async function httpCall(req: { method: string; url: string; headers?: Record<string, string>; body?: string; timeoutMs: number; signal: AbortSignal }): Promise<HttpCallResult> {
  const signal = AbortSignal.any([req.signal, AbortSignal.timeout(Math.max(1, req.timeoutMs))]);
  try {
    const res = await fetch(req.url, { method: req.method, ...(req.headers ? { headers: req.headers } : {}), ...(req.body !== undefined && req.method !== 'GET' && req.method !== 'HEAD' ? { body: req.body } : {}), signal });
    const body = await res.text();
    if (res.status >= 400) return { ok: false, status: res.status, body, error: `${req.method} ${req.url} answered ${res.status}${body ? `: ${body.slice(0, 300)}` : ''}` };
    return { ok: true, status: res.status, body };
  } catch (err) {
    const e = err as Error;
    const why = e.name === 'TimeoutError' ? `no answer within ${req.timeoutMs} ms` : e.name === 'AbortError' ? 'stopped' : `${e.message}${(e.cause as Error | undefined)?.message ? ` (${(e.cause as Error).message})` : ''}`;
    return { ok: false, body: '', error: `${req.method} ${req.url} failed: ${why}` };
  }
}

/**
 * POST `body` as JSON to a webhook, retried with exponential backoff (`tries` in all) on a network
 * error or a 5xx/429 answer. Never rejects.
 */
export async function postWebhook(url: string, body: unknown, opts: { tries?: number; baseMs?: number; timeoutMs?: number; signal: AbortSignal; sleep?: (ms: number) => Promise<void> }): Promise<HttpCallResult & { tries: number }> {
  const tries = opts.tries ?? 4;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let last: HttpCallResult = { ok: false, body: '', error: 'not sent' };
  for (let i = 1; i <= tries; i++) {
    last = await httpCall({ method: 'POST', url, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), timeoutMs: opts.timeoutMs ?? 30_000, signal: opts.signal });
    if (last.ok) return { ...last, tries: i };
    const retryable = last.status === undefined || last.status >= 500 || last.status === 429;
    if (!retryable || opts.signal.aborted || i === tries) return { ...last, tries: i };
    await sleep((opts.baseMs ?? 500) * 2 ** (i - 1));
  }
  return { ...last, tries };
}
