/**
 * The foundation through the real CLI: `node bin/tetora.js` as a child process (built into dist/ by
 * `npm test`'s pretest) against a throwaway TETORA_HOME: --version, help on every command, init, doctor,
 * config show/validate, compatibility with the original's config, and user errors without stack traces.
 */
import Database from 'better-sqlite3';
import type { Command } from 'commander';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { binPath, freePort, makeSandbox, pathWithOnly, repoRoot, writeTree, type CliResult, type Sandbox } from '../helpers/cli.js';

const sandboxes: Sandbox[] = [];
afterEach(() => {
  for (const s of sandboxes.splice(0)) s.cleanup();
});

function sandbox(): Sandbox {
  const s = makeSandbox('tetora-cli-');
  sandboxes.push(s);
  return s;
}

const mode = (path: string) => statSync(path).mode & 0o777;

/** A user error: one line naming the problem, never a stack trace. */
function expectNoStack(r: CliResult): void {
  expect(r.stderr).not.toMatch(/^\s+at .+\(.*:\d+:\d+\)$/m);
  expect(r.stderr).not.toMatch(/\bat [\w.<>]+ \(file:\/\//);
  expect(r.stderr).not.toContain('node:internal');
  expect(r.stdout).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
}

/** Every command path of the CLI, as the user types it (`config show`, `task list`, …). */
function commandPaths(): string[][] {
  const out: string[][] = [];
  const walk = (cmd: Command, prefix: string[]) => {
    for (const sub of cmd.commands) {
      if (sub.name() === 'help') continue;
      const path = [...prefix, sub.name()];
      out.push(path);
      walk(sub, path);
    }
  };
  walk(buildProgram(), []);
  return out;
}

/** Poll GET /healthz until it answers 200; fails (with the daemon's log) after a bounded number of tries. */
async function waitForHealthz(port: number, log: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const req = httpGet({ host: '127.0.0.1', port, path: '/healthz', agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the daemon never answered GET /healthz on port ${port}; its log:\n${log()}`);
}

const pkgVersion = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

describe('tetora --version and help', () => {
  it('prints the package version with --version and -V', async () => {
    const s = sandbox();
    for (const flag of ['--version', '-V']) {
      const r = await s.run([flag]);
      expect(r.code).toBe(0);
      // The version, then what it was built from: `tetora 0.1.0 (commit abc123def456, node 20.20.2)`.
      expect(r.stdout.trim()).toMatch(new RegExp(`^tetora ${pkgVersion.replace(/\./g, '\\.')} \\((commit [0-9a-f]{7,40}, )?(node \\d+\\.\\d+\\.\\d+|single executable [a-z0-9]+-[a-z0-9]+)\\)$`));
    }
  });

  it('lists every command in `tetora help` and `tetora --help`', async () => {
    const s = sandbox();
    const top = commandPaths().filter((p) => p.length === 1);
    expect(top.map((p) => p[0])).toEqual(expect.arrayContaining(['init', 'doctor', 'config']));
    for (const args of [['help'], ['--help']]) {
      const r = await s.run(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('Usage: tetora');
      for (const [name] of top) expect(r.stdout).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
    }
  });

  it('answers --help on every command and subcommand with its usage, exit 0, and touches nothing', async () => {
    const s = sandbox();
    const paths = commandPaths();
    expect(paths.map((p) => p.join(' '))).toEqual(expect.arrayContaining(['init', 'doctor', 'config show', 'config validate']));
    // Every command's help, from the command tree itself (what `--help` prints): its usage, and --config PATH,
    // which works on every command, after it as well as before it.
    const program = buildProgram();
    const helpOf = (path: string[]) => path.reduce((c, name) => c.commands.find((x) => x.name() === name) as Command, program).helpInformation();
    for (const path of paths) {
      const help = helpOf(path);
      expect(help).toContain(`Usage: tetora ${path.join(' ')}`);
      expect(help, path.join(' ')).toMatch(/^\s+(-c, )?--config <path>/m);
    }
    // And through a real process for every sixth command (each is a whole Node process): exit 0, nothing on
    // stderr, and what the tree says (followed by a command's own help text, such as an example).
    const sample = paths.filter((_, i) => i % 6 === 0);
    const results: CliResult[] = [];
    for (let i = 0; i < sample.length; i += 4) results.push(...(await Promise.all(sample.slice(i, i + 4).map((p) => s.run([...p, '--help'])))));
    for (const [i, path] of sample.entries()) {
      const r = results[i] as CliResult;
      expect({ path: path.join(' '), code: r.code, stderr: r.stderr }).toEqual({ path: path.join(' '), code: 0, stderr: '' });
      expect(r.stdout.startsWith(helpOf(path)), path.join(' ')).toBe(true);
    }
    // `tetora help <command>` says the same as `<command> --help`.
    const viaHelp = await s.run(['help', 'doctor']);
    expect(viaHelp.code).toBe(0);
    expect(viaHelp.stdout).toBe((await s.run(['doctor', '--help'])).stdout);
    // Help never creates the home folder.
    expect(existsSync(s.home)).toBe(false);
  }, 240_000); // one Node process per command path (the board added seven), four at a time on a shared machine

  it('takes --config after a daemon command as well as before it', async () => {
    const s = sandbox();
    const missing = join(s.root, 'nowhere', 'config.json');
    for (const args of [['status', '--config', missing], ['--config', missing, 'status']]) {
      const r = await s.run(args);
      expect(r.code, args.join(' ')).toBe(78);
      expect(r.stderr).toContain(`config file not found at ${missing}`);
      expectNoStack(r);
    }
  });

  it('rejects an unknown command or option with a usage error (exit 64), without a stack trace', async () => {
    const s = sandbox();
    const cmd = await s.run(['frobnicate']);
    expect(cmd.code).toBe(64);
    expect(cmd.stderr).toContain("unknown command 'frobnicate'");
    for (const args of [['help', 'frobnicate'], ['frobnicate', '--help']]) {
      const r = await s.run(args);
      expect(r.code, args.join(' ')).toBe(64);
      expect(r.stderr).toContain("unknown command 'frobnicate'");
    }
    const opt = await s.run(['doctor', '--bogus']);
    expect(opt.code).toBe(64);
    expect(opt.stderr).toContain("unknown option '--bogus'");
    expect(opt.stderr.split('\n')[0]).toBe("tetora: unknown option '--bogus'");
    expectNoStack(cmd);
    expectNoStack(opt);
  });
});

describe('tetora init', () => {
  it('--yes writes a private home, a 0600 config with a generated token and a starter SOUL.md, and the config validates', async () => {
    const s = sandbox();
    const r = await s.run(['init', '--yes']);
    expect(r.code).toBe(0);
    const configPath = join(s.home, 'config.json');
    const soul = join(s.home, 'agents', 'assistant', 'SOUL.md');
    expect(r.stdout).toContain(`Wrote ${configPath}`);
    expect(r.stdout).toContain(`Wrote ${soul}`);
    expect(mode(s.home)).toBe(0o700);
    expect(mode(configPath)).toBe(0o600);
    expect(mode(soul)).toBe(0o600);
    expect(mode(join(s.home, 'agents'))).toBe(0o700);
    const doc = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
    expect(doc.apiToken).toMatch(/^[0-9a-f]{64}$/);
    expect(r.stdout).not.toContain(doc.apiToken as string);
    expect(doc).toMatchObject({ listenAddr: '127.0.0.1:8991', defaultAgent: 'assistant', agents: { assistant: { soulFile: 'agents/assistant/SOUL.md' } } });
    expect(readFileSync(soul, 'utf8')).toContain('# assistant');

    const v = await s.run(['config', 'validate']);
    expect(v.code).toBe(0);
    expect(v.stdout).toContain(`config OK: ${configPath}`);
  });

  it('never overwrites an existing config without --force; with --force it replaces the config and keeps SOUL.md', async () => {
    const s = sandbox();
    expect((await s.run(['init', '--yes'])).code).toBe(0);
    const configPath = join(s.home, 'config.json');
    const soul = join(s.home, 'agents', 'assistant', 'SOUL.md');
    writeFileSync(soul, '# my own soul\n');
    const before = readFileSync(configPath, 'utf8');

    const again = await s.run(['init', '--yes']);
    expect(again.code).toBe(73);
    expect(again.stderr).toContain(`a config already exists at ${configPath}`);
    expect(again.stderr).toContain('--force');
    expectNoStack(again);
    expect(readFileSync(configPath, 'utf8')).toBe(before);

    // Without --yes and without a terminal on stdin: the same refusal, nothing asked.
    const piped = await s.run(['init'], { input: 'codex\n' });
    expect(piped.code).toBe(73);
    expect(readFileSync(configPath, 'utf8')).toBe(before);

    const forced = await s.run(['init', '--yes', '--force', '--agent', 'assistant', '--provider', 'codex']);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain(`Kept the existing ${soul}`);
    const after = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
    expect(after.defaultProvider).toBe('codex');
    expect(after.apiToken).not.toBe((JSON.parse(before) as Record<string, unknown>).apiToken);
    expect(readFileSync(soul, 'utf8')).toBe('# my own soul\n');
    expect(mode(configPath)).toBe(0o600);
  });

  it('takes its choices from flags, and --json reports what it wrote without the token', async () => {
    const s = sandbox();
    const port = await freePort();
    const work = join(s.root, 'work');
    const r = await s.run(['init', '--yes', '--json', '--provider', 'codex', '--agent', 'coder', '--listen', `127.0.0.1:${port}`, '--workdir', work, '--no-token']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(out).toMatchObject({ configPath: join(s.home, 'config.json'), provider: 'codex', apiToken: 'none', soulWritten: true });
    expect(out.providerPath).toBe(join(repoRoot, 'node_modules', '.bin', 'codex'));
    const doc = JSON.parse(readFileSync(join(s.home, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(doc).toMatchObject({ listenAddr: `127.0.0.1:${port}`, defaultProvider: 'codex', defaultAgent: 'coder', defaultWorkdir: work });
    expect(doc.apiToken).toBeUndefined();
    expect(existsSync(join(s.home, 'agents', 'coder', 'SOUL.md'))).toBe(true);
  });

  it('rejects a wrong flag value naming the flag (exit 64) and writes nothing', async () => {
    const s = sandbox();
    for (const [flag, value] of [['--provider', 'gpt'], ['--agent', 'bad name'], ['--listen', 'localhost']] as const) {
      const r = await s.run(['init', '--yes', flag, value]);
      expect(r.code).toBe(64);
      expect(r.stderr).toContain(`tetora init ${flag}: "${value}"`);
      expectNoStack(r);
    }
    expect(existsSync(join(s.home, 'config.json'))).toBe(false);
  });

  it('says which path it cannot write when TETORA_HOME is a file (exit 73, no stack trace)', async () => {
    const s = sandbox();
    writeFileSync(s.home, 'not a folder');
    const r = await s.run(['init', '--yes']);
    expect(r.code).toBe(73);
    expect(r.stderr).toContain(`tetora init cannot write ${s.home}`);
    expect(r.stderr).toContain('TETORA_HOME');
    expectNoStack(r);
  });

  it('writes to --config PATH when given, creating its folder 0700', async () => {
    const s = sandbox();
    const path = join(s.root, 'elsewhere', 'tetora.json');
    const r = await s.run(['init', '--yes', '--config', path]);
    expect(r.code).toBe(0);
    expect(mode(path)).toBe(0o600);
    expect(mode(join(s.root, 'elsewhere'))).toBe(0o700);
    expect((await s.run(['--config', path, 'config', 'validate'])).code).toBe(0);
    expect(existsSync(s.home)).toBe(false);
  });
});

describe('tetora doctor', () => {
  async function initialised(): Promise<{ s: Sandbox; port: number }> {
    const s = sandbox();
    const port = await freePort();
    const r = await s.run(['init', '--yes', '--provider', 'claude', '--listen', `127.0.0.1:${port}`]);
    expect(r.code).toBe(0);
    return { s, port };
  }

  it('after init passes every check, one line each, creates the database 0600 with migrations current, and --json agrees', async () => {
    const { s, port } = await initialised();
    const r = await s.run(['doctor']);
    expect({ code: r.code, stdout: r.stdout }).toMatchObject({ code: 0 });
    const lines = r.stdout.trim().split('\n');
    for (const name of ['node', 'home', 'config', 'file modes', 'database', 'git', 'provider claude', 'agent assistant', 'listen']) {
      expect(lines.filter((l) => l.startsWith(`✓ ${name}: `)), name).toHaveLength(1);
    }
    expect(lines.filter((l) => l.startsWith('✗'))).toEqual([]);
    expect(r.stdout).toContain('(schema version');
    expect(r.stdout).toContain(`127.0.0.1:${port} is free`);
    expect(lines.at(-1)).toMatch(/^all \d+ checks passed$/);

    const dbPath = join(s.home, 'tetora.db');
    expect(mode(dbPath)).toBe(0o600);

    const j = await s.run(['doctor', '--json']);
    expect(j.code).toBe(0);
    const report = JSON.parse(j.stdout) as { ok: boolean; checks: Array<{ name: string; ok: boolean; detail: string; fix: string | null }> };
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['node', 'home', 'config', 'database', 'git', 'provider claude', 'agent assistant', 'listen']));
    expect(report.checks.every((c) => c.ok && c.fix === null)).toBe(true);
  });

  it('applies migrations once: running doctor again changes nothing in the schema or its record', async () => {
    const { s } = await initialised();
    const dbPath = join(s.home, 'tetora.db');
    const snapshot = () => {
      const db = new Database(dbPath, { readonly: true });
      try {
        return {
          migrations: db.prepare('SELECT version, name, applied_at FROM schema_migrations ORDER BY version').all(),
          schema: db.prepare("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name").all(),
          journal: db.pragma('journal_mode', { simple: true }),
        };
      } finally {
        db.close();
      }
    };
    expect((await s.run(['doctor'])).code).toBe(0);
    const first = snapshot();
    expect(first.migrations.length).toBeGreaterThan(0);
    expect(first.journal).toBe('wal');
    expect((await s.run(['doctor'])).code).toBe(0);
    expect(snapshot()).toEqual(first);
    // SQLite removes the -wal and -shm files at its last close; their modes are tested in store.test.ts.
    expect(mode(join(s.home, 'tetora.db'))).toBe(0o600);
  });

  it('fails (exit 1) on a missing provider binary and prints the fix', async () => {
    const { s } = await initialised();
    // Only git on PATH: no claude anywhere, whatever this machine has installed.
    const PATH = pathWithOnly(['git'], join(s.root, 'path'));
    const r = await s.run(['doctor'], { env: { PATH } });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^✗ provider claude: claude-code: claude is not on PATH$/m);
    expect(r.stdout).toContain('    fix: install Claude Code with `npm install -g @anthropic-ai/claude-code`');
    expect(r.stdout).toContain('set providers.claude.path or claudePath to the executable');
    expect(r.stdout).toMatch(/^1 of \d+ checks failed$/m);
    expectNoStack(r);

    const j = await s.run(['doctor', '--json'], { env: { PATH } });
    expect(j.code).toBe(1);
    const report = JSON.parse(j.stdout) as { ok: boolean; checks: Array<{ name: string; ok: boolean; fix: string | null }> };
    expect(report.ok).toBe(false);
    const failed = report.checks.filter((c) => !c.ok);
    expect(failed.map((c) => c.name)).toEqual(['provider claude']);
    expect(failed[0]?.fix).toContain('npm install -g @anthropic-ai/claude-code');
  });

  it('fails on a configured provider path that does not exist, an agent soul file that is missing, and loose file modes', async () => {
    const { s } = await initialised();
    const configPath = join(s.home, 'config.json');
    const doc = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, Record<string, unknown>>;
    doc.providers = { mine: { type: 'command', path: './bin/missing-agent' } };
    doc.agents = { ...doc.agents, helper: { provider: 'mine', soulFile: 'souls/helper.md' } };
    writeFileSync(configPath, JSON.stringify(doc));
    chmodSync(configPath, 0o644);

    const r = await s.run(['doctor']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`✗ provider mine: command: ${join(s.home, 'bin', 'missing-agent')} does not exist`);
    expect(r.stdout).toContain('fix: set providers.mine.path to an existing executable');
    expect(r.stdout).toContain(`✗ agent helper: soul file ${join(s.home, 'souls', 'helper.md')} does not exist`);
    expect(r.stdout).toContain(`fix: create ${join(s.home, 'souls', 'helper.md')}`);
    expect(r.stdout).toContain(`✗ file modes: ${configPath} has mode 0644`);
    expect(r.stdout).toContain(`fix: chmod 600 ${configPath}`);
    // Every failure comes with a fix on the line below it.
    const lines = r.stdout.split('\n');
    lines.forEach((l, i) => {
      if (l.startsWith('✗')) expect(lines.slice(i + 1).find((n) => !n.startsWith('    warning:')), l).toMatch(/^ {4}fix: /);
    });
  });

  it('reports a broken config clearly: the config check fails with the path, the value and the fix, exit 1, no stack trace', async () => {
    const { s } = await initialised();
    const configPath = join(s.home, 'config.json');
    const doc = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(configPath, JSON.stringify({ ...doc, maxConcurrent: 'lots' }));
    const r = await s.run(['doctor']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^✗ config: config .*config\.json: maxConcurrent is "lots", expected a whole number/m);
    expect(r.stdout).toContain(`fix: fix ${configPath}`);
    expect(r.stdout).toMatch(/^✓ node: /m);
    expect(r.stdout).toMatch(/^✓ git: /m);
    expectNoStack(r);

    writeFileSync(configPath, '{ "listenAddr": "127.0.0.1:1", }');
    const bad = await s.run(['doctor', '--json']);
    expect(bad.code).toBe(1);
    const report = JSON.parse(bad.stdout) as { ok: boolean; checks: Array<{ name: string; ok: boolean; detail: string; fix: string | null }> };
    const check = report.checks.find((c) => c.name === 'config');
    expect(check?.ok).toBe(false);
    expect(check?.detail).toContain('is not valid JSON');
    expect(check?.fix).toContain('tetora config validate');
  });

  it('passes the listen check when a Tetora daemon answers there, and fails it when another program holds the port', async () => {
    const { s, port } = await initialised();
    const daemon = spawn(process.execPath, [binPath, 'serve'], { cwd: repoRoot, env: s.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    daemon.stdout.setEncoding('utf8').on('data', (c: string) => (log += c));
    daemon.stderr.setEncoding('utf8').on('data', (c: string) => (log += c));
    const exited = new Promise<number | null>((resolve) => daemon.on('exit', (code) => resolve(code)));
    try {
      await waitForHealthz(port, () => log);
      const r = await s.run(['doctor']);
      expect(r.stdout).toMatch(new RegExp(`^✓ listen: a Tetora daemon answers at 127\\.0\\.0\\.1:${port} \\(GET /healthz: HTTP 200\\)$`, 'm'));
      expect(r.code, r.stdout).toBe(0);
    } finally {
      daemon.kill('SIGTERM');
      await exited;
    }

    const squatter = createServer((sock) => sock.destroy());
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    try {
      const r = await s.run(['doctor']);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(`✗ listen: 127.0.0.1:${port} is in use by another program`);
      expect(r.stdout).toContain(`fix: stop the program holding port ${port}`);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });

  it('fails on a home that does not exist, telling to run tetora init', async () => {
    const s = sandbox();
    const r = await s.run(['doctor']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^✗ home: .* does not exist$/m);
    expect(r.stdout).toContain('fix: run `tetora init`');
    expect(r.stdout).toMatch(/^✗ config: config file not found at /m);
  });
});

/** An original-format config (reference/original-tetora-spec.md §1), with keys this version does not read. */
function originalConfig(port: number): Record<string, unknown> {
  return {
    listenAddr: `127.0.0.1:${port}`,
    apiToken: '$TETORA_API_TOKEN',
    maxConcurrent: 4,
    defaultModel: 'sonnet',
    defaultProvider: 'claude',
    defaultTimeout: '15m',
    defaultPermissionMode: 'acceptEdits',
    defaultWorkdir: '~/code',
    providers: {
      claude: { type: 'claude-cli', path: 'claude' },
      codex: { type: 'codex-cli' },
      ollama: { type: 'openai-compatible', baseUrl: 'http://127.0.0.1:9/v1', model: 'qwen2.5-coder', apiKey: '${OLLAMA_KEY}' },
    },
    roles: {
      lead: { model: 'opus', description: 'Plans and reviews', keywords: ['plan', 'review'], trustLevel: 'high' },
    },
    agents: {
      coder: { model: 'sonnet', provider: 'claude', fallbackProviders: ['codex'], permissionMode: 'bypassPermissions', keywords: ['fix'], soulFile: 'agents/coder/SOUL.md' },
    },
    smartDispatch: { enabled: true, coordinator: 'lead', defaultAgent: 'lead' },
    taskBoard: { enabled: true, autoDispatch: { enabled: true, interval: '5m', maxTasksPerAgent: 2 } },
    discord: { enabled: false, botToken: '$DISCORD_BOT_TOKEN', channelIDs: ['111'] },
    telegram: { enabled: false, botToken: '$TELEGRAM_BOT_TOKEN' },
    heartbeat: { enabled: true, interval: '30s' },
  };
}

describe('tetora config', () => {
  it('validates an original-format config with one warning per unsupported key, secrets from .env and the environment', async () => {
    const s = sandbox();
    const port = await freePort();
    writeTree(s.home, {
      'config.json': originalConfig(port),
      'config.local.json': { maxConcurrent: 2, roles: { lead: { model: 'sonnet' } } },
      '.env': 'TETORA_API_TOKEN=from-dotenv\nDISCORD_BOT_TOKEN=discord-from-dotenv\nOLLAMA_KEY="ollama-key"\n',
      'agents/coder/SOUL.md': '# coder\n',
    });
    const env = { TETORA_API_TOKEN: 'from-environment' };
    const v = await s.run(['config', 'validate'], { env });
    expect(v.code).toBe(0);
    expect(v.stdout).toContain(`config OK: ${join(s.home, 'config.json')}`);
    const warnings = v.stdout.split('\n').filter((l) => l.startsWith('warning: '));
    expect(warnings).toHaveLength(4);
    for (const key of ['taskBoard.autoDispatch.maxTasksPerAgent', 'telegram', 'heartbeat', 'roles.lead.trustLevel']) {
      expect(warnings.filter((w) => w.includes(`key "${key}" is not supported`)), key).toHaveLength(1);
    }

    const show = await s.run(['config', 'show', '--json'], { env });
    expect(show.code).toBe(0);
    const out = JSON.parse(show.stdout) as { path: string; warnings: string[]; config: Record<string, any> };
    expect(out.warnings).toHaveLength(4);
    const c = out.config;
    expect(c.apiToken).toBe('***');
    expect(c.providers.ollama.apiKey).toBe('***');
    expect(c.discord.botToken).toBe('***');
    for (const secret of ['from-environment', 'from-dotenv', 'discord-from-dotenv', 'ollama-key']) expect(show.stdout).not.toContain(secret);
    expect(c.maxConcurrent).toBe(2);
    expect(c.defaultTimeoutMs).toBe(900_000);
    expect(c.defaultWorkdir).toBe(join(s.userHome, 'code'));
    expect(c.agents.lead).toMatchObject({ model: 'sonnet', description: 'Plans and reviews', provider: 'claude' });
    expect(c.agents.coder).toMatchObject({ soulFile: join(s.home, 'agents', 'coder', 'SOUL.md'), fallbackProviders: ['codex'] });
    expect(c.providers.claude.type).toBe('claude-code');

    // Human form: the path on top, secrets hidden, warnings on stderr.
    const human = await s.run(['config', 'show'], { env });
    expect(human.code).toBe(0);
    expect(human.stdout.split('\n')[0]).toBe(`# ${join(s.home, 'config.json')}`);
    expect(human.stdout).toContain('"apiToken": "***"');
    expect(human.stdout).not.toContain('from-environment');
    expect(human.stderr.split('\n').filter((l) => l.startsWith('warning: '))).toHaveLength(4);
  });

  it('stops on a wrong value naming the JSON path, the value, the expectation and the file; exit 78 and no stack trace', async () => {
    const s = sandbox();
    const path = join(s.root, 'custom', 'my-config.json');
    writeTree(join(s.root, 'custom'), { 'my-config.json': { agents: { coder: { timeout: 'forever' } } } });
    for (const args of [
      ['config', 'validate', '--config', path],
      ['--config', path, 'config', 'show'],
      ['config', 'show', '--config', path, '--json'],
    ]) {
      const r = await s.run(args);
      expect(r.code, args.join(' ')).toBe(78);
      expect(r.stderr).toBe(`tetora: config ${path}: agents.coder.timeout is "forever", expected a duration such as "90s", "15m", "1h30m" or a number of milliseconds. Fix it and run \`tetora config validate\`.\n`);
      if (args.includes('--json')) {
        // With --json the error object is printed on stdout too.
        expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: 'TET_ERR_CONFIG_INVALID', details: { path: 'agents.coder.timeout', value: 'forever', file: path } } });
      } else {
        expect(r.stdout).toBe('');
      }
      expectNoStack(r);
    }
    const j = await s.run(['config', 'validate', '--json', '--config', path]);
    expect(j.code).toBe(78);
    const out = JSON.parse(j.stdout) as { ok: boolean; error: { code: string; details: Record<string, unknown> } };
    expect(out).toMatchObject({ ok: false, error: { code: 'TET_ERR_CONFIG_INVALID', details: { path: 'agents.coder.timeout', value: 'forever', file: path } } });
  });

  it('names the field and the variable of an unset secret', async () => {
    const s = sandbox();
    writeTree(s.home, { 'config.json': { providers: { api: { type: 'anthropic', apiKey: '${ANTHROPIC_KEY_FOR_TEST}' } } } });
    const r = await s.run(['config', 'validate'], { env: { ANTHROPIC_KEY_FOR_TEST: undefined } });
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('providers.api.apiKey refers to environment variable ANTHROPIC_KEY_FOR_TEST, which is not set');
    expect(r.stderr).toContain(join(s.home, '.env'));
    expectNoStack(r);
    expect((await s.run(['config', 'validate'], { env: { ANTHROPIC_KEY_FOR_TEST: 'k' } })).code).toBe(0);
  });

  it('stops on a duration no timer can hold or a timeout of 0, naming the path, the value and the limit (exit 78)', async () => {
    const s = sandbox();
    writeTree(s.home, { 'config.json': { defaultTimeout: '720h' } });
    const long = await s.run(['config', 'validate']);
    expect(long.code).toBe(78);
    expect(long.stderr).toContain('defaultTimeout is "720h", expected a duration of at most 2147483647 ms');
    expectNoStack(long);
    writeTree(s.home, { 'config.json': { worktreePruneInterval: '720h' } });
    const prune = await s.run(['config', 'validate']);
    expect(prune.code).toBe(78);
    expect(prune.stderr).toContain('worktreePruneInterval is "720h"');
    writeTree(s.home, { 'config.json': { defaultTimeout: '0' } });
    const zero = await s.run(['config', 'validate']);
    expect(zero.code).toBe(78);
    expect(zero.stderr).toContain('defaultTimeout is "0", expected a duration above 0');
    writeTree(s.home, { 'config.json': { worktreePruneInterval: '0' } });
    expect((await s.run(['config', 'validate'])).code).toBe(0);
  });

  it('names an unreadable .env (a directory) and what to do: exit 78, no stack trace', async () => {
    const s = sandbox();
    writeTree(s.home, { 'config.json': {}, '.env/keep': '' });
    const r = await s.run(['config', 'validate']);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain(`cannot read the .env file ${join(s.home, '.env')}`);
    expect(r.stderr).toContain('is a directory');
    expect(r.stderr).not.toContain('unexpected error');
    expectNoStack(r);
  });

  it('tells to run tetora init when there is no config, and names the syntax error of bad JSON', async () => {
    const s = sandbox();
    const missing = await s.run(['config', 'validate']);
    expect(missing.code).toBe(78);
    expect(missing.stderr).toContain(`config file not found at ${join(s.home, 'config.json')}`);
    expect(missing.stderr).toContain('tetora init');
    expectNoStack(missing);

    writeTree(s.home, { 'config.json': '{"maxConcurrent": 4,,}' });
    const broken = await s.run(['config', 'show']);
    expect(broken.code).toBe(78);
    expect(broken.stderr).toContain('is not valid JSON');
    expectNoStack(broken);
  });
});
