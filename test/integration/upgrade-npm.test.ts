/**
 * `tetora upgrade` of an npm install, end to end against a tiny npm registry started here on 127.0.0.1
 * serving two published versions of `tetora` (packuments and tarballs made with `npm pack`).
 *
 * The published packages are this tree with its code bundled into one file (esbuild) and no dependencies:
 * a registry on 127.0.0.1 cannot serve the package's ~140 real dependencies without reaching the network.
 * Everything `tetora upgrade` does is the real thing: `npm view` and `npm install -g --prefix` against the
 * registry (npm's own registry setting, or upgrade.registry), the version checks and the rollback.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/cli.js';
import { runExe } from '../helpers/sea.js';

const require = createRequire(import.meta.url);

function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((res, rej) => execFile(cmd, args, { cwd, env, maxBuffer: 16 * 1024 * 1024 }, (err, out, errOut) => (err ? rej(new Error(`${cmd} ${args.join(' ')}: ${errOut || err.message}`)) : res(out))));
}

/** `npm pack` of a package named tetora at `version`: this tree's CLI bundled into dist/cli/tetora.cjs. */
async function packVersion(root: string, version: string): Promise<{ file: string; manifest: Record<string, unknown> }> {
  const stage = join(root, `stage-${version}`);
  mkdirSync(join(stage, 'dist', 'cli'), { recursive: true });
  const esbuild = require('esbuild') as typeof import('esbuild');
  await esbuild.build({
    entryPoints: [join(repoRoot, 'bin', 'tetora.js')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile: join(stage, 'dist', 'cli', 'tetora.cjs'),
    logLevel: 'error',
    external: ['zlib-sync', 'bufferutil', 'utf-8-validate'],
    banner: { js: "const __tetoraMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
    define: { 'import.meta.url': '__tetoraMetaUrl' },
  });
  const manifest = { name: 'tetora', version, description: 'test build', license: 'MIT', bin: { tetora: 'dist/cli/tetora.cjs' }, files: ['dist'], engines: { node: '>=20' } };
  writeFileSync(join(stage, 'package.json'), JSON.stringify(manifest, null, 2));
  const out = await sh('npm', ['pack', '--json', '--pack-destination', root], stage);
  const file = join(root, (JSON.parse(out) as Array<{ filename: string }>)[0]!.filename);
  return { file, manifest };
}

describe('tetora upgrade of an npm install (local registry on 127.0.0.1)', () => {
  let root: string;
  let server: Server;
  let registry = '';
  const published = new Map<string, { file: string; manifest: Record<string, unknown> }>();
  const requests: string[] = [];
  let prefix: string;
  let home: string;
  let env: Record<string, string>;
  const bin = () => join(prefix, 'bin', 'tetora');

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'tetora-upgrade-npm-'));
    for (const v of ['1.0.0', '1.1.0']) published.set(v, await packVersion(root, v));
    server = createServer((req, res) => {
      const url = decodeURIComponent(req.url ?? '');
      requests.push(`${req.method} ${url}`);
      if (url === '/tetora') {
        const versions: Record<string, unknown> = {};
        for (const [v, p] of published) {
          const tgz = readFileSync(p.file);
          versions[v] = { ...p.manifest, _hasShrinkwrap: false, dist: { tarball: `${registry}tetora/-/tetora-${v}.tgz`, shasum: createHash('sha1').update(tgz).digest('hex'), integrity: `sha512-${createHash('sha512').update(tgz).digest('base64')}` } };
        }
        res.setHeader('content-type', 'application/json');
        return res.end(JSON.stringify({ name: 'tetora', 'dist-tags': { latest: '1.1.0' }, versions }));
      }
      const m = /^\/tetora\/-\/tetora-(\d+\.\d+\.\d+)\.tgz$/.exec(url);
      const p = m ? published.get(m[1] as string) : undefined;
      if (p) return res.end(readFileSync(p.file));
      res.statusCode = 404;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ error: 'not found' }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address();
    registry = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/`;

    prefix = join(root, 'prefix');
    home = join(root, 'home');
    mkdirSync(home, { mode: 0o700 });
    // npm's own config: the registry comes from the environment (as from an .npmrc); npm's cache is private.
    env = { HOME: root, TETORA_HOME: home, PATH: process.env.PATH ?? '/usr/bin:/bin', npm_config_registry: registry, npm_config_cache: join(root, 'npm-cache'), npm_config_update_notifier: 'false', npm_config_audit: 'false', npm_config_fund: 'false' };
    await sh('npm', ['install', '-g', '--prefix', prefix, 'tetora@1.0.0'], root, env);
  }, 240_000);

  afterAll(async () => {
    await new Promise((r) => server?.close(r));
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('--check asks the registry npm is configured with: current 1.0.0, latest 1.1.0, exit 10', async () => {
    const v = await runExe(bin(), ['--version'], env);
    expect(v.stdout).toMatch(/^tetora 1\.0\.0 /);
    const r = await runExe(bin(), ['upgrade', '--check'], env);
    expect(r.code, r.stderr).toBe(10);
    expect(r.stdout).toContain('current 1.0.0, latest 1.1.0');
    const json = await runExe(bin(), ['upgrade', '--check', '--json'], env);
    expect(JSON.parse(json.stdout)).toEqual({ current: '1.0.0', latest: '1.1.0', newer: true });
    expect(requests).toContain('GET /tetora');
  });

  it('upgrades with npm, refuses a version the registry lacks, rolls back, and reports a registry that does not answer', async () => {
    const none = await runExe(bin(), ['upgrade', '--to', '7.7.7'], env);
    expect(none.code, none.stdout + none.stderr).toBe(65);
    expect(none.stderr).toContain('no version 7.7.7');

    const up = await runExe(bin(), ['upgrade'], env);
    expect(up.code, up.stdout + up.stderr).toBe(0);
    expect(up.stdout).toContain(`npm install -g --prefix ${prefix} tetora@1.1.0`);
    expect((await runExe(bin(), ['--version'], env)).stdout).toMatch(/^tetora 1\.1\.0 /);
    expect(requests).toContain('GET /tetora/-/tetora-1.1.0.tgz');
    const check = await runExe(bin(), ['upgrade', '--check'], env);
    expect(check.code).toBe(0);
    expect(check.stdout).toContain('current 1.1.0, latest 1.1.0: up to date');

    const back = await runExe(bin(), ['upgrade', '--rollback'], env);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect((await runExe(bin(), ['--version'], env)).stdout).toMatch(/^tetora 1\.0\.0 /);

    // upgrade.registry in the config overrides npm's setting: here, a port nothing listens on.
    const dead = await new Promise<number>((r) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const a = s.address();
        s.close(() => r(typeof a === 'object' && a ? a.port : 1));
      });
    });
    writeFileSync(join(home, 'config.json'), JSON.stringify({ upgrade: { registry: `http://127.0.0.1:${dead}/` } }), { mode: 0o600 });
    const down = await runExe(bin(), ['upgrade', '--check'], { ...env, npm_config_fetch_retries: '0' });
    expect(down.code, down.stdout + down.stderr).toBe(69);
    expect(down.stderr).toContain('cannot reach the registry');
    rmSync(join(home, 'config.json'));
    expect(readdirSync(join(prefix, 'lib', 'node_modules'))).toEqual(['tetora']);
  }, 180_000);
});


