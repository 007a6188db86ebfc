import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed webhooks (`POST /api/triggers/webhook/:name` of a trigger with a `secret`). The sender sends
 *   X-Tetora-Timestamp: <unix time in seconds>
 *   X-Tetora-Signature: sha256=<hex of HMAC-SHA256(secret, timestamp + "." + raw body)>
 * The timestamp must be within 5 minutes of the daemon's clock (a captured request cannot be replayed
 * later), and the signature is compared in constant time. Pure. Within the window, the route also refuses a
 * signature it accepted before (ScheduleService.claimWebhookSignature, table webhook_signatures).
 */
export const TIMESTAMP_HEADER = 'x-tetora-timestamp';
export const SIGNATURE_HEADER = 'x-tetora-signature';
export const REPLAY_WINDOW_MS = 5 * 60_000;

/** The signature header's value for a body (what a sender computes). */
export function signWebhook(secret: string, timestamp: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`;
}

/** `signature`: the verified HMAC as lowercase hex (the key of the replay check). */
export type SignatureCheck = { ok: true; signature: string } | { ok: false; reason: string };

/** Whether a request's timestamp and signature headers sign `body` with `secret`, at `now` (epoch ms). */
export function verifyWebhook(
  secret: string,
  headers: { timestamp: string | undefined; signature: string | undefined },
  body: Buffer,
  now: number,
): SignatureCheck {
  const { timestamp, signature } = headers;
  if (timestamp === undefined || signature === undefined) {
    return { ok: false, reason: `no ${timestamp === undefined ? 'X-Tetora-Timestamp' : 'X-Tetora-Signature'} header` };
  }
  if (!/^\d{1,15}$/.test(timestamp)) return { ok: false, reason: 'X-Tetora-Timestamp is not a unix time in seconds' };
  const age = now - Number(timestamp) * 1000;
  if (Math.abs(age) > REPLAY_WINDOW_MS) return { ok: false, reason: 'X-Tetora-Timestamp is more than 5 minutes from the daemon\'s clock (stale or replayed)' };
  const m = /^sha256=([0-9a-fA-F]{64})$/.exec(signature.trim());
  if (!m) return { ok: false, reason: 'X-Tetora-Signature is not "sha256=<64 hex digits>"' };
  const expected = createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest();
  const given = Buffer.from((m[1] as string).toLowerCase(), 'hex');
  if (!timingSafeEqual(expected, given)) return { ok: false, reason: 'the signature does not match the body' };
  return { ok: true, signature: expected.toString('hex') };
}

/**
 * A webhook body's variables: the keys of a JSON object (strings as they are, other values as JSON). An
 * empty body gives none. Undefined when the body is not a JSON object. Pure.
 */
export function webhookVariables(body: Buffer): Record<string, string> | undefined {
  const text = body.toString('utf8');
  if (text.trim() === '') return {};
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return undefined;
  return Object.fromEntries(Object.entries(doc as Record<string, unknown>).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
}
