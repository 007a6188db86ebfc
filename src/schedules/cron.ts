import { Cron } from 'croner';

/**
 * Cron expressions and fire times: pure (no clock, no I/O). Expressions have 5 fields (minute hour
 * day-of-month month day-of-week, as the original's jobs.json) or 6 (seconds first), or a nickname such
 * as `@hourly`; times are computed in the schedule's IANA time zone (default UTC) by croner, which
 * handles daylight saving time: a local time skipped by the spring change fires at the first valid time
 * after it, and a time repeated by the autumn change fires once.
 */
export interface CronSpec {
  expr: string;
  /** IANA time zone, e.g. `Europe/Berlin`; undefined = UTC. */
  tz: string | undefined;
  readonly cron: Cron;
}

/** Whether `tz` is a time zone this Node knows (IANA name such as `Asia/Tokyo`, or `UTC`). Pure. */
export function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * A checked cron spec, or the reason it is not one (for a config error naming the field). The time zone
 * is checked first, so a bad one is reported as such.
 */
export function parseCron(expr: string, tz?: string): { ok: true; spec: CronSpec } | { ok: false; field: 'cron' | 'tz'; reason: string } {
  if (tz !== undefined && !validTimeZone(tz)) {
    return { ok: false, field: 'tz', reason: 'an IANA time zone such as "UTC", "Europe/Berlin" or "America/New_York"' };
  }
  const trimmed = expr.trim();
  const parts = trimmed.split(/\s+/).length;
  if (!trimmed.startsWith('@') && parts !== 5 && parts !== 6) {
    return { ok: false, field: 'cron', reason: `a cron expression of 5 fields ("minute hour day month weekday", e.g. "0 9 * * 1-5") or 6 with seconds first; it has ${parts}` };
  }
  try {
    const cron = new Cron(trimmed, { timezone: tz ?? 'UTC', paused: true, mode: '5-or-6-parts' });
    // croner checks some things lazily (impossible dates): ask for one time now.
    cron.nextRun(new Date(0));
    return { ok: true, spec: { expr: trimmed, tz, cron } };
  } catch (err) {
    return { ok: false, field: 'cron', reason: `a valid cron expression (${(err as Error).message.replace(/^CronPattern: /, '')}), e.g. "0 9 * * 1-5"` };
  }
}

/** The first fire time strictly after `after` (epoch ms), or undefined when there is none. Pure. */
export function nextFire(spec: CronSpec, after: number): number | undefined {
  return spec.cron.nextRun(new Date(after))?.getTime();
}

/**
 * The latest fire time in (from, to], or undefined when there is none. Walks forward (fire times are at
 * least a second apart); `limit` bounds the walk for a frequent schedule over a long gap, after which it
 * asks croner for the previous time before `to` directly. Pure.
 */
export function latestFireIn(spec: CronSpec, from: number, to: number, limit = 10_000): number | undefined {
  if (to <= from) return undefined;
  let latest: number | undefined;
  let t = from;
  for (let i = 0; i < limit; i++) {
    const n = nextFire(spec, t);
    if (n === undefined || n > to) return latest;
    latest = n;
    t = n;
  }
  // A long gap of a frequent schedule: the fire time just before `to + 1 ms` (previousRuns excludes its reference).
  const prev = spec.cron.previousRuns(1, new Date(to + 1))[0]?.getTime();
  return prev !== undefined && prev > from ? prev : latest;
}

export type CatchUp = 'none' | 'last';

/**
 * What a schedule does when this daemon takes it up (at start, or on taking over from a daemon that
 * stopped): with `catchUp: none` nothing missed fires; with `last`, the latest fire time missed since
 * `checkedUntil` (up to `now`) fires once — unless it already fired (`alreadyFired`), e.g. just before a
 * crash. A schedule never handled before (`checkedUntil` undefined) has missed nothing. Pure.
 */
export function catchUpFiring(
  spec: CronSpec,
  policy: CatchUp,
  checkedUntil: number | undefined,
  now: number,
  alreadyFired: (scheduledAt: number) => boolean,
): number | undefined {
  if (policy !== 'last' || checkedUntil === undefined) return undefined;
  const missed = latestFireIn(spec, checkedUntil, now);
  if (missed === undefined || alreadyFired(missed)) return undefined;
  return missed;
}

/**
 * At `now`, the fire time that is due for a schedule armed for `nextAt`: the latest fire time in
 * [nextAt, now] (one firing, however many a stalled clock or a suspended machine skipped), or undefined
 * when `nextAt` is still ahead. Pure.
 */
export function dueFiring(spec: CronSpec, nextAt: number, now: number): number | undefined {
  if (now < nextAt) return undefined;
  return latestFireIn(spec, nextAt - 1, now) ?? nextAt;
}
