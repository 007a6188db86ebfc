import { describe, expect, it } from 'vitest';
import { TetoraError } from '../../src/errors.js';
import { tokenMatches } from '../../src/http/app.js';
import { tasksOfBody } from '../../src/http/routes/dispatch.js';
import { isLoopback, unsafeWithout } from '../../src/daemon/serve.js';
import { clampDelay, MAX_TIMER_MS } from '../../src/util/timers.js';

describe('tokenMatches', () => {
  it('accepts the exact token', () => {
    expect(tokenMatches('s3cret-token', 's3cret-token')).toBe(true);
    const long = 'x'.repeat(4096);
    expect(tokenMatches(long, long)).toBe(true);
  });

  it.each([
    ['s3cret-token ', 'trailing space'],
    [' s3cret-token', 'leading space'],
    ['S3cret-token', 'case'],
    ['s3cret-toke', 'prefix'],
    ['s3cret-token2', 'longer'],
    ['', 'empty'],
    ['Bearer s3cret-token', 'with the scheme'],
  ])('refuses %j (%s)', (presented) => {
    expect(tokenMatches(presented, 's3cret-token')).toBe(false);
  });

  it('refuses a missing token', () => {
    expect(tokenMatches(undefined, 's3cret-token')).toBe(false);
  });

  it('a missing token never matches, even an empty expected token', () => {
    expect(tokenMatches(undefined, '')).toBe(false);
  });

  it('compares unicode tokens by their bytes', () => {
    expect(tokenMatches('clé-🔑', 'clé-🔑')).toBe(true);
    expect(tokenMatches('cle-🔑', 'clé-🔑')).toBe(false);
  });
});

describe('isLoopback', () => {
  it.each(['localhost', '::1', '127.0.0.1', '127.0.0.2', '127.1.2.3', '127.255.255.255'])('%j is loopback', (host) => {
    expect(isLoopback(host)).toBe(true);
  });

  it.each([
    '0.0.0.0',
    '::',
    '',
    '10.0.0.1',
    '192.168.1.10',
    '128.0.0.1',
    '1127.0.0.1',
    '127.0.0.1.evil.example',
    'evil127.0.0.1',
    '127.0.0',
    '127.0.0.1 ',
    '[::1]',
    'localhost.example.com',
    'my-localhost',
    'example.com',
    '::2',
  ])('%j is not loopback', (host) => {
    expect(isLoopback(host)).toBe(false);
  });
});

describe('tasksOfBody', () => {
  it('an array is the list of tasks, as is', () => {
    const body = [{ prompt: 'a' }, { prompt: 'b' }];
    expect(tasksOfBody(body)).toBe(body);
    expect(tasksOfBody([])).toEqual([]);
  });

  it('an array keeps non-object items for the validator to report', () => {
    expect(tasksOfBody([1, 'x', null])).toEqual([1, 'x', null]);
  });

  it('{ tasks: [...] } gives the inner array', () => {
    const tasks = [{ prompt: 'a' }];
    expect(tasksOfBody({ tasks })).toBe(tasks);
    expect(tasksOfBody({ tasks: [] })).toEqual([]);
  });

  it('one object is a list of one', () => {
    const t = { prompt: 'hello', agent: 'coder' };
    const r = tasksOfBody(t);
    expect(r).toHaveLength(1);
    expect(r[0]).toBe(t);
  });

  it('an object whose "tasks" is not an array is itself one task', () => {
    const t = { prompt: 'p', tasks: 'not a list' };
    expect(tasksOfBody(t)).toEqual([t]);
    expect(tasksOfBody({})).toEqual([{}]);
  });

  it.each([null, undefined, 'prompt', 42, true, 0, ''])('refuses %j with TET_ERR_TASK_INVALID', (body) => {
    let err: unknown;
    try {
      tasksOfBody(body);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TetoraError);
    expect((err as TetoraError).code).toBe('TET_ERR_TASK_INVALID');
    expect((err as TetoraError).status).toBe(400);
    expect((err as TetoraError).details).toEqual({ field: '(body)' });
  });
});

describe('unsafeWithout (start and every reload)', () => {
  const cfg = (apiToken?: string) => ({ configPath: '/home/u/.tetora/config.json', ...(apiToken ? { apiToken } : {}) });
  it('allows loopback without a token, and any address with one', () => {
    expect(unsafeWithout('127.0.0.1', '127.0.0.1:8991', cfg())).toBeUndefined();
    expect(unsafeWithout('0.0.0.0', '0.0.0.0:8991', cfg('secret'))).toBeUndefined();
  });
  it('refuses an address beyond loopback without a token, naming the address and the file, never a token', () => {
    const err = unsafeWithout('0.0.0.0', '0.0.0.0:8991', cfg());
    expect(err?.code).toBe('TET_ERR_LISTEN_UNSAFE');
    expect(err?.message).toContain('0.0.0.0:8991');
    expect(err?.message).toContain('/home/u/.tetora/config.json');
  });
});

describe('clampDelay', () => {
  it('keeps delays within what a timer can hold', () => {
    expect(clampDelay(1500)).toBe(1500);
    expect(clampDelay(-5)).toBe(0);
    expect(clampDelay(2600000 * 1000)).toBe(MAX_TIMER_MS);
    expect(clampDelay(Number.POSITIVE_INFINITY)).toBe(MAX_TIMER_MS);
    expect(clampDelay(Number.NaN)).toBe(MAX_TIMER_MS);
  });
});
