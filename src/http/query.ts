import { z } from 'zod';
import { taskStatuses } from '../engine/states.js';
import { TetoraError, type ErrorCode } from '../errors.js';
import { parseDuration } from '../util/duration.js';

/**
 * Query strings, validated with zod before a route does anything (writes included). fastify's parser
 * gives a repeated parameter as an array: list parameters (status, agent) take every value (and
 * comma-separated ones); single ones refuse a repeat, naming it. Unknown parameters are refused too (a
 * typo such as `?wiat=true` would otherwise be ignored silently). Pure, and free of fastify: the CLI
 * checks its flags with the same schemas (`tetora task list`), naming them as flags.
 */

const repeated = (iss: { input?: unknown }) => (Array.isArray(iss.input) ? `is given ${iss.input.length} times; give it once` : undefined);

/** One value, given once. */
const single = (what: string) => z.string({ error: (iss) => repeated(iss) ?? `must be ${what}` });

/** Every value of a repeated or comma-separated parameter, trimmed, empty ones dropped. */
const list = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean));

const wholeNumber = (min: number, max: number) =>
  single(`a whole number from ${min} to ${max}`)
    .regex(/^\d+$/, { message: `must be a whole number from ${min} to ${max}` })
    .transform(Number)
    .refine((n) => n >= min && n <= max, { message: `must be a whole number from ${min} to ${max}` });

/** The wait bound of POST /api/dispatch?wait=true: at most 1 hour. */
export const MAX_WAIT_MS = 3_600_000;

export const dispatchQuery = z
  .object({
    wait: single('true or false')
      .refine((s) => ['true', 'false', '1', '0'].includes(s), { message: 'must be true or false' })
      .transform((s) => s === 'true' || s === '1')
      .optional(),
    timeout: single('a duration above 0 such as 90s, 5m or 1h')
      .transform((s) => parseDuration(s))
      .refine((ms): ms is number => ms !== undefined && ms > 0, { message: 'must be a duration above 0 such as 90s, 5m or 1h (at most 1h)' })
      .refine((ms) => ms <= MAX_WAIT_MS, { message: 'must be at most 1h' })
      .optional(),
  })
  .strict();

export const taskListQuery = z
  .object({
    status: list
      .refine((l) => l.every((s) => (taskStatuses as readonly string[]).includes(s)), {
        error: (iss) => {
          const bad = (iss.input as string[]).find((s) => !(taskStatuses as readonly string[]).includes(s));
          return `includes "${bad}", which is not a task status; use ${taskStatuses.join(', ')} (several: comma-separated)`;
        },
      })
      .optional(),
    agent: list.optional(),
    source: single('one source such as http or cli').min(1, { message: 'must not be empty' }).optional(),
    limit: wholeNumber(1, 1000).optional(),
    cursor: single('the nextCursor of the previous page').regex(/^[1-9]\d{0,15}$/, { message: 'must be the nextCursor of the previous page' }).transform(Number).optional(),
  })
  .strict();

/** GET /api/tasks and `tetora task list`, checked: lists split, limit and cursor numbers. */
export type TaskListQuery = z.output<typeof taskListQuery>;

export const eventsQuery = z.object({ lastEventId: single('an event id (a whole number)').optional() }).strict();

export const noQuery = z.object({}).strict();

/** How a refusal names what was given: a query parameter (HTTP, the default) or a CLI flag. */
export interface QueryWords {
  code: ErrorCode;
  /** `name` given as `shown` (its value, quoted). */
  given(name: string, shown: string): string;
  unknown(names: string, known: string[]): string;
}

const httpWords: QueryWords = {
  code: 'TET_ERR_HTTP_BAD_REQUEST',
  given: (name, shown) => `query parameter ${name}=${shown}`,
  unknown: (names, known) => `unknown query parameter ${names}; ${known.length ? `this route takes ${known.join(', ')}` : 'this route takes none'}`,
};

/** A CLI's flags (`--limit "0" must be …`), refused as a usage error. */
export const flagWords: QueryWords = {
  code: 'TET_ERR_USAGE',
  given: (name, shown) => `--${name} ${shown}`,
  unknown: (names, known) => `unknown option ${names}; this command takes ${known.map((k) => `--${k}`).join(', ')}`,
};

/** Parse `query` with `schema`, or throw a 400 that names the parameter, its value and what it must be. */
export function parseQuery<S extends z.ZodType>(schema: S, query: unknown, words: QueryWords = httpWords): z.output<S> {
  const r = schema.safeParse(query ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  if (issue?.code === 'unrecognized_keys') {
    const known = schema instanceof z.ZodObject ? Object.keys(schema.shape as object) : [];
    const names = issue.keys.join(', ');
    throw new TetoraError(words.code, `${words.unknown(names, known)}.`, { field: issue.keys[0], known });
  }
  const name = String(issue?.path[0] ?? '(query)');
  const value = (query as Record<string, unknown> | undefined)?.[name];
  const shown = Array.isArray(value) ? value.map((v) => JSON.stringify(v)).join(', ') : JSON.stringify(value);
  throw new TetoraError(words.code, `${words.given(name, shown)} ${issue?.message ?? 'is not valid'}.`, { field: name, value });
}

/**
 * Where an SSE stream resumes: the Last-Event-ID header, or ?lastEventId=; 0 when neither is given.
 * Anything but a whole number is refused (a garbage id must not replay everything from the start).
 */
export function lastEventIdOf(header: string | string[] | undefined, query: string | undefined): number {
  const fromHeader = Array.isArray(header) ? header[0] : header;
  const raw = fromHeader ?? query;
  if (raw === undefined || raw.trim() === '') return 0;
  if (!/^\s*\d{1,15}\s*$/.test(raw)) {
    const field = fromHeader !== undefined ? 'Last-Event-ID' : 'lastEventId';
    throw new TetoraError('TET_ERR_HTTP_BAD_REQUEST', `${field} ${JSON.stringify(raw.slice(0, 100))} is not an event id; send the id of the last event received (a whole number), or none to start from the beginning.`, { field, value: raw.slice(0, 100) });
  }
  return Number(raw);
}
