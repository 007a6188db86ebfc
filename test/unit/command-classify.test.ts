import { describe, expect, it } from 'vitest';
import { classifyCommandExit } from '../../src/providers/command.js';

const NOW = Date.UTC(2026, 5, 1, 8, 0, 0);
const none = { transientPatterns: [] as string[], rateLimitPatterns: [] as string[] };
const pats = { transientPatterns: ['ECONNRESET', 'temporar(il)?y unavailable', '^5\\d\\d\\b'], rateLimitPatterns: ['rate.?limit', '\\b429\\b', 'quota exceeded'] };

describe('classifyCommandExit: exit status without patterns', () => {
  it('exit 0 is success', () => {
    expect(classifyCommandExit(none, 0, 'all good', NOW)).toEqual({ class: 'success' });
    expect(classifyCommandExit(none, 0, '', NOW)).toEqual({ class: 'success' });
  });

  it.each([1, 2, 127, 255, -1])('exit %d is permanent', (code) => {
    expect(classifyCommandExit(none, code, 'error: something broke', NOW)).toEqual({ class: 'permanent' });
  });

  it('a killed child (exit code null) is permanent', () => {
    expect(classifyCommandExit(none, null, '', NOW)).toEqual({ class: 'permanent' });
  });

  it('a permanent failure carries no wait, even if the text has Retry-After', () => {
    expect(classifyCommandExit(none, 1, 'Retry-After: 30\nReset-At: 2026-06-01T09:00:00Z', NOW)).toEqual({ class: 'permanent' });
  });

  it('exit 0 is success even when the answer matches a failure pattern', () => {
    expect(classifyCommandExit(pats, 0, 'Added retry handling for HTTP 429 rate limit responses.', NOW)).toEqual({ class: 'success' });
    expect(classifyCommandExit(pats, 0, 'fixed the ECONNRESET bug', NOW)).toEqual({ class: 'success' });
  });

  it('a Reset-At written as a date and time with a space is read whole', () => {
    expect(classifyCommandExit(pats, 1, 'rate limit; Reset-At: 2026-11-25 10:00:00Z', NOW)).toMatchObject({ class: 'rate_limited', resetAt: Date.UTC(2026, 10, 25, 10, 0, 0) });
  });

  it('exit 0 with patterns configured but not matching is still success', () => {
    expect(classifyCommandExit(pats, 0, 'wrote the file', NOW)).toEqual({ class: 'success' });
  });
});

describe('classifyCommandExit: patterns on a failed exit', () => {
  it('a transient pattern makes the failure transient', () => {
    expect(classifyCommandExit(pats, 1, 'fetch failed: read ECONNRESET', NOW)).toEqual({ class: 'transient' });
  });

  it('patterns are case-insensitive regular expressions', () => {
    expect(classifyCommandExit(pats, 1, 'Service TEMPORARILY Unavailable', NOW)).toEqual({ class: 'transient' });
    expect(classifyCommandExit(pats, 1, 'Rate-Limit hit', NOW)).toEqual({ class: 'rate_limited' });
    expect(classifyCommandExit(pats, 1, 'RATELIMIT', NOW)).toEqual({ class: 'rate_limited' });
  });

  it('a rate-limit pattern makes the failure rate_limited', () => {
    expect(classifyCommandExit(pats, 1, 'HTTP 429 Too Many Requests', NOW)).toEqual({ class: 'rate_limited' });
    expect(classifyCommandExit(pats, 2, 'monthly quota exceeded', NOW)).toEqual({ class: 'rate_limited' });
  });

  it('rate-limit patterns win over transient patterns', () => {
    expect(classifyCommandExit(pats, 1, 'ECONNRESET after 429', NOW)).toEqual({ class: 'rate_limited' });
  });

  it('a pattern with no match leaves the failure permanent', () => {
    expect(classifyCommandExit(pats, 1, 'syntax error near line 3', NOW)).toEqual({ class: 'permanent' });
    expect(classifyCommandExit(pats, 1, 'code 4290', NOW)).toEqual({ class: 'permanent' });
  });

  it('any one of several patterns is enough', () => {
    const p = { transientPatterns: ['aaa', 'bbb', 'ccc'], rateLimitPatterns: [] };
    expect(classifyCommandExit(p, 1, 'xx ccc xx', NOW)).toEqual({ class: 'transient' });
  });

  it('a killed child whose output matches a transient pattern is transient', () => {
    expect(classifyCommandExit(pats, null, 'ECONNRESET', NOW)).toEqual({ class: 'transient' });
  });
});

describe('classifyCommandExit: Retry-After and Reset-At', () => {
  it('Retry-After seconds become retryAfterMs on a transient failure', () => {
    expect(classifyCommandExit(pats, 1, 'ECONNRESET\nRetry-After: 30', NOW)).toEqual({ class: 'transient', retryAfterMs: 30_000 });
  });

  it('fractional seconds are rounded to whole ms', () => {
    expect(classifyCommandExit(pats, 1, 'ECONNRESET retry-after: 1.5', NOW)).toEqual({ class: 'transient', retryAfterMs: 1500 });
    expect(classifyCommandExit(pats, 1, 'ECONNRESET retry-after: 0.0004', NOW)).toEqual({ class: 'transient', retryAfterMs: 0 });
  });

  it('accepts "=", ":" and spaces as the separator, in any case', () => {
    expect(classifyCommandExit(pats, 1, 'ECONNRESET RETRY-AFTER=7', NOW)).toEqual({ class: 'transient', retryAfterMs: 7000 });
    expect(classifyCommandExit(pats, 1, 'ECONNRESET retry-after 8', NOW)).toEqual({ class: 'transient', retryAfterMs: 8000 });
    expect(classifyCommandExit(pats, 1, 'ECONNRESET Retry-After:9', NOW)).toEqual({ class: 'transient', retryAfterMs: 9000 });
  });

  it('a non-numeric Retry-After is ignored', () => {
    expect(classifyCommandExit(pats, 1, 'ECONNRESET Retry-After: soon', NOW)).toEqual({ class: 'transient' });
  });

  it('rate_limited with Retry-After also gets resetAt = now + wait', () => {
    expect(classifyCommandExit(pats, 1, '429\nRetry-After: 120', NOW)).toEqual({ class: 'rate_limited', retryAfterMs: 120_000, resetAt: NOW + 120_000 });
  });

  it('Reset-At as an ISO time', () => {
    expect(classifyCommandExit(pats, 1, 'rate limit reached. Reset-At: 2026-06-01T09:30:00Z', NOW)).toEqual({
      class: 'rate_limited',
      resetAt: Date.UTC(2026, 5, 1, 9, 30, 0),
    });
  });

  it('Reset-At as epoch milliseconds', () => {
    expect(classifyCommandExit(pats, 1, '429 reset-at: 1780303800000', NOW)).toEqual({ class: 'rate_limited', resetAt: 1_780_303_800_000 });
  });

  it('Reset-At wins over the resetAt derived from Retry-After', () => {
    expect(classifyCommandExit(pats, 1, '429\nRetry-After: 5\nReset-At: 2026-06-01T10:00:00Z', NOW)).toEqual({
      class: 'rate_limited',
      retryAfterMs: 5000,
      resetAt: Date.UTC(2026, 5, 1, 10, 0, 0),
    });
  });

  it('an unparsable Reset-At is ignored (falls back to Retry-After, or nothing)', () => {
    expect(classifyCommandExit(pats, 1, '429 Reset-At: tomorrow', NOW)).toEqual({ class: 'rate_limited' });
    expect(classifyCommandExit(pats, 1, '429 Reset-At: tomorrow Retry-After: 3', NOW)).toEqual({ class: 'rate_limited', retryAfterMs: 3000, resetAt: NOW + 3000 });
  });

  it('Reset-At on a transient failure is passed through', () => {
    expect(classifyCommandExit(pats, 1, 'ECONNRESET Reset-At: 2026-06-01T08:05:00Z', NOW)).toEqual({ class: 'transient', resetAt: Date.UTC(2026, 5, 1, 8, 5, 0) });
  });

  it('reads the first Retry-After when there are several', () => {
    expect(classifyCommandExit(pats, 1, 'ECONNRESET Retry-After: 4\nRetry-After: 40', NOW)).toEqual({ class: 'transient', retryAfterMs: 4000 });
  });

  it('finds the headers in the middle of multi-line stderr and stdout', () => {
    const text = 'progress 10%\nprogress 20%\nerror: HTTP 429\n< Retry-After: 15\n< content-type: text/plain\n\npartial stdout';
    expect(classifyCommandExit(pats, 3, text, NOW)).toEqual({ class: 'rate_limited', retryAfterMs: 15_000, resetAt: NOW + 15_000 });
  });
});
