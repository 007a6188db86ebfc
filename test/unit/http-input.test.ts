/** Pure input handling of the HTTP API: query strings, JSON bodies, bearer tokens, idempotency keys, --listen. */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkListen } from '../../src/cli/commands/serve.js';
import { loadConfig } from '../../src/config/load.js';
import { listenFailure } from '../../src/daemon/serve.js';
import { buildTask, detailValue, requestHash, sameRequest } from '../../src/engine/request.js';
import { sseLimitsFromEnv } from '../../src/http/sse.js';
import { bearerToken } from '../../src/http/auth.js';
import { parseJsonBody } from '../../src/http/body.js';
import { dispatchQuery, eventsQuery, lastEventIdOf, parseQuery, taskListQuery } from '../../src/http/query.js';
import { withIdempotencyKeys } from '../../src/http/routes/dispatch.js';
import { writeTree } from '../helpers/cli.js';
import { thrown } from '../helpers/config.js';

const dir = mkdtempSync(join(tmpdir(), 'tetora-http-input-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const project = join(dir, 'project');
mkdirSync(project);
const home = join(dir, 'home');
writeTree(home, { 'config.json': { agents: { a: {}, here: { workdir: home } } } });
const config = loadConfig({ configPath: join(home, 'config.json'), env: {} }).config;
const build = (input: Record<string, unknown>) => buildTask({ prompt: 'do it', ...input }, { source: 'test' }, config, 1_000);

describe('query strings (item 7, 15): validated before anything is written, 400 naming the parameter', () => {
  it('refuses a repeated single parameter instead of failing later (timeout=2s&timeout=3s gave a 500)', () => {
    const err = thrown(() => parseQuery(dispatchQuery, { wait: 'true', timeout: ['2s', '3s'] }));
    expect(err.code).toBe('TET_ERR_HTTP_BAD_REQUEST');
    expect(err.details).toMatchObject({ field: 'timeout' });
    expect(err.message).toContain('timeout');
    expect(err.message).toContain('given 2 times');
  });

  it.each([['abc'], ['-1'], ['0s'], ['2h']])('refuses ?timeout=%s instead of waiting the default 10 minutes', (timeout) => {
    const err = thrown(() => parseQuery(dispatchQuery, { wait: 'true', timeout }));
    expect(err.status).toBe(400);
    expect(err.details).toMatchObject({ field: 'timeout', value: timeout });
  });

  it('reads wait and timeout', () => {
    expect(parseQuery(dispatchQuery, { wait: 'true', timeout: '90s' })).toEqual({ wait: true, timeout: 90_000 });
    expect(parseQuery(dispatchQuery, { wait: '0' })).toEqual({ wait: false });
    expect(thrown(() => parseQuery(dispatchQuery, { wait: 'yes' })).details).toMatchObject({ field: 'wait' });
  });

  it('takes status and agent as lists, repeated or comma-separated', () => {
    expect(parseQuery(taskListQuery, { status: ['queued', 'failed,timed_out'], agent: ['a', 'b'] })).toEqual({ status: ['queued', 'failed', 'timed_out'], agent: ['a', 'b'] });
    const err = thrown(() => parseQuery(taskListQuery, { status: ['queued', 'nope'] }));
    expect(err.details).toMatchObject({ field: 'status' });
    expect(err.message).toContain('succeeded');
  });

  it('names a limit out of range with the range, and refuses unknown parameters naming the known ones', () => {
    expect(thrown(() => parseQuery(taskListQuery, { limit: '0' })).message).toContain('from 1 to 1000');
    expect(thrown(() => parseQuery(taskListQuery, { limit: ['5', '6'] })).message).toContain('given 2 times');
    const err = thrown(() => parseQuery(dispatchQuery, { wiat: 'true' }));
    expect(err.message).toContain('wiat');
    expect(err.message).toContain('wait, timeout');
    expect(thrown(() => parseQuery(eventsQuery, { lastEventId: ['1', '2'] })).details).toMatchObject({ field: 'lastEventId' });
  });
});

describe('Last-Event-ID (item 1)', () => {
  it('takes a whole number from the header or the query, 0 when none', () => {
    expect(lastEventIdOf('42', undefined)).toBe(42);
    expect(lastEventIdOf(undefined, '7')).toBe(7);
    expect(lastEventIdOf(undefined, undefined)).toBe(0);
  });

  it.each([['garbage'], ['-5'], ['1.5'], ['1e3']])('refuses %j with a 400 (it replayed every event of every task)', (id) => {
    const err = thrown(() => lastEventIdOf(id, undefined));
    expect(err.status).toBe(400);
    expect(err.details).toMatchObject({ field: 'Last-Event-ID' });
  });
});

describe('JSON bodies (item 14)', () => {
  it('an empty body is no body (a bodiless POST with a JSON content type is accepted)', () => {
    expect(parseJsonBody('')).toBeUndefined();
    expect(parseJsonBody('  \n')).toBeUndefined();
  });

  it('refuses a __proto__ key by name, not as invalid JSON', () => {
    const err = thrown(() => parseJsonBody('{"prompt":"x","__proto__":{"admin":true}}'));
    expect(err.message).toContain('"__proto__" key');
    expect(err.message).not.toContain('not valid JSON');
    expect(thrown(() => parseJsonBody('{"constructor":{"prototype":{"x":1}}}')).message).toContain('"constructor" key');
    expect(parseJsonBody('{"prompt":"a constructor is fine","constructor":"text"}')).toMatchObject({ constructor: 'text' });
  });

  it('says what is wrong with invalid JSON', () => {
    expect(thrown(() => parseJsonBody('{"prompt":')).message).toContain('not valid JSON');
  });
});

describe('task request wording (item 14) and NUL bytes (item 10)', () => {
  it('gives the range of priority', () => {
    expect(thrown(() => build({ priority: 5000 })).message).toBe('priority is 5000: expected a whole number from -1000 to 1000.');
  });

  it.each([
    [{ agent: '' }, 'agent', 'the name of an agent'],
    [{ model: '' }, 'model', 'a model name'],
    [{ allowedTools: 'Bash' }, 'allowedTools', 'a list of tool names'],
    [{ maxAttempts: 50 }, 'maxAttempts', 'from 1 to 20'],
    [{ worktree: 'yes' }, 'worktree', 'true or false'],
  ])('%j: no library wording', (input, field, want) => {
    const err = thrown(() => build(input));
    expect(err.details).toMatchObject({ field });
    expect(err.message).toContain(want);
    expect(err.message).not.toMatch(/Too small|Invalid input|expected a array|>=1 characters/);
  });

  it('says a budget of 1e309 (Infinity after JSON.parse) is out of range, not null', () => {
    const err = thrown(() => build({ budget: JSON.parse('1e309') as number }));
    expect(err.message).toContain('budget is a number out of range');
    expect(err.message).not.toContain('null');
  });

  it('repeats at most 200 characters of a value, with how long it was, in the message and in details.value', () => {
    const err = thrown(() => build({ systemPrompt: `${'s'.repeat(5000)}\u0000` }));
    expect(err.details).toMatchObject({ field: 'systemPrompt', value: `${'s'.repeat(200)}…`, valueLength: 5001 });
    expect(err.message.length).toBeLessThan(400);
    expect(err.message).toContain('(5001 characters)');
    expect(detailValue('short')).toEqual({ value: 'short' });
    expect(detailValue(Array.from({ length: 100 }, (_, i) => i))).toMatchObject({ valueLength: 291 });
    expect(detailValue(JSON.parse('1e309'))).toEqual({ value: 'Infinity' });
  });

  it('names a body that is no object', () => {
    expect(thrown(() => buildTask('just text', { source: 'test' }, config, 1)).message).toContain('a JSON task object');
  });

  it.each([['sessionKey'], ['sessionId'], ['model'], ['agent'], ['provider'], ['workdir'], ['systemPrompt']])('refuses a NUL byte in %s at dispatch, naming the field', (field) => {
    const value = field === 'workdir' ? `${project}\0x` : 'a\0b';
    const err = thrown(() => build({ [field]: value }));
    expect(err.code).toBe('TET_ERR_TASK_INVALID');
    expect(err.details).toMatchObject({ field });
    expect(err.message).toContain('NUL');
  });

  it('refuses a NUL byte in an allowed tool, naming its index', () => {
    expect(thrown(() => build({ allowedTools: ['Bash', 'Ed\0it'] })).details).toMatchObject({ field: 'allowedTools.1' });
  });
});

describe('workdirs from clients (item 6)', () => {
  it('refuses a relative workdir, naming the field and asking for an absolute path', () => {
    for (const w of ['.', './sub', 'sub', '~/x']) {
      const err = thrown(() => build({ workdir: w }));
      expect(err.details).toMatchObject({ field: 'workdir', value: w });
      expect(err.message).toContain('absolute path');
    }
  });

  it('refuses the Tetora home and its ancestors unless configured', () => {
    for (const w of [home, dir, '/']) {
      const err = thrown(() => build({ workdir: w }));
      expect(err.details).toMatchObject({ field: 'workdir' });
      expect(err.message).toContain('config.json');
    }
    // The agent `here` has the home as its configured workdir: sending it explicitly is fine too.
    expect(build({ agent: 'here' }).workdir).toBe(home);
    expect(build({ agent: 'here', workdir: home }).workdir).toBe(home);
  });

  it('takes an absolute project folder, and a folder inside the home', () => {
    expect(build({ workdir: project }).workdir).toBe(project);
    expect(build({ workdir: join(home, 'work') }).workdir).toBe(join(home, 'work'));
  });
});

describe('idempotency keys (item 8)', () => {
  it('the same request hashes the same whatever the key order; a different one does not', () => {
    expect(requestHash({ prompt: 'p', agent: 'a', idempotencyKey: 'k' })).toBe(requestHash({ agent: 'a', prompt: 'p' }));
    expect(requestHash({ prompt: 'p' })).not.toBe(requestHash({ prompt: 'q' }));
    expect(requestHash({ prompt: 'p' }, 'batch1')).not.toBe(requestHash({ prompt: 'p' }, 'batch2'));
  });

  it('records the hash with the task and compares it', () => {
    const row = build({ idempotencyKey: 'k1', agent: 'a' });
    const stored = { options: row.options ?? '{}', prompt: row.prompt, agent: row.agent ?? null };
    expect(sameRequest(stored, build({ idempotencyKey: 'k2', agent: 'a' }))).toBe(true);
    expect(sameRequest(stored, build({ idempotencyKey: 'k1', agent: 'a', prompt: 'do something else' }))).toBe(false);
    // A row recorded before hashes were kept: compared on prompt and agent.
    const legacy = { options: '{}', prompt: row.prompt, agent: 'a' as string | null };
    expect(sameRequest(legacy, row)).toBe(true);
    expect(sameRequest(legacy, build({ idempotencyKey: 'k1', agent: 'here' }))).toBe(false);
  });

  it('refuses control characters in a key (the batch keys use one as separator)', () => {
    expect(thrown(() => withIdempotencyKeys([{ prompt: 'x', idempotencyKey: 'h1\u001f1' }], undefined)).details).toMatchObject({ field: 'idempotencyKey' });
    expect(thrown(() => withIdempotencyKeys([{ prompt: 'x' }], 'h\u001f')).details).toMatchObject({ field: 'Idempotency-Key' });
  });

  it('gives the tasks of a batch keys no single dispatch can send, and a digest of the whole batch', () => {
    const single = withIdempotencyKeys([{ prompt: 'x' }], 'h1');
    expect(single.inputs).toEqual([{ prompt: 'x', idempotencyKey: 'h1' }]);
    expect(single.digest).toBeUndefined();
    const batch = withIdempotencyKeys([{ prompt: 'x' }, { prompt: 'y' }], 'h1');
    const keys = batch.inputs.map((t) => (t as { idempotencyKey: string }).idempotencyKey);
    expect(keys).toEqual(['h1\u001f0', 'h1\u001f1']);
    expect(keys).not.toContain('h1#1');
    expect(batch.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(withIdempotencyKeys([{ prompt: 'x' }, { prompt: 'z' }], 'h1').digest).not.toBe(batch.digest);
  });
});

describe('bearer tokens (item 17)', () => {
  it('reads the scheme case-insensitively', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer abc')).toBe('abc');
    expect(bearerToken('BEARER  abc')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});

describe('--listen and listen failures (item 16)', () => {
  it('refuses a port above 65535 in the argument check', () => {
    const err = thrown(() => checkListen('127.0.0.1:99999'));
    expect(err.code).toBe('TET_ERR_USAGE');
    expect(err.message).toContain('port 99999 is out of range');
    expect(() => checkListen('127.0.0.1:0')).not.toThrow();
    expect(() => checkListen('[::1]:65535')).not.toThrow();
  });

  it('takes ":port" (every interface) as the config does, and names the flag for what is no host:port', () => {
    expect(() => checkListen(':8991')).not.toThrow();
    const err = thrown(() => checkListen('localhost'));
    expect(err.code).toBe('TET_ERR_USAGE');
    expect(err.message).toBe('--listen "localhost" is not host:port, for example 127.0.0.1:8991 (or :8991 for every interface).');
  });

  it.each([
    ['EADDRINUSE', 'in use by another process'],
    ['EADDRNOTAVAIL', 'not on this machine'],
    ['EACCES', 'privileged'],
  ])('says what the OS said: %s', (code, want) => {
    const err = listenFailure('10.9.9.9:80', Object.assign(new Error(`listen ${code}`), { code }));
    expect(err.code).toBe('TET_ERR_LISTEN_FAILED');
    expect(err.message).toContain(want);
    expect(err.details).toMatchObject({ osCode: code });
    if (code !== 'EADDRINUSE') expect(err.message).not.toContain('another');
  });
});

describe('TETORA_SSE_LIMITS (SSE limits for tests and the bench)', () => {
  it('reads the limits it names, none when unset, and refuses anything else naming the variable', () => {
    expect(sseLimitsFromEnv(undefined)).toEqual({});
    expect(sseLimitsFromEnv('')).toEqual({});
    expect(sseLimitsFromEnv('{"stallMs": 2000, "pageEvents": 10}')).toEqual({ stallMs: 2000, pageEvents: 10 });
    for (const bad of ['{"stallMs": 0}', '{"pageSize": 10}', '[1]', 'stallMs=2000', '{"maxBufferedBytes": 1.5}']) {
      const err = thrown(() => sseLimitsFromEnv(bad));
      expect(err.code).toBe('TET_ERR_CONFIG_INVALID');
      expect(err.message).toContain('TETORA_SSE_LIMITS');
    }
  });
});
