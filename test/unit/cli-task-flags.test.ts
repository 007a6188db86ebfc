import { describe, expect, it } from 'vitest';
import { taskListFlags, taskListSearch } from '../../src/cli/commands/task-query.js';
import { stdoutErrorAction } from '../../src/cli/output.js';
import { TetoraError } from '../../src/errors.js';
import { parseQuery, taskListQuery } from '../../src/http/query.js';

const refusal = (fn: () => unknown): TetoraError => {
  try {
    fn();
  } catch (err) {
    if (err instanceof TetoraError) return err;
    throw err;
  }
  throw new Error('not refused');
};

describe('task list flags: the daemon’s query check, in the words of the CLI', () => {
  it('splits comma-separated statuses and agents and builds the query the daemon reads the same way', () => {
    const q = taskListFlags({ status: 'queued, failed', agent: 'a,b', limit: '20', cursor: '17' });
    expect(q).toEqual({ status: ['queued', 'failed'], agent: ['a', 'b'], limit: 20, cursor: 17 });
    const search = taskListSearch(q);
    expect(search.toString()).toBe('status=queued%2Cfailed&agent=a%2Cb&limit=20&cursor=17');
    expect(parseQuery(taskListQuery, Object.fromEntries(search))).toEqual(q);
  });

  it('names the flag, its value and the fix, as a usage error', () => {
    const limit = refusal(() => taskListFlags({ limit: '0' }));
    expect(limit.code).toBe('TET_ERR_USAGE');
    expect(limit.exitCode).toBe(64);
    expect(limit.message).toBe('--limit "0" must be a whole number from 1 to 1000.');
    expect(limit.details).toEqual({ field: 'limit', value: '0' });
    expect(refusal(() => taskListFlags({ limit: '20', cursor: 'x' })).message).toBe('--cursor "x" must be the nextCursor of the previous page.');
    expect(refusal(() => taskListFlags({ limit: '20', status: 'queued,done' })).message).toMatch(/^--status "queued,done" includes "done", which is not a task status; use queued, routing, running, /);
  });

  it('the daemon still names its query parameters', () => {
    const err = refusal(() => parseQuery(taskListQuery, { limit: '0' }));
    expect(err.code).toBe('TET_ERR_HTTP_BAD_REQUEST');
    expect(err.message).toBe('query parameter limit="0" must be a whole number from 1 to 1000.');
  });
});

describe('a failed write to stdout', () => {
  const epipe = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
  it('EPIPE (the reader went away) ends a command with 0 and no message; the daemon ignores it', () => {
    expect(stdoutErrorAction(epipe, false)).toEqual({ exit: 0 });
    expect(stdoutErrorAction(epipe, true)).toEqual({});
  });
  it('another error is one line naming it, and exit 74', () => {
    const r = stdoutErrorAction(Object.assign(new Error('no space'), { code: 'ENOSPC' }), false);
    expect(r.exit).toBe(74);
    expect(r.message).toMatch(/^tetora: cannot write to stdout \(ENOSPC\)/);
  });
});
