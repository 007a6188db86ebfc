import { describe, expect, it } from 'vitest';
import { catchUpFiring, dueFiring, latestFireIn, nextFire, parseCron, validTimeZone, type CronSpec } from '../../src/schedules/cron.js';
import { parseClockText } from '../../src/schedules/clock.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

function spec(expr: string, tz?: string): CronSpec {
  const p = parseCron(expr, tz);
  if (!p.ok) throw new Error(p.reason);
  return p.spec;
}

describe('parseCron', () => {
  it('accepts 5 and 6 fields and nicknames; refuses other counts and bad values, naming the field', () => {
    expect(parseCron('*/5 * * * *').ok).toBe(true);
    expect(parseCron('0 */5 * * * *').ok).toBe(true);
    expect(parseCron('@hourly').ok).toBe(true);
    const four = parseCron('* * * *');
    expect(four).toMatchObject({ ok: false, field: 'cron' });
    expect(four.ok ? '' : four.reason).toContain('it has 4');
    const bad = parseCron('61 * * * *');
    expect(bad).toMatchObject({ ok: false, field: 'cron' });
    expect(bad.ok ? '' : bad.reason).toContain('minute');
    expect(parseCron('0 9 * * *', 'Mars/Olympus')).toMatchObject({ ok: false, field: 'tz' });
  });

  it('knows IANA time zones', () => {
    expect(validTimeZone('Europe/Berlin')).toBe(true);
    expect(validTimeZone('UTC')).toBe(true);
    expect(validTimeZone('Nowhere/Special')).toBe(false);
  });
});

describe('nextFire', () => {
  it('computes in the schedule\'s time zone (default UTC)', () => {
    expect(iso(nextFire(spec('0 9 * * *'), at('2026-06-01T10:00:00Z')))).toBe('2026-06-02T09:00:00.000Z');
    // 09:00 in Tokyo (UTC+9, no DST) is 00:00 UTC.
    expect(iso(nextFire(spec('0 9 * * *', 'Asia/Tokyo'), at('2026-06-01T10:00:00Z')))).toBe('2026-06-02T00:00:00.000Z');
    // Berlin in summer is UTC+2.
    expect(iso(nextFire(spec('0 9 * * *', 'Europe/Berlin'), at('2026-06-01T10:00:00Z')))).toBe('2026-06-02T07:00:00.000Z');
  });

  it('is strictly after the given time', () => {
    const s = spec('* * * * *');
    expect(iso(nextFire(s, at('2026-01-01T00:01:00Z')))).toBe('2026-01-01T00:02:00.000Z');
    expect(iso(nextFire(s, at('2026-01-01T00:01:00Z') - 1))).toBe('2026-01-01T00:01:00.000Z');
  });

  it('fires a local time skipped by the spring DST change at the next valid time, once', () => {
    // Europe/Berlin, 2026-03-29: 02:00 local jumps to 03:00 (01:00 UTC). 02:30 does not exist that day.
    const s = spec('30 2 * * *', 'Europe/Berlin');
    expect(iso(nextFire(s, at('2026-03-28T12:00:00Z')))).toBe('2026-03-29T01:00:00.000Z');
    expect(iso(nextFire(s, at('2026-03-29T01:00:00Z')))).toBe('2026-03-30T00:30:00.000Z');
  });

  it('fires a local time repeated by the autumn DST change once', () => {
    // America/New_York, 2026-11-01: 01:30 happens at 05:30 UTC (EDT) and again at 06:30 UTC (EST).
    const s = spec('30 1 * * *', 'America/New_York');
    const first = nextFire(s, at('2026-10-31T12:00:00Z')) as number;
    expect(iso(first)).toBe('2026-11-01T05:30:00.000Z');
    expect(iso(nextFire(s, first))).toBe('2026-11-02T06:30:00.000Z');
  });
});

describe('latestFireIn and dueFiring', () => {
  const s = spec('*/10 * * * *');
  it('gives the latest fire time in (from, to]', () => {
    expect(iso(latestFireIn(s, at('2026-01-01T00:00:00Z'), at('2026-01-01T00:35:00Z')))).toBe('2026-01-01T00:30:00.000Z');
    expect(iso(latestFireIn(s, at('2026-01-01T00:00:00Z'), at('2026-01-01T00:30:00Z')))).toBe('2026-01-01T00:30:00.000Z');
    expect(latestFireIn(s, at('2026-01-01T00:00:00Z'), at('2026-01-01T00:09:59Z'))).toBeUndefined();
    expect(latestFireIn(s, at('2026-01-01T00:10:00Z'), at('2026-01-01T00:10:00Z'))).toBeUndefined();
  });

  it('finds the latest over a gap longer than its walk', () => {
    const everySecond = spec('* * * * * *');
    expect(iso(latestFireIn(everySecond, at('2026-01-01T00:00:00Z'), at('2026-01-02T00:00:00.500Z'), 100))).toBe('2026-01-02T00:00:00.000Z');
  });

  it('is due once the armed time has come, with one firing however many were skipped', () => {
    expect(dueFiring(s, at('2026-01-01T00:10:00Z'), at('2026-01-01T00:09:59Z'))).toBeUndefined();
    expect(iso(dueFiring(s, at('2026-01-01T00:10:00Z'), at('2026-01-01T00:10:00Z')))).toBe('2026-01-01T00:10:00.000Z');
    expect(iso(dueFiring(s, at('2026-01-01T00:10:00Z'), at('2026-01-01T00:47:00Z')))).toBe('2026-01-01T00:40:00.000Z');
  });
});

describe('catchUpFiring', () => {
  const s = spec('0 * * * *');
  const checked = at('2026-01-01T01:00:00Z');
  const now = at('2026-01-01T05:30:00Z');
  const never = () => false;

  it('none: nothing missed fires', () => {
    expect(catchUpFiring(s, 'none', checked, now, never)).toBeUndefined();
  });

  it('last: the latest missed firing, once', () => {
    expect(iso(catchUpFiring(s, 'last', checked, now, never))).toBe('2026-01-01T05:00:00.000Z');
  });

  it('last: nothing when the latest one already fired (a crash just after it) or nothing was missed', () => {
    const fired = new Set([at('2026-01-01T05:00:00Z')]);
    expect(catchUpFiring(s, 'last', checked, now, (t) => fired.has(t))).toBeUndefined();
    expect(catchUpFiring(s, 'last', at('2026-01-01T05:00:00Z'), now, never)).toBeUndefined();
  });

  it('last: a schedule never handled before has missed nothing', () => {
    expect(catchUpFiring(s, 'last', undefined, now, never)).toBeUndefined();
  });
});

describe('the test clock file', () => {
  it('reads epoch milliseconds or ISO 8601', () => {
    expect(parseClockText('1767225600000\n')).toBe(1767225600000);
    expect(parseClockText(' 2026-01-01T00:00:00Z ')).toBe(at('2026-01-01T00:00:00Z'));
    expect(parseClockText('soon')).toBeUndefined();
  });
});
