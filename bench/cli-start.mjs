// CLI start-up time: median of N runs (default 15) of `node bin/tetora.js --version`,
// of `tetora config show --config <tmp config>`, and of `node -e 0` for reference.
// Usage: node bench/cli-start.mjs [runs]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const runs = Number(process.argv[2] ?? 15);
const home = mkdtempSync(join(tmpdir(), 'tetora-clistart-'));
const config = join(home, 'config.json');
writeFileSync(config, '{"agents":{"a":{"provider":"claude"}}}\n');

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function time(label, args) {
  const ms = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { env: { ...process.env, TETORA_HOME: home }, stdio: ['ignore', 'ignore', 'pipe'] });
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (r.status !== 0) throw new Error(`${label} exited ${r.status}: ${r.stderr}`);
  }
  console.log(`${label.padEnd(28)} median ${median(ms).toFixed(0)} ms  (min ${Math.min(...ms).toFixed(0)}, max ${Math.max(...ms).toFixed(0)}, ${runs} runs)`);
}

time('node -e 0', ['-e', '0']);
time('tetora --version', ['bin/tetora.js', '--version']);
time('tetora config show', ['bin/tetora.js', 'config', 'show', '--config', config]);
