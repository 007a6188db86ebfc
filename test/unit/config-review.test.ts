/**
 * Review findings of the config loader: durations a Node.js timer cannot hold, timeouts of 0, legacy
 * `roles` in config.local.json, the key a message names, an unreadable .env, prototype names as provider or
 * agent names, and values reported as written.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_DURATION_MS } from '../../src/config/schema.js';
import { TetoraError } from '../../src/errors.js';
import { configHomes, load, thrown } from '../helpers/config.js';

const home = configHomes('tetora-config-review-');


function rejection(doc: Record<string, unknown>, local?: Record<string, unknown>): TetoraError {
  const dir = home(local === undefined ? { 'config.json': doc } : { 'config.json': doc, 'config.local.json': local });
  return thrown(() => load(dir));
}

describe('durations a Node.js timer cannot hold', () => {
  it.each([
    [{ defaultTimeout: '720h' }, 'defaultTimeout', '720h'],
    [{ worktreePruneInterval: '720h' }, 'worktreePruneInterval', '720h'],
    [{ noOutputTimeout: '25d' }, 'noOutputTimeout', '25d'],
    [{ drainTimeout: 2_147_483_648 }, 'drainTimeout', 2_147_483_648],
    [{ retry: { rateLimitWait: '600h' } }, 'retry.rateLimitWait', '600h'],
    [{ agents: { a: { timeout: '1000h' } } }, 'agents.a.timeout', '1000h'],
    [{ providers: { api: { type: 'anthropic', apiKey: 'k', firstTokenTimeout: '30d' } } }, 'providers.api.firstTokenTimeout', '30d'],
  ])('rejects %j, naming the path, the value and the maximum', (doc, path, value) => {
    const err = rejection(doc);
    expect(err.code).toBe('TET_ERR_CONFIG_INVALID');
    expect(err.details).toMatchObject({ path, value });
    expect(err.message).toContain(`${path} is ${JSON.stringify(value)}`);
    expect(err.message).toContain('at most 2147483647 ms');
    expect(err.message).toContain('24.8 days');
  });

  it('accepts the largest duration a timer can hold, and one just below it as text', () => {
    const dir = home({ 'config.json': { defaultTimeout: MAX_DURATION_MS, worktreePruneInterval: '24d', noOutputTimeout: '596h' } });
    const { config } = load(dir);
    expect(config.defaultTimeoutMs).toBe(2_147_483_647);
    expect(config.worktreePruneIntervalMs).toBe(24 * 86_400_000);
    expect(config.noOutputTimeoutMs).toBe(596 * 3_600_000);
  });
});

describe('a timeout of 0', () => {
  it.each([
    [{ defaultTimeout: '0' }, 'defaultTimeout', '0'],
    [{ defaultTimeout: 0 }, 'defaultTimeout', 0],
    [{ defaultTimeout: '0s' }, 'defaultTimeout', '0s'],
    [{ noOutputTimeout: '0m' }, 'noOutputTimeout', '0m'],
    [{ agents: { a: { timeout: 0 } } }, 'agents.a.timeout', 0],
    [{ roles: { a: { timeout: '0' } } }, 'roles.a.timeout', '0'],
    [{ providers: { api: { type: 'anthropic', apiKey: 'k', firstTokenTimeout: 0 } } }, 'providers.api.firstTokenTimeout', 0],
  ])('is rejected in %j, naming the path and the value', (doc, path, value) => {
    const err = rejection(doc);
    expect(err.code).toBe('TET_ERR_CONFIG_INVALID');
    expect(err.details).toMatchObject({ path, value });
    expect(err.message).toContain('a duration above 0');
  });

  it('is allowed where 0 has a meaning: worktreePruneInterval (off), drainTimeout (no wait), retry delays', () => {
    const dir = home({ 'config.json': { worktreePruneInterval: '0', drainTimeout: 0, retry: { base: 0, rateLimitWait: '0s' } } });
    const { config } = load(dir);
    expect(config.worktreePruneIntervalMs).toBe(0);
    expect(config.drainTimeoutMs).toBe(0);
    expect(config.retry).toMatchObject({ baseMs: 0, rateLimitWaitMs: 0 });
  });
});

describe('roles in config.local.json', () => {
  it('overrides an agent that config.json writes under agents', () => {
    const dir = home({
      'config.json': { agents: { coder: { model: 'sonnet', description: 'main' } } },
      'config.local.json': { roles: { coder: { model: 'opus' } } },
    });
    expect(load(dir).config.agents.coder).toMatchObject({ model: 'opus', description: 'main' });
  });

  it('and agents in config.local.json override an agent config.json writes under roles', () => {
    const dir = home({
      'config.json': { roles: { coder: { model: 'sonnet', description: 'main' } } },
      'config.local.json': { agents: { coder: { model: 'opus' } } },
    });
    expect(load(dir).config.agents.coder).toMatchObject({ model: 'opus', description: 'main' });
  });

  it('a null under roles in config.local.json removes an agent of config.json', () => {
    const dir = home({
      'config.json': { agents: { coder: {}, gone: {} } },
      'config.local.json': { roles: { gone: null } },
    });
    expect(Object.keys(load(dir).config.agents)).toEqual(['coder']);
  });

  it('within one file, agents still win over roles for an agent both name', () => {
    const dir = home({
      'config.json': { agents: { coder: { model: 'sonnet' } } },
      'config.local.json': { roles: { coder: { model: 'haiku', description: 'roles' } }, agents: { coder: { model: 'opus' } } },
    });
    expect(load(dir).config.agents.coder).toMatchObject({ model: 'opus', description: 'roles' });
  });
});

describe('messages name the key the file itself uses', () => {
  it('roles in config.local.json over agents in config.json: roles.x, in config.local.json', () => {
    const err = rejection({ agents: { x: { model: 'sonnet' } } }, { roles: { x: { timeout: 'forever' } } });
    expect(err.details).toMatchObject({ path: 'roles.x.timeout', value: 'forever' });
    expect((err.details as { file: string }).file).toMatch(/config\.local\.json$/);
    expect(err.message).toContain('roles.x.timeout is "forever"');
  });

  it('agents in config.local.json over roles in config.json: agents.x, in config.local.json', () => {
    const err = rejection({ roles: { x: { model: 'sonnet' } } }, { agents: { x: { timeout: 'forever' } } });
    expect(err.details).toMatchObject({ path: 'agents.x.timeout' });
    expect((err.details as { file: string }).file).toMatch(/config\.local\.json$/);
  });

  it('a value config.json writes under roles while config.local.json uses agents: roles.x, in config.json', () => {
    const err = rejection({ roles: { x: { timeout: 'forever' } } }, { agents: { x: { model: 'opus' } } });
    expect(err.details).toMatchObject({ path: 'roles.x.timeout' });
    expect((err.details as { file: string }).file).toMatch(/config\.json$/);
    expect((err.details as { file: string }).file).not.toMatch(/local/);
  });

  it('a check made after validation (unknown provider) names roles.x in config.local.json', () => {
    const err = rejection({ agents: { x: { model: 'sonnet' } } }, { roles: { x: { provider: 'gone' } } });
    expect(err.details).toMatchObject({ path: 'roles.x.provider', value: 'gone' });
    expect((err.details as { file: string }).file).toMatch(/config\.local\.json$/);
  });

  it('warnings about unknown keys name the key and the file they come from', () => {
    const dir = home({
      'config.json': { agents: { x: { model: 'sonnet', dockerA: true } } },
      'config.local.json': { roles: { x: { dockerB: true } } },
    });
    expect(load(dir).warnings).toEqual([
      `config ${join(dir, 'config.json')}: key "agents.x.dockerA" is not supported by this version of Tetora and is ignored`,
      `config ${join(dir, 'config.local.json')}: key "roles.x.dockerB" is not supported by this version of Tetora and is ignored`,
    ]);
  });
});

describe('an unreadable .env', () => {
  it('that is a directory stops the load with TET_ERR_CONFIG_PARSE naming the file and what to do', () => {
    const dir = home({ 'config.json': {} });
    mkdirSync(join(dir, '.env'));
    const err = thrown(() => load(dir));
    expect(err.code).toBe('TET_ERR_CONFIG_PARSE');
    expect(err.message).toContain(join(dir, '.env'));
    expect(err.message).toContain('is a directory');
    expect(err.details).toMatchObject({ path: join(dir, '.env') });
  });
});

describe('names that are properties of every object', () => {
  const names = ['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__'];

  it.each(names)('%s is not a provider for defaultProvider', (name) => {
    const err = rejection({ defaultProvider: name });
    expect(err.details).toMatchObject({ path: 'defaultProvider', value: name });
  });

  it.each(names)('%s is not a provider for agents.a.provider', (name) => {
    const err = rejection({ agents: { a: { provider: name } } });
    expect(err.details).toMatchObject({ path: 'agents.a.provider', value: name });
  });

  it.each(names)('%s is not a provider for fallbackProviders and agents.a.fallbackProviders', (name) => {
    expect(rejection({ fallbackProviders: [name] }).details).toMatchObject({ path: 'fallbackProviders.0', value: name });
    expect(rejection({ agents: { a: { fallbackProviders: ['codex', name] } } }).details).toMatchObject({ path: 'agents.a.fallbackProviders.1', value: name });
  });

  it.each(names)('%s is not an agent for defaultAgent', (name) => {
    const err = rejection({ agents: { a: {} }, defaultAgent: name });
    expect(err.details).toMatchObject({ path: 'defaultAgent', value: name });
  });
});

describe('values reported as written', () => {
  it('a number too large to represent (1e400) is quoted as written, not as null', () => {
    const dir = home({ 'config.json': '{ "drainTimeout": 1e400 }' });
    const err = thrown(() => load(dir));
    expect(err.code).toBe('TET_ERR_CONFIG_INVALID');
    expect(err.message).toContain('drainTimeout is 1e400');
    expect(err.message).not.toContain('is null');
  });

  it('an environment variable set to "" that overrides .env is said to be set but empty, not unset', () => {
    const dir = home({ 'config.json': { apiToken: '$TOKEN' }, '.env': 'TOKEN=from-dotenv\n' });
    const err = thrown(() => load(dir, { TOKEN: '' }));
    expect(err.code).toBe('TET_ERR_CONFIG_SECRET_UNSET');
    expect(err.message).toContain('TOKEN, which is set but empty');
    expect(err.message).not.toContain('not set');
    expect(err.message).toContain(join(dir, '.env'));
    expect(err.details).toMatchObject({ variable: 'TOKEN', empty: true });
  });

  it('an unset variable is still said to be not set', () => {
    const dir = home({ 'config.json': { apiToken: '$TOKEN' } });
    expect(thrown(() => load(dir)).message).toContain('TOKEN, which is not set');
  });
});
