/**
 * Configs written for the original Go program (reference/original-tetora-spec.md §1) load: every key the
 * original has and we do not gives one warning naming its path, original-only provider types run as the
 * CLI they drive, Go durations and Go listen addresses are read as Go reads them.
 */
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

function loadDoc(doc: unknown, env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'tetora-compat-'));
  dirs.push(dir);
  writeTree(dir, { 'config.json': doc });
  return { dir, ...loadConfig({ configPath: join(dir, 'config.json'), env }) };
}

/** Top-level keys of the original that this version does not read, each with a value of the original's shape. */
const originalOnlyTopLevel: Record<string, unknown> = {
  configVersion: 3,
  taskBoard: { enabled: true, gitWorktree: true, autoDispatch: { enabled: true, interval: '5m', maxTasksPerAgent: 2 } },
  slotPressure: { enabled: true, reservedSlots: 2, warnThreshold: 3, nonInteractiveTimeout: '5m', pollInterval: '2s' },
  historyDB: 'history.db',
  agentsDir: 'agents',
  workspaceDir: 'workspace',
  runtimeDir: 'runtime',
  knowledgeDir: 'knowledge',
  vaultDir: 'vault',
  defaultAddDirs: ['~/shared'],
  maxPromptLen: 102400,
  budgets: { global: { daily: 10 }, agents: { coder: { daily: 5 } }, paused: false },
  costAlert: { dailyLimit: 20, action: 'warn' },
  offlineQueue: { enabled: true, ttl: '1h', maxItems: 100 },
  circuitBreaker: { enabled: true, failThreshold: 5, successThreshold: 2, openTimeout: '30s' },
  heartbeat: { enabled: true, interval: '30s', stallThreshold: '5m' },
  watchdog: { enabled: true, interval: '30s', failureLimit: 3, timeoutPerPing: '5s' },
  session: { contextMessages: 20, compactAfter: 30 },
  rateLimit: { enabled: true, maxPerMin: 60 },
  dashboardAuth: { enabled: true, password: '$DASH_PASSWORD' },
  tls: { certFile: 'cert.pem', keyFile: 'key.pem' },
  allowedIPs: ['127.0.0.1'],
  telegram: { enabled: false, botToken: '$TELEGRAM_BOT_TOKEN' },
  mcpConfigs: { files: { command: 'npx', args: ['-y', 'server-filesystem'] } },
  claudeProvider: 'claude-code',
  inferenceMode: 'cloud',
};

/** Agent keys of the original that this version does not read. */
const originalOnlyAgentKeys: Record<string, unknown> = {
  docker: false,
  trustLevel: 'trusted',
  tools: { profile: 'coding', allow: ['Bash'], deny: [] },
  toolProfile: 'coding',
  workspace: { dir: '~/code/app', soulFile: 'SOUL.md' },
  dangerousOpsWhitelist: ['rm -rf build'],
  cloudModel: 'opus',
  localModel: 'qwen2.5-coder',
  pinMode: 'cloud',
  portrait: 'coder.png',
  voicePreset: 'calm',
};

describe('a config of the original with every key it has', () => {
  it('loads with exactly one warning per unsupported key, each naming its path and the file', () => {
    const doc = {
      listenAddr: '127.0.0.1:8991',
      defaultTimeout: '1h0m0s',
      agents: { coder: { model: 'sonnet', keywords: ['fix'], allowedDirs: ['~/code'], ...originalOnlyAgentKeys } },
      // Read by this version (src/schedules/), in the original's format.
      workflowTriggers: [{ name: 'nightly', workflowName: 'review', enabled: true, trigger: { type: 'cron', cron: '0 3 * * *', tz: 'Asia/Taipei', webhook: '' }, variables: { depth: '2' }, cooldown: '1h' }],
      jobsFile: 'jobs.json',
      // Read by this version (delegation): maxDepth and maxChildrenPerTask; childSem (a separate child pool) is not needed.
      agentComm: { childSem: 2, maxDepth: 3, maxChildrenPerTask: 5 },
      allowedDirs: ['~/code'],
      ...originalOnlyTopLevel,
    };
    // Secrets inside unsupported keys are not resolved: their variables need not be set.
    const { dir, config, warnings } = loadDoc(doc);
    // taskBoard is read (issue 13); of its block only the original's per-agent limit is not.
    const top = Object.keys(originalOnlyTopLevel).map((k) => (k === 'taskBoard' ? 'taskBoard.autoDispatch.maxTasksPerAgent' : k));
    const expected = [...top, 'agentComm.childSem', ...Object.keys(originalOnlyAgentKeys).map((k) => `agents.coder.${k}`)];
    expect(warnings).toHaveLength(expected.length);
    for (const path of expected) {
      const hits = warnings.filter((w) => w.includes(`"${path}"`));
      expect(hits, path).toHaveLength(1);
      expect(hits[0]).toContain(join(dir, 'config.json'));
      expect(hits[0]).toContain('not supported');
    }
    expect(config.agents.coder).toMatchObject({ model: 'sonnet', keywords: ['fix'] });
    // allowedDirs (top-level and per agent) is read (issue 14).
    expect(config.allowedDirs).toHaveLength(1);
    expect(config.agents.coder?.allowedDirs).toEqual(config.allowedDirs);
    expect(config.defaultTimeoutMs).toBe(3_600_000);
    expect(config.workflowTriggers).toMatchObject([{ name: 'nightly', workflowName: 'review', type: 'cron', cron: '0 3 * * *', tz: 'Asia/Taipei', cooldownMs: 3_600_000 }]);
    expect(config.jobsFile).toBe(join(dir, 'jobs.json'));
    expect(config.agentComm).toEqual({ maxChildrenPerTask: 5, maxDepth: 3 });
  });

  it('names agents by the legacy roles key in warnings', () => {
    const { warnings, config } = loadDoc({ roles: { reviewer: { model: 'opus', trustLevel: 'high' } } });
    expect(warnings).toEqual([expect.stringContaining('"roles.reviewer.trustLevel"')]);
    expect(config.agents.reviewer?.model).toBe('opus');
  });
});

describe('provider types of the original', () => {
  it.each([
    ['claude-api', 'claude-code'],
    ['claude-tmux', 'claude-code'],
    ['terminal-claude', 'claude-code'],
    ['terminal-codex', 'codex-cli'],
  ])('%s loads as %s with a warning naming the provider', (type, as) => {
    const { config, warnings } = loadDoc({ providers: { old: { type, path: '/usr/local/bin/x' } }, agents: { a: { provider: 'old' } } });
    expect(config.providers.old).toMatchObject({ type: as, path: '/usr/local/bin/x' });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`providers.old.type "${type}"`);
    expect(warnings[0]).toContain(`runs as "${as}"`);
  });

  it('still rejects a type neither version knows, naming the path', () => {
    try {
      loadDoc({ providers: { x: { type: 'gpt-cli' } } });
    } catch (err) {
      expect(err).toBeInstanceOf(TetoraError);
      expect((err as TetoraError).message).toContain('providers.x.type is "gpt-cli", expected one of claude-code');
      return;
    }
    throw new Error('loaded');
  });
});

describe('Go values', () => {
  it('reads null as "not set", as Go does: the default applies, and a null in config.local.json removes a key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tetora-compat-'));
    dirs.push(dir);
    writeTree(dir, {
      'config.json': { apiToken: null, maxConcurrent: 3, defaultAgent: 'a', agents: { a: { keywords: null, fallbackProviders: null, timeout: null, model: 'opus' } }, discord: null },
      'config.local.json': { maxConcurrent: null, agents: { a: { model: null } } },
    });
    const { config, warnings } = loadConfig({ configPath: join(dir, 'config.json'), env: {} });
    expect(warnings).toEqual([]);
    expect(config.apiToken).toBeUndefined();
    expect(config.maxConcurrent).toBe(8);
    expect(config.agents.a).toMatchObject({ keywords: [], fallbackProviders: [] });
    expect(config.agents.a?.model).toBeUndefined();
    expect(config.agents.a?.timeoutMs).toBeUndefined();
    expect(config.discord).toBeUndefined();
  });

  it('reads Go durations', () => {
    const { config } = loadDoc({
      defaultTimeout: '1h30m0s',
      drainTimeout: '500ms',
      noOutputTimeout: '1.5h',
      retry: { base: '2s', cap: '5m0s', rateLimitWait: 60000 },
    });
    expect(config.defaultTimeoutMs).toBe(5_400_000);
    expect(config.drainTimeoutMs).toBe(500);
    expect(config.noOutputTimeoutMs).toBe(5_400_000);
    expect(config.retry).toMatchObject({ baseMs: 2000, capMs: 300_000, rateLimitWaitMs: 60_000 });
  });

  it("reads the original's retention block: history for events and runs, outputs for outputs (days)", () => {
    const { config, warnings } = loadDoc({ retention: { history: 90, outputs: 30, auditLog: 365 } });
    expect(warnings).toEqual([]);
    expect(config.retention).toEqual({ eventsDays: 90, outputsDays: 30, runsDays: 90 });
    expect(loadDoc({}).config.retention).toEqual({ eventsDays: 0, outputsDays: 0, runsDays: 0 });
    expect(() => loadDoc({ retention: { history: -1 } })).toThrow(/retention\.history/);
  });

  it('reads ":8991" as every interface, as Go does', () => {
    const { config } = loadDoc({ listenAddr: ':8991', apiToken: 'secret' });
    expect(config).toMatchObject({ listenAddr: '0.0.0.0:8991', listenHost: '0.0.0.0', listenPort: 8991 });
  });

  it('reads IPv6 listen addresses', () => {
    const { config } = loadDoc({ listenAddr: '[::1]:8991' });
    expect(config).toMatchObject({ listenHost: '::1', listenPort: 8991 });
  });
});

describe('messages about config.local.json', () => {
  it('name config.local.json for a secret or an unsupported key that comes from it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tetora-compat-'));
    dirs.push(dir);
    writeTree(dir, {
      'config.json': { apiToken: '$TOKEN_A', telegram: { enabled: false } },
      'config.local.json': { webhooks: [], discord: { botToken: '${LOCAL_BOT_TOKEN}' } },
    });
    const main = join(dir, 'config.json');
    const local = join(dir, 'config.local.json');
    try {
      loadConfig({ configPath: main, env: { TOKEN_A: 'a' } });
      throw new Error('loaded');
    } catch (err) {
      expect(err).toBeInstanceOf(TetoraError);
      expect((err as TetoraError).message).toContain(`config ${local}: discord.botToken refers to environment variable LOCAL_BOT_TOKEN, which is not set`);
      expect((err as TetoraError).details).toMatchObject({ file: local, path: 'discord.botToken', variable: 'LOCAL_BOT_TOKEN' });
    }
    const { warnings } = loadConfig({ configPath: main, env: { TOKEN_A: 'a', LOCAL_BOT_TOKEN: 'b' } });
    expect(warnings.sort()).toEqual(
      [
        `config ${main}: key "telegram" is not supported by this version of Tetora and is ignored`,
        `config ${local}: key "webhooks" is not supported by this version of Tetora and is ignored`,
      ].sort(),
    );
  });
});
