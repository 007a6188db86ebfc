import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LISTEN, homeDir } from '../../src/config/load.js';
import { configHomes, load, thrown } from '../helpers/config.js';

const home = configHomes('tetora-config-');


/** The "Minimal realistic example" of the original (reference/original-tetora-spec.md §1), plus keys the original has and we do not. */
const original = {
  listenAddr: '127.0.0.1:8991',
  apiToken: '$TETORA_API_TOKEN',
  maxConcurrent: 4,
  defaultModel: 'sonnet',
  defaultProvider: 'claude',
  defaultPermissionMode: 'acceptEdits',
  defaultWorkdir: '~/code',
  providers: {
    claude: { type: 'claude-cli', path: '/usr/local/bin/claude' },
    codex: { type: 'codex-cli' },
    ollama: { type: 'openai-compatible', baseUrl: 'http://localhost:11434/v1', model: 'qwen2.5-coder' },
  },
  agents: {
    lead: { model: 'opus', description: 'Plans and reviews', keywords: ['plan', 'review'] },
    coder: { model: 'sonnet', provider: 'claude', fallbackProviders: ['codex'], permissionMode: 'bypassPermissions', keywords: ['fix', 'bug', 'test'] },
  },
  smartDispatch: { enabled: true, coordinator: 'lead', defaultAgent: 'lead' },
  taskBoard: { enabled: true, gitWorktree: true, autoDispatch: { enabled: true, interval: '5m', maxConcurrentTasks: 3, maxTasksPerAgent: 2 } },
  discord: { enabled: true, botToken: '$DISCORD_BOT_TOKEN', channelIDs: ['111'], mentionChannelIDs: ['222'], routes: { '111': { agent: 'coder' } } },
  telegram: { enabled: false, botToken: '$TELEGRAM_BOT_TOKEN' },
  mcpConfigs: { files: { command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem'] } },
  historyDB: 'history.db',
  slotPressure: { enabled: true, reservedSlots: 2 },
};

describe('a config written for the original', () => {
  it('loads, with one warning per unsupported key naming its path', () => {
    const dir = home({ 'config.json': original });
    const { config, warnings } = load(dir, { TETORA_API_TOKEN: 'tok', DISCORD_BOT_TOKEN: 'dtok', HOME: '/home/u' });
    for (const key of ['taskBoard.autoDispatch.maxTasksPerAgent', 'telegram', 'mcpConfigs', 'historyDB', 'slotPressure']) {
      expect(warnings.filter((w) => w.includes(`"${key}"`))).toHaveLength(1);
    }
    expect(warnings).toHaveLength(5);
    expect(warnings[0]).toContain(join(dir, 'config.json'));
    expect(config.apiToken).toBe('tok');
    expect(config.discord).toMatchObject({ botToken: 'dtok', channelIds: ['111'], mentionChannelIds: ['222'], routes: { '111': 'coder' }, showProgress: true, maxChunks: 3, apiBaseUrl: 'https://discord.com/api', sendRetry: { baseMs: 1000, capMs: 300_000, maxAttempts: 8 } });
    expect(config.providers.claude).toMatchObject({ type: 'claude-code', path: '/usr/local/bin/claude' });
    expect(config.providers.claude?.implicit).toBeUndefined();
    expect(config.providers.ollama).toMatchObject({ type: 'openai-compatible', baseUrl: 'http://localhost:11434/v1', model: 'qwen2.5-coder' });
    expect(config.agents.coder).toMatchObject({ provider: 'claude', fallbackProviders: ['codex'], permissionMode: 'bypassPermissions' });
    expect(config.agents.lead).toMatchObject({ provider: 'claude', model: 'opus', permissionMode: 'acceptEdits', keywords: ['plan', 'review'] });
    expect(config.defaultWorkdir).toBe('/home/u/code');
    expect(config.maxConcurrent).toBe(4);
    expect(config.smartDispatch).toMatchObject({ coordinator: 'lead' });
  });

  it('takes the per-machine config.local.json of the spec on top', () => {
    const dir = home({ 'config.json': original, 'config.local.json': { claudePath: '/opt/claude', agents: { lead: { model: 'sonnet' } } } });
    const { config } = load(dir, { TETORA_API_TOKEN: 't', DISCORD_BOT_TOKEN: 'd' });
    expect(config.agents.lead).toMatchObject({ model: 'sonnet', description: 'Plans and reviews', keywords: ['plan', 'review'] });
    expect(config.claudePath).toBe('/opt/claude');
    // An explicit providers.claude.path beats claudePath, which only feeds the implicit provider.
    expect(config.providers.claude?.path).toBe('/usr/local/bin/claude');
  });
});

describe('config.local.json', () => {
  it('merges objects key by key and replaces arrays and scalars', () => {
    const dir = home({
      'config.json': {
        maxConcurrent: 4,
        fallbackProviders: ['codex'],
        providers: { ollama: { type: 'openai-compatible', baseUrl: 'http://127.0.0.1:11434/v1', model: 'a' } },
        agents: { lead: { model: 'opus', keywords: ['a', 'b'], description: 'kept' } },
      },
      'config.local.json': {
        maxConcurrent: 2,
        fallbackProviders: [],
        providers: { ollama: { model: 'b' } },
        agents: { lead: { keywords: ['c'] }, extra: { model: 'haiku' } },
      },
    });
    const { config } = load(dir);
    expect(config.maxConcurrent).toBe(2);
    expect(config.fallbackProviders).toEqual([]);
    expect(config.providers.ollama).toMatchObject({ baseUrl: 'http://127.0.0.1:11434/v1', model: 'b' });
    expect(config.agents.lead).toMatchObject({ model: 'opus', keywords: ['c'], description: 'kept' });
    expect(config.agents.extra?.model).toBe('haiku');
  });

  it('follows the config file name: custom.json takes custom.local.json', () => {
    const dir = home({ 'custom.json': { maxConcurrent: 4 }, 'custom.local.json': { maxConcurrent: 3 }, 'config.local.json': { maxConcurrent: 1 } });
    expect(load(dir, {}, 'custom.json').config.maxConcurrent).toBe(3);
  });

  it('must hold a JSON object', () => {
    const dir = home({ 'config.json': {}, 'config.local.json': [1] });
    const err = thrown(() => load(dir));
    expect(err.code).toBe('TET_ERR_CONFIG_INVALID');
    expect(err.message).toContain(join(dir, 'config.local.json'));
  });
});

describe('.env and secrets', () => {
  it('loads .env beside the config without overriding variables already set', () => {
    const dir = home({
      'config.json': { apiToken: '$TOK_A', discord: { botToken: '${TOK_B}' } },
      '.env': '# comment\nTOK_A=from-file\nTOK_B="quoted value"  \nexport TOK_C=\'single\'\nTOK_D=plain # trailing comment\n\nnot a line\n',
    });
    const env = { TOK_A: 'from-env' };
    const { config } = load(dir, env);
    expect(config.apiToken).toBe('from-env');
    expect(config.discord?.botToken).toBe('quoted value');
    expect(config.env).toMatchObject({ TOK_A: 'from-env', TOK_B: 'quoted value', TOK_C: 'single', TOK_D: 'plain' });
    expect(env).toEqual({ TOK_A: 'from-env' });
    expect(process.env.TOK_C).toBeUndefined();
  });

  it('substitutes $VAR and ${VAR} in every secret field, and only where the whole value is a reference', () => {
    const dir = home({
      'config.json': {
        apiToken: '${API}',
        discord: { botToken: '$BOT' },
        providers: {
          anth: { type: 'anthropic', apiKey: '$KEY', env: { ANTHROPIC_BASE_URL: '${BASE}', LITERAL: 'pre-$BASE' } },
        },
        agents: { a: { description: '$API' } },
      },
    });
    const { config } = load(dir, { API: 'api-secret', BOT: 'bot-secret', KEY: 'key-secret', BASE: 'http://x' });
    expect(config.apiToken).toBe('api-secret');
    expect(config.discord?.botToken).toBe('bot-secret');
    expect(config.providers.anth).toMatchObject({ apiKey: 'key-secret', env: { ANTHROPIC_BASE_URL: 'http://x', LITERAL: 'pre-$BASE' } });
    expect(config.agents.a?.description).toBe('$API');
  });

  it.each([
    ['apiToken', { apiToken: '$MISSING_TOKEN' }, 'MISSING_TOKEN'],
    ['discord.botToken', { discord: { botToken: '${MISSING_BOT}' } }, 'MISSING_BOT'],
    ['providers.anth.apiKey', { providers: { anth: { type: 'anthropic', apiKey: '$MISSING_KEY' } } }, 'MISSING_KEY'],
    ['providers.cli.env.TOKEN', { providers: { cli: { type: 'command', path: '/bin/cat', env: { TOKEN: '$MISSING_ENV' } } } }, 'MISSING_ENV'],
  ])('an unset variable in %s is an error naming the field and the variable', (field, doc, variable) => {
    const dir = home({ 'config.json': doc });
    const err = thrown(() => load(dir, { EMPTY: '' }));
    expect(err.code).toBe('TET_ERR_CONFIG_SECRET_UNSET');
    expect(err.message).toContain(field);
    expect(err.message).toContain(variable);
    expect(err.message).toContain(join(dir, '.env'));
    expect(err.details).toMatchObject({ path: field, variable });
  });

  it('treats a variable set to the empty string as unset', () => {
    const dir = home({ 'config.json': { apiToken: '$EMPTY' } });
    expect(thrown(() => load(dir, { EMPTY: '' })).code).toBe('TET_ERR_CONFIG_SECRET_UNSET');
  });
});

describe('legacy roles and unknown keys', () => {
  it('accepts roles as agents, merged under agents when both are present', () => {
    const dir = home({ 'config.json': { roles: { old: { model: 'opus' }, both: { model: 'haiku', description: 'from roles' } }, agents: { both: { model: 'sonnet' } } } });
    const { config, warnings } = load(dir);
    expect(Object.keys(config.agents).sort()).toEqual(['both', 'old']);
    expect(config.agents.old?.model).toBe('opus');
    expect(config.agents.both).toMatchObject({ model: 'sonnet', description: 'from roles' });
    expect(warnings).toEqual([]);
  });

  it('names the roles key in warnings and errors about a legacy agent', () => {
    const dir = home({ 'config.json': { roles: { old: { model: 'opus', docker: true } } } });
    expect(load(dir).warnings).toEqual([`config ${join(dir, 'config.json')}: key "roles.old.docker" is not supported by this version of Tetora and is ignored`]);
    const bad = home({ 'config.json': { roles: { old: { model: 5 } } } });
    expect(thrown(() => load(bad)).details).toMatchObject({ path: 'roles.old.model' });
  });

  it('warns once for each unknown key, at any depth, with its path', () => {
    const dir = home({
      'config.json': {
        frobnicate: 1,
        notifications: [{ webhookUrl: 'x' }],
        providers: { p: { type: 'command', path: '/bin/cat', circuit: {} } },
        agents: { a: { trustLevel: 'high', tools: { profile: 'full' } } },
        retry: { jitter: true },
      },
    });
    const { warnings } = load(dir);
    const keys = warnings.map((w) => /key "([^"]+)"/.exec(w)?.[1]);
    expect(keys.sort()).toEqual(['agents.a.tools', 'agents.a.trustLevel', 'frobnicate', 'notifications', 'providers.p.circuit', 'retry.jitter']);
  });

  // Found by the fuzz suite (test/fuzz/config.test.ts): these keys were looked up on the schema's shape with
  // its prototype, and the loader crashed with a TypeError instead of loading.
  it('"constructor", "__proto__" and "toString" are unknown keys like any other (a warning, no crash), at any depth', () => {
    const dir = home({ 'config.json': '{"__proto__": false, "constructor": " ", "agents": {"a": {"constructor": 1, "toString": 2}}, "retry": {"__proto__": {}}}' });
    const keys = load(dir).warnings.map((w) => /key "([^"]+)"/.exec(w)?.[1]);
    expect(keys.sort()).toEqual(['__proto__', 'agents.a.constructor', 'agents.a.toString', 'constructor', 'retry.__proto__']);
  });
});

describe('values', () => {
  it('applies the defaults to an empty config', () => {
    const dir = home({ 'config.json': {} });
    const { config, warnings } = load(dir);
    expect(warnings).toEqual([]);
    expect(config).toMatchObject({
      configPath: join(dir, 'config.json'),
      home: dir,
      dbPath: join(dir, 'tetora.db'),
      listenAddr: DEFAULT_LISTEN,
      listenHost: '127.0.0.1',
      listenPort: 8991,
      maxConcurrent: 8,
      defaultProvider: 'claude',
      defaultModel: 'sonnet',
      defaultTimeoutMs: 3_600_000,
      drainTimeoutMs: 30_000,
    });
    expect(DEFAULT_LISTEN).toBe('127.0.0.1:8991');
    expect(config.maxTasksPerAgent).toBeUndefined();
    expect(config.agentComm).toEqual({ maxChildrenPerTask: 3, maxDepth: 2 });
    expect(config.apiToken).toBeUndefined();
    expect(config.providers.claude).toMatchObject({ type: 'claude-code', path: 'claude', implicit: true });
    expect(config.providers.codex).toMatchObject({ type: 'codex-cli', path: 'codex', implicit: true });
  });

  it('reads durations as the original writes them or as milliseconds', () => {
    const dir = home({
      'config.json': { defaultTimeout: '90s', drainTimeout: 1500, retry: { base: '1h30m', cap: '15m', rateLimitWait: '500ms' }, agents: { a: { timeout: '1.5h' } } },
    });
    const { config } = load(dir);
    expect(config.defaultTimeoutMs).toBe(90_000);
    expect(config.drainTimeoutMs).toBe(1500);
    expect(config.retry).toMatchObject({ baseMs: 5_400_000, capMs: 900_000, rateLimitWaitMs: 500 });
    expect(config.agents.a?.timeoutMs).toBe(5_400_000);
  });

  it('gives agents the global maxTasksPerAgent unless they set their own', () => {
    const dir = home({ 'config.json': { maxTasksPerAgent: 2, agents: { a: {}, b: { maxTasksPerAgent: 5 } } } });
    const { config } = load(dir);
    expect(config.agents.a?.maxTasksPerAgent).toBe(2);
    expect(config.agents.b?.maxTasksPerAgent).toBe(5);
  });

  it('resolves relative paths against the config folder and expands ~', () => {
    const dir = home({
      'config.json': {
        dbPath: 'data/t.db',
        defaultWorkdir: '~',
        claudePath: './bin/claude',
        codexPath: '~/bin/codex',
        providers: { tool: { type: 'command', path: 'tools/run.sh' }, bare: { type: 'command', path: 'my-tool' } },
        agents: { a: { soulFile: 'souls/a.md', workdir: '../work', addDirs: ['~/shared', '/abs'] }, b: {} },
      },
      'agents/b/SOUL.md': 'soul of b',
    });
    const { config } = load(dir, { HOME: '/home/u' });
    expect(config.dbPath).toBe(join(dir, 'data/t.db'));
    expect(config.defaultWorkdir).toBe('/home/u');
    expect(config.providers.claude?.path).toBe(join(dir, 'bin/claude'));
    expect(config.providers.codex?.path).toBe('/home/u/bin/codex');
    expect(config.providers.tool?.path).toBe(join(dir, 'tools/run.sh'));
    expect(config.providers.bare?.path).toBe('my-tool');
    expect(config.agents.a).toMatchObject({ soulFile: join(dir, 'souls/a.md'), workdir: resolve(dir, '../work'), addDirs: ['/home/u/shared', '/abs'] });
    expect(config.agents.b?.soulFile).toBe(join(dir, 'agents/b/SOUL.md'));
  });

  it('normalises claude-cli to claude-code and keeps provider settings', () => {
    const dir = home({ 'config.json': { providers: { c: { type: 'claude-cli', maxConcurrent: 2, args: ['--verbose'] } }, defaultProvider: 'c' } });
    const { config } = load(dir);
    expect(config.providers.c).toMatchObject({ type: 'claude-code', path: 'claude', maxConcurrent: 2, args: ['--verbose'] });
    expect(config.providers.c?.implicit).toBeUndefined();
  });
});

describe('the loader as a pure function', () => {
  it('writes nothing and gives the same result when called again', () => {
    const dir = home({ 'config.json': { apiToken: '$T', agents: { a: {} } }, '.env': 'T=x\n' });
    const before = readdirSync(dir).sort();
    const first = load(dir, {});
    const second = load(dir, {});
    expect(second).toEqual(first);
    expect(readdirSync(dir).sort()).toEqual(before);
  });

  it('names the missing file and `tetora init`', () => {
    const dir = home({});
    const err = thrown(() => load(dir));
    expect(err.code).toBe('TET_ERR_CONFIG_NOT_FOUND');
    expect(err.message).toContain(join(dir, 'config.json'));
    expect(err.message).toContain('tetora init');
  });

  it('names the file and the syntax error of bad JSON', () => {
    const dir = home({ 'config.json': '{ "maxConcurrent": 4, }' });
    const err = thrown(() => load(dir));
    expect(err.code).toBe('TET_ERR_CONFIG_PARSE');
    expect(err.message).toContain(join(dir, 'config.json'));
    expect(err.message).toMatch(/JSON/);
  });

  it('finds the home in TETORA_HOME, relative to the working folder, else ~/.tetora', () => {
    expect(homeDir({ TETORA_HOME: 'rel/home' })).toBe(resolve('rel/home'));
    expect(homeDir({ TETORA_HOME: '/abs/home' })).toBe('/abs/home');
    expect(homeDir({})).toMatch(/\/\.tetora$/);
  });
});

describe('discord block', () => {
  it("loads the original's block: legacy channelID joins the mention channels, role means agent, its other sub-keys warn once each", () => {
    const dir = home({
      'config.json': {
        agents: { helper: {} },
        discord: { enabled: true, botToken: 'x', channelID: '333', routes: { '111': { role: 'helper' } }, forumBoard: { enabled: true }, voice: {}, notifyChannelID: '9' },
      },
    });
    const { config, warnings } = load(dir);
    expect(config.discord).toMatchObject({ enabled: true, mentionChannelIds: ['333'], channelIds: [], routes: { '111': 'helper' }, allowDMs: false, reactions: { enabled: false, emojis: {} } });
    for (const key of ['discord.forumBoard', 'discord.voice', 'discord.notifyChannelID']) {
      expect(warnings.filter((w) => w.includes(`"${key}"`))).toHaveLength(1);
    }
  });

  it('refuses a route to an agent that does not exist, naming the route and the known agents', () => {
    const dir = home({ 'config.json': { agents: { helper: {} }, discord: { routes: { '111': { agent: 'nobody' } } } } });
    const err = thrown(() => load(dir));
    expect(err.message).toContain('discord.routes.111.agent');
    expect(err.message).toContain('helper');
  });
});

describe('allowedDirs', () => {
  it('resolves entries (top-level and per agent) against the config\'s folder and ~, as other paths', () => {
    const dir = home({ 'config.json': { allowedDirs: ['projects', '~/code', '/srv/work'], agents: { a: { allowedDirs: ['../shared'] }, b: {} } } });
    const { config } = load(dir, { HOME: '/home/u' });
    expect(config.allowedDirs).toEqual([join(dir, 'projects'), '/home/u/code', '/srv/work']);
    expect(config.agents.a?.allowedDirs).toEqual([resolve(dir, '..', 'shared')]);
    expect(config.agents.b?.allowedDirs).toBeUndefined();
  });

  it('refuses an empty entry or a non-list, naming the path', () => {
    const empty = thrown(() => load(home({ 'config.json': { allowedDirs: ['ok', ''] } })));
    expect(empty.code).toBe('TET_ERR_CONFIG_INVALID');
    expect(empty.message).toContain('allowedDirs.1');
    const notList = thrown(() => load(home({ 'config.json': { agents: { a: { allowedDirs: '/srv' } } } })));
    expect(notList.message).toContain('agents.a.allowedDirs');
  });
});
