import { describe, expect, it } from 'vitest';
import {
  checkAgent,
  checkConfig,
  checkDb,
  checkFileModes,
  checkGit,
  checkHome,
  checkListen,
  checkNode,
  checkProvider,
  formatReport,
  runChecks,
  type DoctorFacts,
  type ProviderFact,
} from '../../src/doctor/checks.js';

const healthy: DoctorFacts = {
  nodeVersion: '20.20.2',
  home: { path: '/h', mode: 0o700 },
  files: [{ path: '/h/config.json', mode: 0o600 }],
  config: { ok: true, path: '/h/config.json', warnings: [] },
  db: { ok: true, path: '/h/tetora.db', current: 3, latest: 3 },
  git: { ok: true, output: 'git version 2.39.5' },
  providers: [{ name: 'claude', type: 'claude-code', kind: 'cli', executable: 'claude', resolved: '/usr/bin/claude', version: { ok: true, output: '2.1.331 (Claude Code)' } }],
  agents: [{ name: 'assistant', provider: 'claude', providerExists: true, soulFile: '/h/agents/assistant/SOUL.md', soulExists: true, soulConfigured: true }],
  listen: { addr: '127.0.0.1:8991', host: '127.0.0.1', port: 8991, hasToken: true, bind: 'free' },
};

describe('doctor checks', () => {
  it('passes a healthy setup, one result per check, with no fixes', () => {
    const checks = runChecks(healthy);
    expect(checks.map((c) => c.name)).toEqual(['node', 'home', 'config', 'file modes', 'database', 'git', 'provider claude', 'agent assistant', 'listen']);
    expect(checks.every((c) => c.ok && c.fix === null)).toBe(true);
    expect(formatReport(checks).trim().split('\n').at(-1)).toBe('all 9 checks passed');
  });

  it('gives every failure a fix', () => {
    const broken: DoctorFacts = {
      nodeVersion: '18.19.0',
      home: { path: '/h', mode: 0o755 },
      files: [{ path: '/h/config.json', mode: 0o644 }],
      config: { ok: true, path: '/h/config.json', warnings: ['config /h/config.json: key "telegram" is not supported by this version of Tetora and is ignored'] },
      db: { ok: false, path: '/h/tetora.db', error: 'cannot open the database', code: 'TET_ERR_STORE_OPEN' },
      git: { ok: false, error: 'spawn git ENOENT' },
      providers: [{ name: 'codex', type: 'codex-cli', kind: 'cli', executable: 'codex' }],
      agents: [{ name: 'a', provider: 'gone', providerExists: false, soulExists: false, soulConfigured: false }],
      listen: { addr: '0.0.0.0:8991', host: '0.0.0.0', port: 8991, hasToken: false, bind: 'free' },
    };
    const checks = runChecks(broken);
    const failed = checks.filter((c) => !c.ok);
    expect(failed.map((c) => c.name)).toEqual(['node', 'home', 'file modes', 'database', 'git', 'provider codex', 'agent a', 'listen']);
    for (const c of failed) expect(c.fix, c.name).toMatch(/\S{3,}/);
    const report = formatReport(checks);
    expect(report).toContain('    warning: config /h/config.json: key "telegram"');
    expect(report.trim().split('\n').at(-1)).toBe('8 of 9 checks failed');
    // Every ✗ line is followed by its fix (warnings may come between).
    const lines = report.split('\n');
    lines.forEach((l, i) => {
      if (l.startsWith('✗')) expect(lines.slice(i + 1).find((n) => !n.startsWith('    warning:'))).toMatch(/^ {4}fix: /);
    });
  });

  it('node: 20 or newer', () => {
    expect(checkNode('20.0.0').ok).toBe(true);
    expect(checkNode('v22.1.0').ok).toBe(true);
    const old = checkNode('18.20.1');
    expect(old).toMatchObject({ ok: false, detail: 'Node v18.20.1 is older than 20' });
    expect(old.fix).toContain('Node 20');
  });

  it('home: must exist and be private', () => {
    expect(checkHome({ path: '/h', mode: null })).toMatchObject({ ok: false, fix: expect.stringContaining('tetora init') });
    expect(checkHome({ path: '/h', mode: 0o750 })).toMatchObject({ ok: false, detail: '/h has mode 0750; others can read it', fix: 'chmod 700 /h' });
    expect(checkHome({ path: '/h', mode: 0o700 }).ok).toBe(true);
    expect(checkHome({ path: '/h', mode: 0o644, isDir: false })).toMatchObject({ ok: false, detail: '/h is not a folder', fix: expect.stringContaining('TETORA_HOME') });
  });

  it('file modes: config, local config, .env and database must be 0600', () => {
    const r = checkFileModes([
      { path: '/h/config.json', mode: 0o600 },
      { path: '/h/.env', mode: 0o640 },
      { path: '/h/tetora.db', mode: 0o644 },
    ]);
    expect(r).toMatchObject({ ok: false, fix: 'chmod 600 /h/.env /h/tetora.db' });
    expect(r.detail).toBe('/h/.env has mode 0640; /h/tetora.db has mode 0644');
    expect(checkFileModes([]).ok).toBe(true);
  });

  it('config: the loader error is the detail; warnings ride along on a pass', () => {
    const bad = checkConfig({ ok: false, path: '/h/config.json', error: 'config /h/config.json: maxConcurrent is "x", expected a whole number' });
    expect(bad).toMatchObject({ ok: false, detail: 'config /h/config.json: maxConcurrent is "x", expected a whole number' });
    expect(bad.fix).toContain('tetora config validate');
    const warned = checkConfig({ ok: true, path: '/h/config.json', warnings: ['w1', 'w2'] });
    expect(warned).toMatchObject({ ok: true, detail: '/h/config.json is valid (2 warnings)', warnings: ['w1', 'w2'] });
  });

  it('database: opens, and migrations are current', () => {
    expect(checkDb({ ok: true, path: '/h/tetora.db', current: 3, latest: 3 }).ok).toBe(true);
    expect(checkDb({ ok: true, path: '/h/tetora.db', current: 2, latest: 3 })).toMatchObject({ ok: false, detail: '/h/tetora.db is at schema version 2, expected 3' });
    expect(checkDb({ ok: false, path: '/h/tetora.db', error: 'newer', code: 'TET_ERR_STORE_MIGRATION' }).fix).toContain('upgrade Tetora');
    expect(checkDb({ ok: false, path: '/h/tetora.db', error: 'EACCES' }).fix).toContain('writable');
  });

  it('git: present', () => {
    expect(checkGit({ ok: true, output: 'git version 2.39.5' })).toMatchObject({ ok: true, detail: 'git version 2.39.5' });
    expect(checkGit({ ok: false, error: 'spawn git ENOENT' }).fix).toContain('apt-get install git');
  });

  describe('providers', () => {
    const cli = (over: Partial<ProviderFact>): ProviderFact => ({ name: 'claude', type: 'claude-code', kind: 'cli', executable: 'claude', ...over });

    it('a CLI not on PATH: install it or set the path', () => {
      const r = checkProvider(cli({}));
      expect(r).toMatchObject({ ok: false, detail: 'claude-code: claude is not on PATH' });
      expect(r.fix).toContain('npm install -g @anthropic-ai/claude-code');
      expect(r.fix).toContain('providers.claude.path or claudePath');
      const codex = checkProvider({ name: 'codex', type: 'codex-cli', kind: 'cli', executable: '/opt/codex' });
      expect(codex).toMatchObject({ ok: false, detail: 'codex-cli: /opt/codex does not exist' });
      expect(codex.fix).toContain('npm install -g @openai/codex');
    });

    it('a CLI whose --version fails or hangs', () => {
      const r = checkProvider(cli({ resolved: '/usr/bin/claude', version: { ok: false, error: 'no answer within 5 s' } }));
      expect(r).toMatchObject({ ok: false, detail: 'claude-code: `/usr/bin/claude --version` failed: no answer within 5 s' });
      expect(r.fix).toContain('/usr/bin/claude --version');
    });

    it('a file without the execute bit', () => {
      expect(checkProvider(cli({ resolved: '/x/claude', notExecutable: true }))).toMatchObject({ ok: false, fix: 'chmod +x /x/claude' });
    });

    it('a command provider needs only an executable', () => {
      expect(checkProvider({ name: 'echo', type: 'command', kind: 'command', executable: '/bin/cat', resolved: '/bin/cat' }).ok).toBe(true);
      expect(checkProvider({ name: 'echo', type: 'command', kind: 'command', executable: '/nope' })).toMatchObject({ ok: false, fix: 'set providers.echo.path to an existing executable' });
    });

    it('an API provider must answer HTTP', () => {
      const url = 'http://127.0.0.1:11434/v1';
      expect(checkProvider({ name: 'ollama', type: 'openai-compatible', kind: 'api', url, http: { ok: true, output: 'HTTP 404' } }).ok).toBe(true);
      const down = checkProvider({ name: 'ollama', type: 'openai-compatible', kind: 'api', url, http: { ok: false, error: 'connection refused' } });
      expect(down).toMatchObject({ ok: false, detail: `openai-compatible endpoint ${url} does not answer: connection refused` });
      expect(down.fix).toContain('providers.ollama.baseUrl');
    });
  });

  it('agents: provider configured; a named soul file must exist, a default one may be absent', () => {
    expect(checkAgent({ name: 'a', provider: 'x', providerExists: false, soulExists: false, soulConfigured: false })).toMatchObject({
      ok: false,
      fix: 'add providers.x or set agents.a.provider to a configured provider',
    });
    expect(checkAgent({ name: 'a', provider: 'claude', providerExists: true, soulFile: '/h/s.md', soulExists: false, soulConfigured: true })).toMatchObject({
      ok: false,
      detail: 'soul file /h/s.md does not exist',
    });
    const noSoul = checkAgent({ name: 'a', provider: 'claude', providerExists: true, soulFile: '/h/agents/a/SOUL.md', soulExists: false, soulConfigured: false });
    expect(noSoul.ok).toBe(true);
    expect(noSoul.detail).toContain('no soul file');
  });

  it('listen: free, or a daemon answering; never beyond loopback without a token', () => {
    const base = { addr: '127.0.0.1:8991', host: '127.0.0.1', port: 8991, hasToken: false };
    expect(checkListen({ ...base, bind: 'free' }).ok).toBe(true);
    expect(checkListen({ ...base, bind: 'in-use', healthz: { ok: true, output: 'GET /healthz: HTTP 200' } })).toMatchObject({ ok: true, detail: expect.stringContaining('a Tetora daemon answers') });
    const taken = checkListen({ ...base, bind: 'in-use', healthz: { ok: false, error: 'HTTP 404' } });
    expect(taken).toMatchObject({ ok: false });
    expect(taken.fix).toContain('port 8991');
    expect(checkListen({ ...base, bind: { error: 'EACCES: permission denied' } }).ok).toBe(false);
    const open = checkListen({ addr: '0.0.0.0:8991', host: '0.0.0.0', port: 8991, hasToken: false, bind: 'free' });
    expect(open).toMatchObject({ ok: false, detail: '0.0.0.0:8991 is beyond loopback and no apiToken is set' });
    expect(checkListen({ addr: '0.0.0.0:8991', host: '0.0.0.0', port: 8991, hasToken: true, bind: 'free' }).ok).toBe(true);
    expect(checkListen({ addr: '[::1]:8991', host: '::1', port: 8991, hasToken: false, bind: 'free' }).ok).toBe(true);
  });
});
