import { createHash } from 'node:crypto';

/**
 * Deterministic nonces (Discord accepts at most 25 characters): a message sent again with the same nonce
 * and `enforce_nonce: true` within Discord's dedup window returns the first message instead of posting a
 * second one, so a send whose answer was lost in a crash or a reset can be repeated safely.
 */

/** The nonce of a task's live status message: 's' + the first 24 hex digits of sha256(taskId). */
export function statusNonce(taskId: string): string {
  return `s${createHash('sha256').update(taskId).digest('hex').slice(0, 24)}`;
}

/** The nonce of chunk `idx` of outbox row `outboxId`: 'o<outboxId>c<idx>' (at most 25 characters). */
export function chunkNonce(outboxId: number, idx: number): string {
  const n = `o${outboxId}c${idx}`;
  if (n.length > 25 || !Number.isSafeInteger(outboxId) || outboxId < 0 || !Number.isSafeInteger(idx) || idx < 0) {
    throw new RangeError(`chunkNonce(${outboxId}, ${idx}): a nonce must be at most 25 characters from non-negative integers`);
  }
  return n;
}
