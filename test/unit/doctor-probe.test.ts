/** The I/O half of `tetora doctor`: executables, `--version`, HTTP endpoints, ports, and gathering facts from a real home. */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { runChecks } from '../../src/doctor/checks.js';
import { gatherFacts, providersToCheck } from '../../src/doctor/gather.js';
import { findExecutable, httpAnswers, probeBind, runVersion } from '../../src/doctor/probe.js';
import { processAlive, waitUntil } from '../helpers/engine-harness.js';
import { writeTree } from '../helpers/cli.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tetora-doctor-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function script(dir: string, name: string, body: string, mode = 0o755): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, mode);
  return path;
}

/** Listen on a loopback port; the cleanup drops open connections, then closes. */
function listen(server: Server | ReturnType<typeof createServer>): Promise<number> {
  const sockets = new Set<{ destroy(): void }>();
  server.on('connection', (sock: { destroy(): void; once(e: 'close', f: () => void): void }) => {
    sockets.add(sock);
    sock.once('close', () => sockets.delete(sock));
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
    cleanups.push(
      () =>
        new Promise((r) => {
          server.close(() => r(undefined));
          for (const s of sockets) s.destroy();
        }),
    );
  });
}

describe('findExecutable', () => {
  it('looks a bare name up on PATH, skipping files without the execute bit, and takes a path as given', () => {
    const a = tempDir();
    const b = tempDir();
    script(a, 'tool', 'exit 0', 0o644);
    const good = script(b, 'tool', 'exit 0');
    expect(findExecutable('tool', `${a}:${b}`)).toEqual({ path: good, executable: true });
    expect(findExecutable('tool', a)).toBeUndefined();
    expect(findExecutable(join(a, 'tool'), '')).toEqual({ path: join(a, 'tool'), executable: false });
    expect(findExecutable(join(a, 'missing'), '')).toBeUndefined();
    expect(findExecutable('tool', undefined)).toBeUndefined();
  });
});

describe('runVersion', () => {
  it('returns the first line of output on exit 0', async () => {
    const dir = tempDir();
    const exe = script(dir, 'cli', 'echo ""; echo "cli 1.2.3"; echo more');
    expect(await runVersion(exe, { env: { PATH: process.env.PATH ?? '' } })).toEqual({ ok: true, output: 'cli 1.2.3' });
  });

  it('reports the exit code and what the program said on failure', async () => {
    const dir = tempDir();
    const exe = script(dir, 'cli', 'echo "needs login" >&2; exit 3');
    expect(await runVersion(exe, { env: { PATH: process.env.PATH ?? '' } })).toEqual({ ok: false, error: 'exit 3: needs login' });
  });

  it('gives up on a program that does not answer, and kills it', async () => {
    const dir = tempDir();
    const pidFile = join(dir, 'cli.pid');
    const exe = script(dir, 'cli', `echo $$ > ${pidFile}; exec sleep 30`);
    const r = await runVersion(exe, { env: { PATH: process.env.PATH ?? '' }, timeoutMs: 300 });
    expect(r).toEqual({ ok: false, error: 'no answer within 0.3 s' });
    const pid = Number(readFileSync(pidFile, 'utf8'));
    await waitUntil(() => !processAlive(pid), 10_000);
  });

  it('reports a program that cannot start', async () => {
    const r = await runVersion('/nonexistent/cli', { env: {} });
    expect(r.ok).toBe(false);
  });
});

describe('httpAnswers and probeBind', () => {
  it('counts any HTTP status as an answer', async () => {
    const port = await listen(createHttpServer((_req, res) => res.writeHead(404).end()));
    expect(await httpAnswers(`http://127.0.0.1:${port}/v1`)).toEqual({ ok: true, output: 'HTTP 404' });
  });

  it('reports refused connections and endpoints that never answer', async () => {
    const closed = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const { port } = s.address() as AddressInfo;
        s.close(() => resolve(port));
      });
    });
    expect(await httpAnswers(`http://127.0.0.1:${closed}/`)).toEqual({ ok: false, error: 'connection refused' });
    const port = await listen(createServer(() => {}));
    expect(await httpAnswers(`http://127.0.0.1:${port}/`, 300)).toEqual({ ok: false, error: 'no answer within 0.3 s' });
    expect(await httpAnswers('not a url')).toEqual({ ok: false, error: 'not a url is not a URL' });
  });

  it('tells a free port from a taken one', async () => {
    const port = await listen(createServer());
    expect(await probeBind('127.0.0.1', port)).toBe('in-use');
    const free = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const { port: p } = s.address() as AddressInfo;
        s.close(() => resolve(p));
      });
    });
    expect(await probeBind('127.0.0.1', free)).toBe('free');
  });
});

describe('gatherFacts', () => {
  it('checks only the implicit providers that something uses', () => {
    const dir = tempDir();
    writeTree(dir, { 'config.json': { defaultProvider: 'echo', providers: { echo: { type: 'command', path: '/bin/cat' } }, agents: { a: {} } } });
    const { config } = loadConfig({ configPath: join(dir, 'config.json'), env: {} });
    expect(providersToCheck(config).map((p) => p.name)).toEqual(['echo']);
    writeTree(dir, { 'config.json': { defaultProvider: 'echo', providers: { echo: { type: 'command', path: '/bin/cat' } }, agents: { a: { fallbackProviders: ['codex'] } } } });
    expect(providersToCheck(loadConfig({ configPath: join(dir, 'config.json'), env: {} }).config).map((p) => p.name).sort()).toEqual(['codex', 'echo']);
  });

  it('gathers a whole home: CLI and API providers, agents, database, listen address, file modes', async () => {
    const root = tempDir();
    const home = join(root, 'home');
    const bin = join(root, 'bin');
    mkdirSync(bin);
    script(bin, 'fake-claude', 'echo "9.9.9 (Claude Code)"');
    const apiPort = await listen(createHttpServer((_req, res) => res.writeHead(401).end()));
    const taken = await listen(createServer());
    writeTree(home, {
      'config.json': {
        listenAddr: `127.0.0.1:${taken}`,
        providers: {
          claude: { type: 'claude-code', path: join(bin, 'fake-claude') },
          local: { type: 'openai-compatible', baseUrl: `http://127.0.0.1:${apiPort}/v1` },
        },
        agents: { writer: { provider: 'local' }, coder: { soulFile: 'souls/coder.md' } },
      },
      'souls/coder.md': '# coder\n',
    });
    chmodSync(home, 0o700);
    chmodSync(join(home, 'config.json'), 0o600);
    const { facts } = await gatherFacts({ configPath: join(home, 'config.json'), env: { PATH: process.env.PATH ?? '' }, httpTimeoutMs: 1000 });
    expect(facts.config).toMatchObject({ ok: true, warnings: [] });
    expect(facts.home).toEqual({ path: home, mode: 0o700 });
    expect(facts.db).toMatchObject({ ok: true, path: join(home, 'tetora.db') });
    expect(facts.db?.ok && facts.db.current === facts.db.latest).toBe(true);
    expect(facts.files.map((f) => f.path).sort()).toEqual([join(home, 'config.json'), join(home, 'tetora.db')]);
    expect(facts.providers.find((p) => p.name === 'claude')).toMatchObject({ kind: 'cli', resolved: join(bin, 'fake-claude'), version: { ok: true, output: '9.9.9 (Claude Code)' } });
    expect(facts.providers.find((p) => p.name === 'local')).toMatchObject({ kind: 'api', http: { ok: true, output: 'HTTP 401' } });
    expect(facts.agents).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'coder', soulFile: join(home, 'souls', 'coder.md'), soulExists: true, soulConfigured: true }),
        expect.objectContaining({ name: 'writer', provider: 'local', providerExists: true, soulExists: false, soulConfigured: false }),
      ]),
    );
    // The port is held by something that is not a Tetora daemon.
    expect(facts.listen).toMatchObject({ bind: 'in-use', healthz: { ok: false } });
    const failed = runChecks(facts).filter((c) => !c.ok);
    expect(failed.map((c) => c.name)).toEqual(['listen']);
  });

  it('reports a broken config and still checks node and git', async () => {
    const dir = tempDir();
    writeTree(dir, { 'config.json': { maxConcurrent: -1 } });
    const { facts } = await gatherFacts({ configPath: join(dir, 'config.json'), env: { PATH: process.env.PATH ?? '' } });
    expect(facts.config).toMatchObject({ ok: false, error: expect.stringContaining('maxConcurrent is -1, expected a number above 0') });
    expect(facts.db).toBeUndefined();
    expect(facts.git.ok).toBe(true);
  });
});
