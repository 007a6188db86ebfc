import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/util/duration.js';

describe('parseDuration', () => {
  it.each([
    ['90s', 90_000],
    ['15m', 900_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['1h30m15s', 5_415_000],
    ['500ms', 500],
    ['1m500ms', 60_500],
    ['1.5h', 5_400_000],
    ['0.5s', 500],
    ['2d', 172_800_000],
    ['0s', 0],
    [' 15m ', 900_000],
    ['2500', 2500],
    ['1h0m0s', 3_600_000],
    ['2m30.5s', 150_500],
    ['1500us', 2],
    ['1500µs', 2],
    ['2000000ns', 2],
    ['1s400us', 1000],
  ])('reads %j as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it('takes numbers as milliseconds, rounded', () => {
    expect(parseDuration(1500)).toBe(1500);
    expect(parseDuration(0)).toBe(0);
    expect(parseDuration(1.4)).toBe(1);
  });

  it.each(['', '   ', 'abc', '5 m', '1x', '1h30', 'h1', '-5s', '1.s', '1h 30m', '15M', 'ms'])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it('rejects negative, infinite and NaN numbers', () => {
    expect(parseDuration(-1)).toBeUndefined();
    expect(parseDuration(Number.POSITIVE_INFINITY)).toBeUndefined();
    expect(parseDuration(Number.NaN)).toBeUndefined();
  });
});

describe('formatDuration', () => {
  it.each([
    [250, '250ms'],
    [1000, '1s'],
    [90_000, '1m30s'],
    [5_400_000, '1h30m'],
    [3_600_500, '1h500ms'],
  ])('writes %d ms as %j', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('round-trips through parseDuration', () => {
    for (const ms of [1, 999, 1000, 61_001, 3_599_999, 86_400_000, 93_784_005]) expect(parseDuration(formatDuration(ms))).toBe(ms);
  });
});
