import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { deepMerge, parseDotEnv } from '../../src/config/merge.js';
import { redactConfig } from '../../src/config/redact.js';
import { writeTree } from '../helpers/cli.js';

describe('deepMerge', () => {
  it('merges nested objects key by key; arrays, scalars and null replace', () => {
    const base = { a: 1, list: [1, 2], nested: { x: 1, y: { deep: true, keep: 'k' } }, gone: { z: 1 } };
    const over = { a: 2, list: [3], nested: { y: { deep: false } }, gone: null, added: 'new' };
    expect(deepMerge(base, over)).toEqual({ a: 2, list: [3], nested: { x: 1, y: { deep: false, keep: 'k' } }, gone: null, added: 'new' });
  });

  it('replaces an object by a scalar and a scalar by an object', () => {
    expect(deepMerge({ a: { x: 1 } }, { a: 'flat' })).toEqual({ a: 'flat' });
    expect(deepMerge({ a: 'flat' }, { a: { x: 1 } })).toEqual({ a: { x: 1 } });
  });

  it('leaves its inputs unchanged', () => {
    const base = { nested: { x: 1 } };
    const over = { nested: { y: 2 } };
    deepMerge(base, over);
    expect(base).toEqual({ nested: { x: 1 } });
    expect(over).toEqual({ nested: { y: 2 } });
  });
});

describe('parseDotEnv', () => {
  it('reads KEY=VALUE lines, comments, export and quotes', () => {
    const text = [
      '# a comment',
      'PLAIN=value',
      'SPACED = padded  ',
      'export EXPORTED=yes',
      'DQ="two words # not a comment"',
      "SQ='single $NOT_EXPANDED'",
      'ESC="line1\\nline2"',
      'TRAIL=abc # comment',
      'EMPTY=',
      '',
      'this line is ignored',
      '1BAD=x',
    ].join('\n');
    expect(parseDotEnv(text)).toEqual({
      PLAIN: 'value',
      SPACED: 'padded',
      EXPORTED: 'yes',
      DQ: 'two words # not a comment',
      SQ: 'single $NOT_EXPANDED',
      ESC: 'line1\nline2',
      TRAIL: 'abc',
      EMPTY: '',
    });
  });

  it('accepts CRLF line ends', () => {
    expect(parseDotEnv('A=1\r\nB=2\r\n')).toEqual({ A: '1', B: '2' });
  });
});

describe('redactConfig', () => {
  it('shows every secret as *** and leaves the environment out', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tetora-redact-'));
    try {
      writeTree(dir, {
        'config.json': {
          apiToken: 'api-secret-1',
          discord: { enabled: true, botToken: 'bot-secret-2' },
          providers: { anth: { type: 'anthropic', apiKey: 'key-secret-3', env: { SOME_VAR: 'env-secret-4' } } },
        },
      });
      const { config } = loadConfig({ configPath: join(dir, 'config.json'), env: { OTHER: 'process-secret-5' } });
      const shown = redactConfig(config);
      const text = JSON.stringify(shown);
      for (const secret of ['api-secret-1', 'bot-secret-2', 'key-secret-3', 'env-secret-4', 'process-secret-5']) expect(text).not.toContain(secret);
      expect(shown.apiToken).toBe('***');
      expect(shown.discord).toMatchObject({ enabled: true, botToken: '***' });
      expect(shown.providers).toMatchObject({ anth: { apiKey: '***', env: { SOME_VAR: '***' }, type: 'anthropic' } });
      expect(shown).not.toHaveProperty('env');
      expect(shown.listenAddr).toBe('127.0.0.1:8991');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
