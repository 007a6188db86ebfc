#!/usr/bin/env node
/**
 * `npm run bench:sea`: builds the single executable (scripts/package.mjs, timed), then measures its size
 * and start time (`tetora --version`, the median of 21 runs after 3 warm-ups) against the baselines of the
 * same run: a bare `node -e 0` and the npm-installed form `node bin/tetora.js --version`. Writes the
 * "Single executable" section of docs/benchmarks.md (replacing an earlier one).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const tmp = mkdtempSync(join(tmpdir(), 'tetora-bench-sea-'));
const load0 = loadavg().map((x) => x.toFixed(2)).join(', ');
try {
  const out = join(tmp, 'tetora');
  const t0 = Date.now();
  const line = execFileSync(process.execPath, [join(root, 'scripts', 'package.mjs'), '--out', out], { cwd: root, encoding: 'utf8' }).trim().split('\n').at(-1);
  const buildMs = Date.now() - t0;
  const build = JSON.parse(line);
  const gz = gzipSync(readFileSync(out), { level: 6 }).length;
  const env = { HOME: tmp, PATH: '/usr/bin:/bin', TETORA_HOME: join(tmp, 'home') };
  const time = (cmd, args) => {
    for (let i = 0; i < 3; i++) spawnSync(cmd, args, { env, stdio: 'ignore' });
    const ms = [];
    for (let i = 0; i < 21; i++) {
      const s = process.hrtime.bigint();
      const r = spawnSync(cmd, args, { env, stdio: 'ignore' });
      if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
      ms.push(Number(process.hrtime.bigint() - s) / 1e6);
    }
    ms.sort((a, b) => a - b);
    return { p50: ms[10], min: ms[0], max: ms[20] };
  };
  const bare = time(process.execPath, ['-e', '0']);
  const npmForm = time(process.execPath, [join(root, 'bin', 'tetora.js'), '--version']);
  const sea = time(out, ['--version']);
  const mib = (b) => `${(b / 1024 / 1024).toFixed(1)} MiB`;
  const f = (x) => `${x.toFixed(1)} ms`;
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  const section = `## Single executable

Produced by \`npm run bench:sea\` (\`bench/sea.mjs\`) on ${new Date().toISOString().slice(0, 10)}, at commit ${commit}:
${cpus().length} × ${cpus()[0]?.model.trim() ?? 'CPU'}, ${(totalmem() / 1024 ** 3).toFixed(1)} GiB RAM, Node ${process.version}, ${process.platform}-${process.arch}.
Load average at the start: ${load0} (a shared machine: compare ratios).

\`npm run package\` (esbuild bundle, SEA blob with the SQLite addon, postject into a copy of node) took
${(buildMs / 1000).toFixed(1)} s. The executable is ${build.bytes.toLocaleString('en')} bytes (${mib(build.bytes)}; ${mib(gz)} gzipped);
the node binary it is made from is ${readFileSync(process.execPath).length.toLocaleString('en')} bytes, so Tetora adds ${mib(build.bytes - readFileSync(process.execPath).length)}.

Start time: a process started, \`--version\` printed, process gone; median of 21 runs after 3 warm-ups.

| command | p50 | min | max | ratio to bare node |
|---|---:|---:|---:|---:|
| \`node -e 0\` (baseline) | ${f(bare.p50)} | ${f(bare.min)} | ${f(bare.max)} | 1.00 |
| \`node bin/tetora.js --version\` (npm install) | ${f(npmForm.p50)} | ${f(npmForm.min)} | ${f(npmForm.max)} | ${(npmForm.p50 / bare.p50).toFixed(2)} |
| \`dist/tetora-${build.target} --version\` (single executable) | ${f(sea.p50)} | ${f(sea.min)} | ${f(sea.max)} | ${(sea.p50 / bare.p50).toFixed(2)} |
`;
  const docPath = join(root, 'docs', 'benchmarks.md');
  const doc = readFileSync(docPath, 'utf8');
  const start = doc.indexOf('## Single executable');
  let next = start < 0 ? -1 : doc.indexOf('\n## ', start + 5);
  const updated = start < 0 ? `${doc.trimEnd()}\n\n${section}` : `${doc.slice(0, start)}${section}${next < 0 ? '' : doc.slice(next)}`;
  writeFileSync(docPath, updated.endsWith('\n') ? updated : `${updated}\n`);
  process.stdout.write(section);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
