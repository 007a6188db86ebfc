import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { TetoraError } from '../../src/errors.js';
import { writeTree } from '../helpers/cli.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function rejectionOf(files: Record<string, unknown>): { err: TetoraError; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tetora-invalid-'));
  dirs.push(dir);
  writeTree(dir, files);
  const file = join(dir, 'config.json');
  try {
    loadConfig({ configPath: file, env: {} });
  } catch (err) {
    expect(err).toBeInstanceOf(TetoraError);
    return { err: err as TetoraError, file };
  }
  throw new Error(`config ${JSON.stringify(files)} loaded; it should have been rejected`);
}

const cmd = { type: 'command', path: '/bin/cat' };

/** [what, config.json, JSON path in the message, words of "expected"] */
const cases: Array<[string, unknown, string, string]> = [
  ['wrong type (string for a number)', { maxConcurrent: '8' }, 'maxConcurrent', 'a whole number'],
  ['wrong type (fraction)', { maxConcurrent: 1.5 }, 'maxConcurrent', 'a whole number'],
  ['out of range', { maxConcurrent: 0 }, 'maxConcurrent', 'a number above 0'],
  ['wrong type (null in a list)', { agents: { a: { keywords: ['fix', null] } } }, 'agents.a.keywords.1', 'a string'],
  ['wrong type (list for a map)', { agents: [{ name: 'x' }] }, 'agents', 'an object'],
  ['wrong type (string for a list)', { agents: { a: { keywords: 'fix' } } }, 'agents.a.keywords', 'an array'],
  ['wrong type (string for a bool)', { agents: { a: { worktree: 'yes' } } }, 'agents.a.worktree', 'true or false'],
  ['wrong type (discord.enabled)', { discord: { enabled: 'yes' } }, 'discord.enabled', 'true or false'],
  ['bad duration (words)', { defaultTimeout: 'soon' }, 'defaultTimeout', 'a duration such as "90s"'],
  ['agentComm.maxDepth negative', { agentComm: { maxDepth: -1 } }, 'agentComm.maxDepth', 'a whole number from 0 to 10'],
  ['agentComm.maxChildrenPerTask a fraction', { agentComm: { maxChildrenPerTask: 2.5 } }, 'agentComm.maxChildrenPerTask', 'a whole number from 0 to 100'],
  ['agentComm.maxChildrenPerTask a string', { agentComm: { maxChildrenPerTask: '3' } }, 'agentComm.maxChildrenPerTask', 'a whole number from 0 to 100'],
  ['bad duration (bool)', { defaultTimeout: true }, 'defaultTimeout', 'a duration such as "90s"'],
  ['bad duration (negative)', { drainTimeout: -5 }, 'drainTimeout', 'a duration'],
  ['bad duration (nested)', { retry: { base: '5 minutes' } }, 'retry.base', 'a duration'],
  ['bad duration (agent)', { agents: { a: { timeout: '1x' } } }, 'agents.a.timeout', 'a duration'],
  ['bad enum (permission mode)', { defaultPermissionMode: 'yolo' }, 'defaultPermissionMode', 'one of default, acceptEdits'],
  ['bad enum (agent permission mode)', { agents: { a: { permissionMode: 'root' } } }, 'agents.a.permissionMode', 'one of default'],
  ['bad enum (provider type)', { providers: { x: { type: 'gpt' } } }, 'providers.x.type', 'one of claude-code, claude-cli, codex-cli'],
  ['missing provider type', { providers: { x: { path: '/bin/x' } } }, 'providers.x.type', 'one of claude-code'],
  ['bad enum (worktree cleanup)', { agents: { a: { worktreeCleanup: 'always' } } }, 'agents.a.worktreeCleanup', 'one of keep, remove-if-integrated'],
  ['negative money', { defaultBudget: -1 }, 'defaultBudget', 'an amount of 0 or more'],
  ['unknown provider (agent)', { agents: { a: { provider: 'nope' } } }, 'agents.a.provider', 'the name of a provider (claude, codex)'],
  ['unknown provider (agent fallback)', { agents: { a: { fallbackProviders: ['codex', 'nope'] } } }, 'agents.a.fallbackProviders.1', 'the name of a provider'],
  ['unknown provider (default)', { defaultProvider: 'gpt' }, 'defaultProvider', 'the name of a provider'],
  ['unknown provider (global fallback)', { fallbackProviders: ['nope'] }, 'fallbackProviders.0', 'the name of a provider'],
  ['unknown default agent', { agents: { a: {} }, defaultAgent: 'ghost' }, 'defaultAgent', 'the name of an agent (a)'],
  ['bad listenAddr (no port)', { listenAddr: 'localhost' }, 'listenAddr', 'host:port'],
  ['bad listenAddr (spaces)', { listenAddr: 'local host:80' }, 'listenAddr', 'host:port'],
  ['bad listenAddr (port too big)', { listenAddr: '127.0.0.1:70000' }, 'listenAddr', 'a port between 0 and 65535'],
  ['bad regex', { providers: { x: { ...cmd, transientPatterns: ['ok', '(('] } } }, 'providers.x.transientPatterns.1', 'a valid regular expression'],
  ['bad rate-limit regex', { providers: { x: { ...cmd, rateLimitPatterns: ['[a-'] } } }, 'providers.x.rateLimitPatterns.0', 'a valid regular expression'],
  ['bad URL', { providers: { x: { type: 'openai-compatible', baseUrl: 'not a url' } } }, 'providers.x.baseUrl', 'a URL'],
  ['openai-compatible without baseUrl', { providers: { x: { type: 'openai-compatible' } } }, 'providers.x.baseUrl', 'the endpoint URL'],
  ['command without path', { providers: { x: { type: 'command' } } }, 'providers.x.path', 'the executable to run'],
  ['empty string', { defaultModel: '' }, 'defaultModel', 'a non-empty string'],
  ['top level not an object', [1, 2], '(top level)', 'a JSON object'],
];

describe('an invalid config value', () => {
  it.each(cases)('is rejected with its path: %s', (_what, doc, path, expected) => {
    const { err, file } = rejectionOf({ 'config.json': doc });
    expect(err.code).toBe('TET_ERR_CONFIG_INVALID');
    expect(err.exitCode).toBe(78);
    expect(err.details).toMatchObject({ file, path });
    expect(err.message).toContain(`config ${file}: ${path} is `);
    expect(err.message).toContain(`expected ${expected}`);
    expect(err.message).toContain('tetora config validate');
    expect(err.message).not.toContain('Invalid input');
  });

  it('quotes the value it found', () => {
    const { err } = rejectionOf({ 'config.json': { defaultPermissionMode: 'yolo' } });
    expect(err.message).toContain('defaultPermissionMode is "yolo"');
    expect(err.details?.value).toBe('yolo');
  });

  it('says "missing" for a required value that is absent', () => {
    const { err } = rejectionOf({ 'config.json': { providers: { x: { path: '/bin/x' } } } });
    expect(err.message).toContain('providers.x.type is nothing (missing)');
  });

  it('is rejected when it comes from config.local.json, naming that file', () => {
    const { err, file } = rejectionOf({ 'config.json': { maxConcurrent: 4 }, 'config.local.json': { maxConcurrent: 'many' } });
    const localFile = file.replace(/config\.json$/, 'config.local.json');
    expect(err.details).toMatchObject({ path: 'maxConcurrent', value: 'many', file: localFile });
    expect(err.message).toContain(`config ${localFile}: maxConcurrent is "many"`);
  });

  it('names config.json for a wrong value that config.local.json does not touch', () => {
    const { err, file } = rejectionOf({ 'config.json': { agents: { a: { provider: 'nope' } } }, 'config.local.json': { maxConcurrent: 2 } });
    expect(err.details).toMatchObject({ path: 'agents.a.provider', file });
  });

  it('names a check made after validation by the file and the legacy key it came from', () => {
    const { err, file } = rejectionOf({ 'config.json': { roles: { old: { model: 'opus' } } }, 'config.local.json': { roles: { old: { provider: 'gone' } } } });
    expect(err.details).toMatchObject({ path: 'roles.old.provider', value: 'gone', file: file.replace(/config\.json$/, 'config.local.json') });
  });
});
