/**
 * Fuzzing the config loader (src/config/load.ts + schema.ts): random JSON documents, and random mutations of
 * a valid config that uses every block (the example of the original's spec §1 plus smartDispatch, taskBoard,
 * agentComm, discord, retention, logFile, upgrade, retry, skills, workflowTriggers). The loader reads files,
 * so each case is written to one temporary folder (overwritten case after case).
 * Properties: the loader returns a config or throws its own TetoraError (TET_ERR_CONFIG_*), never anything
 * else; an invalid value names its JSON path (details.path, also in the message) and that path is one the
 * document holds (or the missing key of one it holds).
 */
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { TetoraError } from '../../src/errors.js';
import { anyJson, mutate, mutation, oddValue, paths, runs } from './fc.js';

const dir = mkdtempSync(join(tmpdir(), 'tetora-fuzz-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const configPath = join(dir, 'config.json');
const localPath = join(dir, 'config.local.json');
const env = { TETORA_API_TOKEN: 'tok', DISCORD_BOT_TOKEN: 'bot', HOOK_SECRET: 's', HOME: dir };

/** A valid config using every block the loader knows. */
export const VALID = {
  listenAddr: '127.0.0.1:8991',
  apiToken: '$TETORA_API_TOKEN',
  maxConcurrent: 4,
  maxTasksPerAgent: 2,
  defaultModel: 'sonnet',
  defaultProvider: 'claude',
  defaultPermissionMode: 'acceptEdits',
  defaultWorkdir: '~/code',
  defaultTimeout: '1h',
  defaultBudget: 1.5,
  dailyBudget: 20,
  providers: {
    claude: { type: 'claude-cli', path: '/usr/local/bin/claude' },
    codex: { type: 'codex-cli' },
    ollama: { type: 'openai-compatible', baseUrl: 'http://localhost:11434/v1', model: 'qwen2.5-coder', pricing: { input: 0, output: 0 } },
    script: { type: 'command', path: './run.sh', args: ['-x'], transientPatterns: ['timeout'], rateLimitPatterns: ['429'], env: { A: 'b' } },
  },
  fallbackProviders: ['codex'],
  agents: {
    lead: { model: 'opus', description: 'Plans and reviews', keywords: ['plan', 'review'] },
    coder: { model: 'sonnet', provider: 'claude', fallbackProviders: ['codex'], permissionMode: 'bypassPermissions', keywords: ['fix', 'bug', 'test'], timeout: '30m', worktree: true, addDirs: ['../lib'] },
  },
  defaultAgent: 'lead',
  smartDispatch: {
    enabled: true,
    coordinator: 'lead',
    defaultAgent: 'lead',
    classifyTimeout: '30s',
    fallback: 'smart',
    bindings: [{ channel: 'discord', channelId: '111', agent: 'coder' }],
    rules: [{ agent: 'coder', keywords: ['stack trace'], patterns: ['fix(es)? #\\d+'] }],
    patternTimeout: '50ms',
  },
  taskBoard: { enabled: true, gitWorktree: true, maxRetries: 2, autoDispatch: { enabled: true, interval: '5m', maxConcurrentTasks: 3, defaultAgent: 'coder' } },
  agentComm: { maxChildrenPerTask: 3, maxDepth: 2 },
  discord: {
    enabled: true,
    botToken: '$DISCORD_BOT_TOKEN',
    guildID: '999',
    channelIDs: ['111'],
    mentionChannelIDs: ['222'],
    routes: { '111': { agent: 'coder' } },
    threadBindings: { enabled: true, ttlHours: 12 },
    sendRetry: { base: '1s', cap: '5m', maxAttempts: 8 },
    maxChunks: 3,
  },
  retry: { base: '2s', cap: '5m', maxAttempts: 3, rateLimitWait: '1m', maxParkTime: '6h', maxInterruptions: 5 },
  retention: { history: 90, outputs: 30, auditLog: 365 },
  logFile: { enabled: true, maxSize: '10M', maxFiles: 5 },
  upgrade: { url: 'https://example.com/releases.json', registry: 'https://registry.npmjs.org/', package: 'tetora' },
  skills: { lint: { command: 'npm', args: ['run', 'lint'], timeout: '5m' } },
  workflowTriggers: [
    { name: 'nightly', workflowName: 'report', trigger: { type: 'cron', cron: '0 3 * * *', tz: 'UTC' }, catchUp: 'last' },
    { name: 'hook', workflowName: 'report', trigger: { type: 'webhook' }, secret: '$HOOK_SECRET', variables: { n: 1 } },
  ],
};

/** Loads `text` as config.json (and `local` as config.local.json); checks the outcome's contract. */
function loadChecked(text: string, local?: string): void {
  writeFileSync(configPath, text);
  if (local === undefined) rmSync(localPath, { force: true });
  else writeFileSync(localPath, local);
  let result;
  try {
    result = loadConfig({ configPath, env });
  } catch (err) {
    if (!(err instanceof TetoraError)) throw new Error(`the loader threw a non-TetoraError: ${String((err as Error)?.stack ?? err)}`);
    expect(err.code).toMatch(/^TET_ERR_CONFIG_(INVALID|PARSE|SECRET_UNSET)$/);
    if (err.code === 'TET_ERR_CONFIG_PARSE') return;
    const path = err.details?.path;
    expect(typeof path).toBe('string');
    expect((path as string).length).toBeGreaterThan(0);
    expect(err.message).toContain(path as string);
    if (path === '(top level)') return;
    // The path names a place of the document as written (`roles` or `agents`), or a missing key of an object there.
    const docs = [text, local].filter((t): t is string => t !== undefined).map((t) => JSON.parse(t) as unknown);
    // Dotted paths: a key holding a dot ("gpt-4.1") is written as it is, so compare with the document's own paths joined.
    const named = docs.some((d) => {
      const known = new Set(['', ...paths(d).map((p) => p.join('.'))]);
      if (known.has(path as string)) return true;
      const cut = (path as string).lastIndexOf('.');
      return known.has(cut < 0 ? '' : (path as string).slice(0, cut));
    });
    if (!named) throw new Error(`the error names ${String(path)}, which is not in the document: ${err.message}`);
    return;
  }
  expect(result.config.listenPort).toBeGreaterThan(0);
  for (const w of result.warnings) expect(typeof w).toBe('string');
}

describe('fuzz: config loader', () => {
  it('the valid config with every block loads', () => {
    writeFileSync(configPath, JSON.stringify(VALID));
    rmSync(localPath, { force: true });
    const { config } = loadConfig({ configPath, env });
    expect(config.smartDispatch?.enabled).toBe(true);
    expect(config.taskBoard?.enabled).toBe(true);
    expect(config.discord?.routes).toEqual({ '111': 'coder' });
    expect(config.workflowTriggers).toHaveLength(2);
  });

  it('random JSON documents: a config or a TetoraError naming the path', () => {
    fc.assert(fc.property(anyJson, (doc) => loadChecked(JSON.stringify(doc))), runs(150));
  });

  it('random top-level documents made of config keys with odd values', () => {
    const keys = Object.keys(VALID).concat(['roles']);
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...keys), fc.oneof(oddValue, fc.dictionary(fc.string({ maxLength: 6 }), oddValue, { maxKeys: 3 })), { maxKeys: 6 }), (doc) =>
        loadChecked(JSON.stringify(doc)),
      ),
      runs(150),
    );
  });

  it('1 to 4 random mutations of the valid config (set a value, delete, add a key), at any depth of any block', () => {
    fc.assert(fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (ms) => loadChecked(mutate(VALID, ms))), runs(250));
  });

  it('the valid config with `agents` written as the legacy `roles`, mutated', () => {
    const { agents, ...rest } = VALID;
    fc.assert(fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (ms) => loadChecked(mutate({ ...rest, roles: agents }, ms))), runs(100));
  });

  it('a mutated config.local.json deep-merged over the valid config', () => {
    const local = { claudePath: '/opt/claude', agents: { lead: { model: 'sonnet' } }, discord: { channelIDs: ['333'] }, smartDispatch: { rules: [] } };
    fc.assert(fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (ms) => loadChecked(JSON.stringify(VALID), mutate(local, ms))), runs(100));
  });

  it('text that is not JSON, or JSON that is not an object, is a parse or top-level error', () => {
    fc.assert(fc.property(fc.string({ maxLength: 40 }), (text) => loadChecked(text)), runs(100));
  });
});
