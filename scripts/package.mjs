#!/usr/bin/env node
/**
 * `npm run package`: builds the single executable `dist/tetora-<platform>-<arch>` (on this machine:
 * dist/tetora-linux-x64) from the compiled code (run `npm run build` first; the npm script does).
 *
 * 1. esbuild bundles dist/sea/entry.js and every dependency into one CommonJS file (dist/sea/tetora.cjs),
 *    stamping the version and commit. discord.js's optional native helpers (zlib-sync, bufferutil,
 *    utf-8-validate) stay out: it runs without them.
 * 2. `node --experimental-sea-config` turns the bundle and the assets (ASSETS below) into a blob.
 * 3. A copy of the running node binary gets the blob injected with postject (the SEA fuse).
 *
 * Targets: only the platform and architecture of the machine that builds it. The executable is a copy of
 * the node binary running this script, and the SQLite addon is the one better-sqlite3 compiled for it here;
 * another target needs that target's node binary and addon, so build there.
 *
 * Assets embedded (their names are the keys `seaRuntime().asset(name)` takes):
 * - `better_sqlite3.node`: better-sqlite3's compiled addon (extracted to a cache folder and loaded with
 *   process.dlopen on the first database open).
 * - `dashboard/<path>`: every file under dist/dashboard/ when that folder exists (the dashboard's built
 *   assets, once there is a dashboard).
 *
 * Options: --out FILE (default dist/tetora-<platform>-<arch>), --version V (stamp another version: tests
 * build an "older" and a "newer" executable from one tree), --commit C.
 * Prints one JSON line at the end: { out, bytes, sha256, version, commit, target, ms }.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const started = Date.now();
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const fail = (msg) => {
  process.stderr.write(`package: ${msg}\n`);
  process.exit(1);
};

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const target = `${process.platform}-${process.arch}`;
const version = opt('--version') ?? pkg.version;
let commit = opt('--commit');
if (commit === undefined) {
  try {
    commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    commit = '';
  }
}
const out = resolve(opt('--out') ?? join(root, 'dist', `tetora-${target}`));
const entry = join(root, 'dist', 'sea', 'entry.js');
if (!existsSync(entry)) fail(`${relative(root, entry)} is missing: run \`npm run build\` first (\`npm run package\` does).`);

// The SEA fuse: a node binary built without SEA support cannot become an executable.
const fuse = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
if (!readFileSync(process.execPath).includes(fuse)) {
  fail(`${process.execPath} (node ${process.version}) has no single-executable support (its SEA fuse is missing); use an official or NodeSource build of Node 20.12 or newer.`);
}

/** Runs a build step, showing its output only when it fails. */
function quiet(cmd, argv, cwd) {
  try {
    execFileSync(cmd, argv, { cwd, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  } catch (err) {
    throw new Error(`${[cmd, ...argv].join(' ')} failed: ${err.stderr || err.stdout || err.message}`);
  }
}

const work = join(root, 'dist', 'sea');
mkdirSync(work, { recursive: true });
const bundle = join(work, `tetora-${process.pid}.cjs`);
const blob = join(work, `tetora-${process.pid}.blob`);
const seaConfig = join(work, `sea-config-${process.pid}.json`);

// Assets: the addon, and the dashboard's files once they exist.
const addon = join(dirname(require.resolve('better-sqlite3/package.json')), 'build', 'Release', 'better_sqlite3.node');
if (!existsSync(addon)) fail(`better-sqlite3's addon ${addon} is missing: run \`npm ci\` (it compiles it).`);
const assets = { 'better_sqlite3.node': addon };
const dashboard = join(root, 'dist', 'dashboard');
const walk = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
if (existsSync(dashboard)) for (const f of walk(dashboard)) assets[`dashboard/${relative(dashboard, f).split('\\').join('/')}`] = f;

try {
  const esbuild = require('esbuild');
  await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile: bundle,
    legalComments: 'none',
    logLevel: 'error',
    external: ['zlib-sync', 'bufferutil', 'utf-8-validate'],
    define: {
      __TETORA_VERSION__: JSON.stringify(version),
      __TETORA_COMMIT__: JSON.stringify(commit),
      __TETORA_TARGET__: JSON.stringify(target),
      __TETORA_ASSETS__: JSON.stringify(Object.keys(assets)),
    },
  });
  writeFileSync(seaConfig, JSON.stringify({ main: bundle, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true, assets }));
  quiet(process.execPath, ['--experimental-sea-config', seaConfig], work);
  // Built aside and renamed: a running executable at `out` is never overwritten in place.
  mkdirSync(dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  copyFileSync(process.execPath, tmp);
  chmodSync(tmp, 0o755);
  // postject warns about ELF note sections it does not know ("Can't find string offset"): harmless.
  quiet(process.execPath, [require.resolve('postject/dist/cli.js'), tmp, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', fuse], work);
  renameSync(tmp, out);
} catch (err) {
  fail(`building the executable failed: ${err instanceof Error ? err.message : String(err)}`);
} finally {
  for (const f of [bundle, blob, seaConfig]) rmSync(f, { force: true });
}
const bytes = statSync(out).size;
const sha256 = createHash('sha256').update(readFileSync(out)).digest('hex');
process.stdout.write(`${JSON.stringify({ out, bytes, sha256, version, commit, target, assets: Object.keys(assets), ms: Date.now() - started })}\n`);
