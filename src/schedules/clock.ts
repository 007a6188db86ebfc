import { readFileSync } from 'node:fs';
import { TetoraError } from '../errors.js';

/**
 * The clock schedules run on. In production it is `Date.now`, and the scheduler sleeps until the next
 * fire time. FOR TESTS ONLY, `TETORA_TEST_CLOCK=<file>` makes the schedules (and nothing else: task
 * timeouts, leases and the engine keep real time) read the current time from that file — epoch
 * milliseconds or an ISO 8601 time — at every look, and poll it every 50 ms instead of sleeping, so a test
 * moves time forward by rewriting the file instead of waiting for real minutes.
 */
export interface ScheduleClock {
  now(): number;
  /** How long the scheduler may sleep before looking again, at most. */
  readonly pollMs: number;
  /** True for the test clock (logged at start, so a production daemon never runs on one unnoticed). */
  readonly test: boolean;
}

/** The longest sleep of the real clock: wall-clock jumps (NTP, a suspended machine) are noticed within it. */
const REAL_POLL_MS = 60_000;
const TEST_POLL_MS = 50;

/** Epoch ms from a test clock file's text ("1767225600000" or "2026-01-01T00:00:00Z"). Pure. */
export function parseClockText(text: string): number | undefined {
  const s = text.trim();
  if (/^\d+$/.test(s)) return Number(s);
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}

export function realClock(): ScheduleClock {
  return { now: () => Date.now(), pollMs: REAL_POLL_MS, test: false };
}

/** A clock read from `path` (test only); its last good reading is kept while the file is being rewritten. */
export function fileClock(path: string): ScheduleClock {
  const read = (): number | undefined => {
    try {
      return parseClockText(readFileSync(path, 'utf8'));
    } catch {
      return undefined;
    }
  };
  let last = read();
  if (last === undefined) {
    throw new TetoraError('TET_ERR_USAGE', `TETORA_TEST_CLOCK names ${path}, which does not hold a time (epoch milliseconds or ISO 8601); it is for tests only: unset it to run on the real clock.`, { path });
  }
  return {
    now: () => {
      last = read() ?? last;
      return last as number;
    },
    pollMs: TEST_POLL_MS,
    test: true,
  };
}

/** The schedules' clock for this process: the test clock when `TETORA_TEST_CLOCK` is set, else the real one. */
export function clockFromEnv(env: Record<string, string | undefined> = process.env): ScheduleClock {
  const path = env.TETORA_TEST_CLOCK;
  return path ? fileClock(path) : realClock();
}
