import { describe, expect, it } from 'vitest';
import type { RetryPolicyConfig } from '../../src/config/types.js';
import { backoffDelay, decide, type DecisionInput } from '../../src/engine/policy.js';
import type { AbortReason, Outcome } from '../../src/engine/provider.js';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);

const retry: RetryPolicyConfig = {
  baseMs: 1000,
  capMs: 30_000,
  maxAttempts: 3,
  rateLimitWaitMs: 60_000,
  maxParkMs: 3_600_000,
  maxInterruptions: 5,
};

function input(outcome: Outcome, over: Partial<DecisionInput> = {}): DecisionInput {
  return {
    outcome,
    attempt: 1,
    maxAttempts: 3,
    parkedMs: 0,
    sessionRetryUsed: false,
    retry,
    now: NOW,
    random: () => 0.5,
    ...over,
  };
}

const out = (cls: Outcome['class'], extra: Partial<Outcome> = {}): Outcome => ({ class: cls, output: '', ...extra });

describe('backoffDelay (full jitter, capped exponential)', () => {
  it.each([
    [1, 1000],
    [2, 2000],
    [3, 4000],
    [4, 8000],
    [5, 16_000],
    [6, 30_000],
    [7, 30_000],
    [30, 30_000],
  ])('attempt %d: random()≈1 gives the ceiling %d', (attempt, ceiling) => {
    expect(backoffDelay(attempt, retry, () => 1)).toBe(ceiling);
    expect(backoffDelay(attempt, retry, () => 0.999_999_9)).toBe(ceiling);
  });

  it('random() = 0 gives 0 (full jitter starts at zero)', () => {
    for (const attempt of [1, 2, 5, 10]) expect(backoffDelay(attempt, retry, () => 0)).toBe(0);
  });

  it('scales linearly with the random source, rounded to whole ms', () => {
    expect(backoffDelay(3, retry, () => 0.25)).toBe(1000);
    expect(backoffDelay(3, retry, () => 0.5)).toBe(2000);
    expect(backoffDelay(1, { baseMs: 3, capMs: 100 }, () => 0.5)).toBe(2); // 1.5 → 2
  });

  it('treats attempt 0 and negatives like attempt 1', () => {
    expect(backoffDelay(0, retry, () => 1)).toBe(1000);
    expect(backoffDelay(-3, retry, () => 1)).toBe(1000);
  });

  it('stays within [0, cap] for any random value in [0, 1)', () => {
    const values = [0, 0.1, 0.33, 0.5, 0.77, 0.9, 0.999];
    for (let attempt = 1; attempt <= 40; attempt++) {
      for (const v of values) {
        const d = backoffDelay(attempt, retry, () => v);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(Math.min(retry.capMs, retry.baseMs * 2 ** (attempt - 1)));
        expect(Number.isInteger(d)).toBe(true);
      }
    }
  });

  it('does not overflow to Infinity or NaN with huge attempt numbers', () => {
    expect(backoffDelay(5000, retry, () => 1)).toBe(30_000);
  });
});

describe('decide: success', () => {
  it('succeeds with the output untouched', () => {
    expect(decide(input(out('success', { output: '  hello\n' })))).toEqual({ kind: 'succeed', output: '  hello\n' });
  });

  it.each(['', '   ', '\n\t\n'])('turns empty output %j into failed empty_output', (output) => {
    expect(decide(input(out('success', { output })))).toEqual({ kind: 'fail', errorClass: 'empty_output', message: 'the agent produced no output' });
  });
});

describe('decide: permanent', () => {
  it('fails at once with the provider message, trimmed', () => {
    expect(decide(input(out('permanent', { message: '  bad model name \n' })))).toEqual({ kind: 'fail', errorClass: 'permanent', message: 'bad model name' });
  });

  it('fails at once even on the first of many attempts and with a fallback available', () => {
    const d = decide(input(out('permanent', { message: 'nope' }), { attempt: 1, maxAttempts: 10, nextFallback: 'other' }));
    expect(d).toEqual({ kind: 'fail', errorClass: 'permanent', message: 'nope' });
  });

  it('has a default message when the provider gave none or a blank one', () => {
    for (const message of [undefined, '', '   ']) {
      const o = message === undefined ? out('permanent') : out('permanent', { message });
      expect(decide(input(o))).toEqual({ kind: 'fail', errorClass: 'permanent', message: 'the provider failed without a message' });
    }
  });

  it('a provider-side cancel is a failure, not a retry', () => {
    expect(decide(input(out('cancelled', { message: 'stopped' })))).toEqual({ kind: 'fail', errorClass: 'cancelled', message: 'stopped' });
    expect(decide(input(out('cancelled')))).toEqual({ kind: 'fail', errorClass: 'cancelled', message: 'the provider stopped the run' });
  });
});

describe('decide: session_invalid', () => {
  it('asks for one immediate retry on a fresh session', () => {
    expect(decide(input(out('session_invalid', { message: 'session gone' })))).toEqual({ kind: 'fresh_session', reason: 'session gone' });
    expect(decide(input(out('session_invalid')))).toEqual({ kind: 'fresh_session', reason: 'the provider session is no longer valid' });
  });

  it('fresh session regardless of the attempt count', () => {
    expect(decide(input(out('session_invalid', { message: 'x' }), { attempt: 3, maxAttempts: 3 }))).toEqual({ kind: 'fresh_session', reason: 'x' });
  });

  it('fails once the fresh-session retry was used', () => {
    expect(decide(input(out('session_invalid', { message: 'still gone' }), { sessionRetryUsed: true }))).toEqual({
      kind: 'fail',
      errorClass: 'session_invalid',
      message: 'still gone',
    });
    expect(decide(input(out('session_invalid'), { sessionRetryUsed: true }))).toEqual({
      kind: 'fail',
      errorClass: 'session_invalid',
      message: 'the provider session is not valid, even a fresh one',
    });
  });
});

describe('decide: transient and timeout', () => {
  it('retries with backoff from the injected random source', () => {
    const d = decide(input(out('transient', { message: '502 bad gateway' }), { attempt: 2, random: () => 0.5 }));
    // ceiling for attempt 2 = min(30000, 1000·2) = 2000 → 0.5 · 2000
    expect(d).toEqual({ kind: 'retry', notBefore: NOW + 1000, delayMs: 1000, reason: '502 bad gateway', errorClass: 'transient' });
  });

  it('uses the default reason per class', () => {
    expect(decide(input(out('transient'), { random: () => 0 }))).toMatchObject({ kind: 'retry', reason: 'transient provider error', errorClass: 'transient' });
    expect(decide(input(out('timeout'), { random: () => 0 }))).toMatchObject({ kind: 'retry', reason: 'the provider timed out', errorClass: 'timeout' });
  });

  it('is never shorter than Retry-After', () => {
    const d = decide(input(out('transient', { message: 'busy', retryAfterMs: 7000 }), { attempt: 1, random: () => 0.5 }));
    expect(d).toEqual({ kind: 'retry', notBefore: NOW + 7000, delayMs: 7000, reason: 'busy', errorClass: 'transient' });
  });

  it('Retry-After may exceed the backoff cap', () => {
    const d = decide(input(out('transient', { message: 'busy', retryAfterMs: 120_000 }), { attempt: 1, random: () => 1 }));
    expect(d).toMatchObject({ kind: 'retry', delayMs: 120_000, notBefore: NOW + 120_000 });
  });

  it('takes the backoff when it is longer than Retry-After', () => {
    const d = decide(input(out('transient', { message: 'busy', retryAfterMs: 100 }), { attempt: 4, maxAttempts: 10, random: () => 1 }));
    expect(d).toMatchObject({ kind: 'retry', delayMs: 8000, notBefore: NOW + 8000 });
  });

  it('the delay is bounded by the cap (no Retry-After)', () => {
    const d = decide(input(out('timeout', { message: 't' }), { attempt: 9, maxAttempts: 20, random: () => 0.999_999 }));
    expect(d.kind).toBe('retry');
    if (d.kind !== 'retry') return;
    expect(d.delayMs).toBe(30_000);
    expect(d.notBefore).toBe(NOW + 30_000);
  });

  it('delay and notBefore agree for a range of random values', () => {
    for (const r of [0, 0.2, 0.4, 0.6, 0.8, 0.99]) {
      const d = decide(input(out('transient', { message: 'x' }), { attempt: 3, maxAttempts: 10, random: () => r }));
      if (d.kind !== 'retry') throw new Error(`expected retry, got ${d.kind}`);
      expect(d.delayMs).toBe(Math.round(r * 4000));
      expect(d.notBefore - NOW).toBe(d.delayMs);
    }
  });

  it('gives up at maxAttempts with the reason and the count', () => {
    expect(decide(input(out('transient', { message: 'flaky' }), { attempt: 3, maxAttempts: 3 }))).toEqual({
      kind: 'fail',
      errorClass: 'transient',
      message: 'flaky (gave up after 3 attempts)',
    });
    expect(decide(input(out('timeout'), { attempt: 5, maxAttempts: 3 }))).toEqual({
      kind: 'fail',
      errorClass: 'timeout',
      message: 'the provider timed out (gave up after 5 attempts)',
    });
  });

  it('retries on the attempt before the last', () => {
    expect(decide(input(out('transient', { message: 'x' }), { attempt: 2, maxAttempts: 3 })).kind).toBe('retry');
  });

  it('maxAttempts 1 means no retry at all', () => {
    expect(decide(input(out('transient', { message: 'x' }), { attempt: 1, maxAttempts: 1 }))).toMatchObject({ kind: 'fail', errorClass: 'transient' });
  });

  it('moves to the next fallback provider once attempts are spent', () => {
    expect(decide(input(out('transient', { message: 'down' }), { attempt: 3, maxAttempts: 3, nextFallback: 'codex' }))).toEqual({
      kind: 'fallback',
      provider: 'codex',
      reason: 'down',
    });
  });

  it('does not fall back while attempts remain', () => {
    expect(decide(input(out('transient', { message: 'down' }), { attempt: 1, maxAttempts: 3, nextFallback: 'codex' })).kind).toBe('retry');
  });
});

describe('decide: rate_limited and quota', () => {
  it('parks until the reset time, without touching the attempt count', () => {
    const resetAt = NOW + 90_000;
    const d = decide(input(out('rate_limited', { message: '429', resetAt }), { attempt: 3, maxAttempts: 3 }));
    expect(d).toEqual({ kind: 'park', notBefore: resetAt, reason: '429', errorClass: 'rate_limited' });
  });

  it('parks for Retry-After when there is no reset time', () => {
    expect(decide(input(out('rate_limited', { message: 'slow', retryAfterMs: 12_000 })))).toEqual({
      kind: 'park',
      notBefore: NOW + 12_000,
      reason: 'slow',
      errorClass: 'rate_limited',
    });
  });

  it('prefers resetAt over retryAfterMs', () => {
    const d = decide(input(out('rate_limited', { message: 'x', resetAt: NOW + 5000, retryAfterMs: 50_000 })));
    expect(d).toMatchObject({ kind: 'park', notBefore: NOW + 5000 });
  });

  it('parks for the default rateLimitWait when the provider gave no time', () => {
    expect(decide(input(out('rate_limited')))).toEqual({
      kind: 'park',
      notBefore: NOW + 60_000,
      reason: 'provider rate limit reached',
      errorClass: 'rate_limited',
    });
    expect(decide(input(out('quota')))).toEqual({
      kind: 'park',
      notBefore: NOW + 60_000,
      reason: 'provider quota reached',
      errorClass: 'quota',
    });
  });

  it('a reset time in the past parks until now', () => {
    expect(decide(input(out('quota', { message: 'q', resetAt: NOW - 10_000 })))).toEqual({ kind: 'park', notBefore: NOW, reason: 'q', errorClass: 'quota' });
  });

  it('does not use the random source', () => {
    const d = decide(input(out('rate_limited', { message: 'x' }), { random: () => { throw new Error('random used'); } }));
    expect(d.kind).toBe('park');
  });

  it('parks exactly up to the parking ceiling', () => {
    const d = decide(input(out('rate_limited', { message: 'x', retryAfterMs: 600_000 }), { parkedMs: 3_000_000 }));
    expect(d).toEqual({ kind: 'park', notBefore: NOW + 600_000, reason: 'x', errorClass: 'rate_limited' });
  });

  it('fails once total parking would pass the ceiling', () => {
    const d = decide(input(out('rate_limited', { message: '429 slow down', retryAfterMs: 600_001 }), { parkedMs: 3_000_000 }));
    expect(d).toEqual({
      kind: 'fail',
      errorClass: 'rate_limited',
      message: `429 slow down — waiting until ${new Date(NOW + 600_001).toISOString()} would exceed the 1h parking limit (retry.maxParkTime)`,
    });
  });

  it('fails a single wait longer than the ceiling, with class quota', () => {
    const d = decide(input(out('quota', { message: 'monthly quota', resetAt: NOW + 7_200_000 })));
    expect(d).toMatchObject({ kind: 'fail', errorClass: 'quota' });
    if (d.kind === 'fail') expect(d.message).toContain('monthly quota');
  });

  it('moves to the next fallback provider before parking', () => {
    expect(decide(input(out('rate_limited', { message: '429', resetAt: NOW + 1000 }), { nextFallback: 'backup' }))).toEqual({
      kind: 'fallback',
      provider: 'backup',
      reason: '429',
    });
    expect(decide(input(out('quota'), { nextFallback: 'backup' }))).toEqual({ kind: 'fallback', provider: 'backup', reason: 'provider quota reached' });
  });
});

describe('decide: the engine aborted the run', () => {
  const cases: Array<[AbortReason, ReturnType<typeof decide>]> = [
    [{ kind: 'cancel', message: 'cancelled by user' }, { kind: 'cancel', message: 'cancelled by user' }],
    [{ kind: 'timeout', message: 'ran for 1h' }, { kind: 'time_out', message: 'ran for 1h' }],
    [{ kind: 'no_output', message: 'silent for 10m' }, { kind: 'time_out', message: 'silent for 10m' }],
    [{ kind: 'budget', message: 'spent $5' }, { kind: 'fail', errorClass: 'budget', message: 'spent $5' }],
    [{ kind: 'shutdown', message: 'daemon stopping' }, { kind: 'interrupt', reason: 'daemon stopping' }],
  ];

  it.each(cases)('abort %o → %o, whatever the outcome short of a completed answer', (abort, expected) => {
    expect(decide(input(out('success', { output: '' }), { abort }))).toEqual(expected);
    expect(decide(input(out('transient', { message: 'x' }), { abort }))).toEqual(expected);
    expect(decide(input(out('rate_limited'), { abort, nextFallback: 'b' }))).toEqual(expected);
  });

  it.each(cases.filter(([a]) => a.kind !== 'budget'))('a run that completed with an answer before abort %o took effect succeeds', (abort) => {
    expect(decide(input(out('success', { output: 'done' }), { abort }))).toEqual({ kind: 'succeed', output: 'done' });
  });

  it('a spent budget fails the task even if the run completed', () => {
    expect(decide(input(out('success', { output: 'done' }), { abort: { kind: 'budget', message: 'spent $5' } }))).toEqual({ kind: 'fail', errorClass: 'budget', message: 'spent $5' });
  });
});
