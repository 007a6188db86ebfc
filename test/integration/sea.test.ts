/**
 * The single executable (`npm run package`) on a machine without Node: built once for this file, copied
 * into an empty folder and run there with a PATH that holds no `node` (and no node_modules anywhere near):
 * --version, init --yes, doctor, serve, a dispatch through the `command` provider, worktree prune, drain.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pathWithOnly } from '../helpers/cli.js';
import { buildSea, runExe, seaImpossible, startServe, type SeaBuild } from '../helpers/sea.js';

const impossible = seaImpossible();
const TOKEN = 'sea-test-token-0123456789abcdef';

describe.skipIf(impossible !== undefined)(`the single executable${impossible ? ` (skipped: ${impossible})` : ''}`, () => {
  let root: string;
  let build: SeaBuild;
  let exe: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'tetora-sea-'));
    build = await buildSea(join(root, 'build', 'tetora'));
    // An empty folder holding only the executable; HOME and TETORA_HOME inside it.
    const dir = join(root, 'machine');
    exe = join(dir, 'tetora');
    const tools = pathWithOnly(['git', 'sh', 'cat', 'printf'], join(root, 'tools'));
    env = { HOME: dir, TETORA_HOME: join(dir, 'home'), PATH: tools, LANG: 'C.UTF-8', NO_COLOR: '1' };
    mkdirSync(dir);
    copyFileSync(build.out, exe);
  }, 240_000);

  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('has no node to lean on: PATH holds no node, and the folder holds no node_modules', () => {
    for (const d of env.PATH!.split(delimiter)) expect(existsSync(join(d, 'node'))).toBe(false);
    expect(readdirSync(join(root, 'machine'))).toEqual(['tetora']);
  });

  it('runs --version, init --yes, doctor, serve, a dispatch through the command provider, worktree prune and drain', async () => {
    const dir = join(root, 'machine');
    const v = await runExe(exe, ['--version'], env, { cwd: dir });
    expect(v.stderr).toBe('');
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toBe(`tetora ${build.version} (${build.commit ? `commit ${build.commit}, ` : ''}single executable linux-x64)`.replace('linux-x64', `${process.platform}-${process.arch}`));

    const init = await runExe(exe, ['init', '--yes'], env, { cwd: dir });
    expect(init.code, init.stderr).toBe(0);
    expect(existsSync(join(env.TETORA_HOME!, 'config.json'))).toBe(true);

    // An agent whose provider is a shell command: the prompt arrives on stdin.
    writeFileSync(
      join(env.TETORA_HOME!, 'config.json'),
      JSON.stringify({
        apiToken: TOKEN,
        defaultProvider: 'sh',
        providers: { sh: { type: 'command', path: '/bin/sh', args: ['-c', 'read -r line; printf "echo: %s\\n" "$line"'] } },
        agents: { echo: { provider: 'sh' } },
        defaultAgent: 'echo',
        drainTimeout: '10s',
      }),
      { mode: 0o600 },
    );
    const doctor = await runExe(exe, ['doctor', '--json'], env, { cwd: dir });
    const report = JSON.parse(doctor.stdout) as { checks: Array<{ name: string; ok: boolean; detail: string }> };
    expect(report.checks.filter((c) => !c.ok && c.name !== 'listen'), doctor.stdout).toEqual([]);
    expect(report.checks.find((c) => c.name === 'tetora')?.detail).toContain(`single executable ${process.platform}-${process.arch}`);
    expect(report.checks.find((c) => c.name === 'database')?.ok).toBe(true);

    const daemon = await startServe(exe, [], env, dir);
    try {
      const health = (await (await fetch(`http://127.0.0.1:${daemon.port}/api/health`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { version: string; commit?: string; status: string };
      expect(health.status).toBe('ok');
      expect(health.version).toBe(build.version);
      if (build.commit) expect(health.commit).toBe(build.commit);
      // The CLI finds the daemon through listenAddr.
      const configPath = join(env.TETORA_HOME!, 'config.json');
      writeFileSync(configPath, JSON.stringify({ ...(JSON.parse(readFileSync(configPath, 'utf8')) as object), listenAddr: `127.0.0.1:${daemon.port}` }), { mode: 0o600 });
      const cliEnv = env;
      const listenArgs = ['--config', configPath];
      const d = await runExe(exe, [...listenArgs, 'dispatch', 'hello from the executable', '--wait', '--json'], cliEnv, { cwd: dir });
      expect(d.code, d.stderr).toBe(0);
      expect(d.stdout).toContain('echo: hello from the executable');

      const prune = await runExe(exe, [...listenArgs, 'worktree', 'prune', '--dry-run'], cliEnv, { cwd: dir });
      expect(prune.code, prune.stderr).toBe(0);
      const prune2 = await runExe(exe, [...listenArgs, 'worktree', 'prune'], cliEnv, { cwd: dir });
      expect(prune2.code, prune2.stderr).toBe(0);

      const drain = await runExe(exe, [...listenArgs, 'drain'], cliEnv, { cwd: dir });
      expect(drain.code, drain.stderr).toBe(0);
      expect(await daemon.exited).toBe(0);
    } finally {
      daemon.child.kill('SIGKILL');
    }
  }, 120_000);
});
