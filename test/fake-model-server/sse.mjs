/**
 * Small helpers shared by the fake model server's responders: SSE framing, JSON replies, the default
 * usage figures, and the steps that behave the same for every API family (hang, stall bookkeeping).
 */

let counter = 0;
/** A short unique id with a prefix, e.g. `msg_fake_3`. */
export function fakeId(prefix) {
  counter += 1;
  return `${prefix}_fake_${Date.now().toString(36)}${counter}`;
}

export const DEFAULT_TEXT = 'Hello from the fake model server.';

/** Token usage of a step: `usage: {input, output}` or the defaults the notes measured (12 in, 7 out). */
export function usageOf(step) {
  const u = step.usage ?? {};
  return { input: u.input ?? u.input_tokens ?? 12, output: u.output ?? u.output_tokens ?? 7 };
}

export function sendJson(res, status, body, headers = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'request-id': fakeId('req'), 'x-request-id': fakeId('req'), ...headers });
  res.end(text);
}

export function startSse(res, headers = {}) {
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'request-id': fakeId('req'),
    'x-request-id': fakeId('req'),
    ...headers,
  });
  // Headers out now, even if no event follows (the `stall` step).
  res.flushHeaders();
}

/** One SSE event: `event: name` (when given) and `data: json`. */
export function sse(res, event, data) {
  const payload = typeof data === 'string' ? data : JSON.stringify(data);
  res.write(`${event ? `event: ${event}\n` : ''}data: ${payload}\n\n`);
}

/** Split a text into two deltas so that clients see real streaming. */
export function chunks(text) {
  if (text.length < 8) return [text];
  const mid = Math.floor(text.length / 2);
  return [text.slice(0, mid), text.slice(mid)];
}

/** The reset moment of a `usage_limit` step, in epoch seconds: `resetAt` (epoch ms or ISO) or now + `resetsInSeconds`. */
export function resetEpochSeconds(step) {
  if (step.resetAt !== undefined) {
    const t = typeof step.resetAt === 'number' ? step.resetAt : Date.parse(step.resetAt);
    return Math.floor(t / 1000);
  }
  return Math.floor(Date.now() / 1000) + (step.resetsInSeconds ?? 3600);
}
