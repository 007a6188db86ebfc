import type { RetryPolicyConfig } from '../config/types.js';
import { formatDuration } from '../util/duration.js';
import type { AbortReason, Outcome } from './provider.js';

/**
 * What to do after a run: a pure function of the outcome, the task's counters, the retry policy, the
 * clock and a random source (for jitter). The runner applies the decision through the ledger.
 */
export type Decision =
  | { kind: 'succeed'; output: string }
  | { kind: 'fail'; errorClass: string; message: string }
  | { kind: 'cancel'; message: string }
  | { kind: 'time_out'; message: string }
  | { kind: 'retry'; notBefore: number; delayMs: number; reason: string; errorClass: string }
  | { kind: 'park'; notBefore: number; reason: string; errorClass: string }
  | { kind: 'fresh_session'; reason: string }
  | { kind: 'fallback'; provider: string; reason: string }
  | { kind: 'interrupt'; reason: string };

export interface DecisionInput {
  outcome: Outcome;
  /** Set when the engine itself aborted the run. */
  abort?: AbortReason;
  attempt: number;
  maxAttempts: number;
  parkedMs: number;
  sessionRetryUsed: boolean;
  /** The next provider of the fallback chain not yet tried, if any. */
  nextFallback?: string;
  retry: RetryPolicyConfig;
  now: number;
  random: () => number;
}

/** Exponential backoff with full jitter: uniform in [0, min(cap, base·2^(attempt-1))]. */
export function backoffDelay(attempt: number, retry: Pick<RetryPolicyConfig, 'baseMs' | 'capMs'>, random: () => number): number {
  const ceiling = Math.min(retry.capMs, retry.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(random() * ceiling);
}

function messageOf(o: Outcome, fallback: string): string {
  const m = o.message?.trim();
  return m && m.length > 0 ? m : fallback;
}

export function decide(input: DecisionInput): Decision {
  const { outcome: o, abort, retry, now } = input;
  // A run that completed with an answer before the abort took effect stands: its work is done, and
  // treating it as cancelled or interrupted would throw it away (or run it again). A spent budget
  // still fails the task.
  const completed = o.class === 'success' && o.output.trim() !== '';
  if (abort && !(completed && abort.kind !== 'budget')) {
    switch (abort.kind) {
      case 'cancel':
        return { kind: 'cancel', message: abort.message };
      case 'timeout':
      case 'no_output':
        return { kind: 'time_out', message: abort.message };
      case 'budget':
        return { kind: 'fail', errorClass: 'budget', message: abort.message };
      case 'shutdown':
        return { kind: 'interrupt', reason: abort.message };
    }
  }
  switch (o.class) {
    case 'success':
      if (o.output.trim() === '') return { kind: 'fail', errorClass: 'empty_output', message: 'the agent produced no output' };
      return { kind: 'succeed', output: o.output };
    case 'permanent':
      return { kind: 'fail', errorClass: 'permanent', message: messageOf(o, 'the provider failed without a message') };
    case 'cancelled':
      // The provider stopped on its own (we did not abort): nothing to retry safely.
      return { kind: 'fail', errorClass: 'cancelled', message: messageOf(o, 'the provider stopped the run') };
    case 'session_invalid':
      if (!input.sessionRetryUsed) return { kind: 'fresh_session', reason: messageOf(o, 'the provider session is no longer valid') };
      return { kind: 'fail', errorClass: 'session_invalid', message: messageOf(o, 'the provider session is not valid, even a fresh one') };
    case 'rate_limited':
    case 'quota': {
      const reason = messageOf(o, o.class === 'quota' ? 'provider quota reached' : 'provider rate limit reached');
      if (input.nextFallback) return { kind: 'fallback', provider: input.nextFallback, reason };
      const until = o.resetAt ?? (o.retryAfterMs !== undefined ? now + o.retryAfterMs : now + retry.rateLimitWaitMs);
      const wait = Math.max(0, until - now);
      if (input.parkedMs + wait > retry.maxParkMs) {
        return {
          kind: 'fail',
          errorClass: o.class,
          message: `${reason} — waiting until ${new Date(until).toISOString()} would exceed the ${formatDuration(retry.maxParkMs)} parking limit (retry.maxParkTime)`,
        };
      }
      return { kind: 'park', notBefore: now + wait, reason, errorClass: o.class };
    }
    case 'transient':
    case 'timeout': {
      const reason = messageOf(o, o.class === 'timeout' ? 'the provider timed out' : 'transient provider error');
      if (input.attempt >= input.maxAttempts) {
        if (input.nextFallback) return { kind: 'fallback', provider: input.nextFallback, reason };
        return { kind: 'fail', errorClass: o.class, message: `${reason} (gave up after ${input.attempt} attempts)` };
      }
      const delayMs = Math.max(backoffDelay(input.attempt, retry, input.random), o.retryAfterMs ?? 0);
      return { kind: 'retry', notBefore: now + delayMs, delayMs, reason, errorClass: o.class };
    }
  }
}
