// Daemon start-up cost: N rounds (default 7) of `tetora serve` on an idle home made by `tetora init --yes`,
// each measured from the spawn to its "tetora listening" log line (wall time, and the daemon's CPU time so
// far, from /proc/<pid>/stat), then after 1.5 s idle (CPU only: what loads in the background), then
// SIGTERM to its exit. Once without a Discord bot, once with one enabled (its API on a closed port of
// 127.0.0.1: the bot's code loads, its connection fails and is retried later).
// Usage: node bench/daemon-start.mjs [--rounds N] [--bin path/to/bin/tetora.js] [--json]   (Linux: /proc)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
if (args.includes('--help')) {
  console.log('usage: node bench/daemon-start.mjs [--rounds N] [--bin path/to/bin/tetora.js] [--json]');
  process.exit(0);
}
const rounds = Number(opt('--rounds', '7'));
const bin = resolve(opt('--bin', 'bin/tetora.js'));
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds ${opt('--rounds')}: expected a whole number of rounds, 1 or more`);
const TICK_MS = 1000 / Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);

/** The process's user + system CPU time so far, in ms. */
function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS; // utime, stime (fields 14 and 15 of stat)
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function makeHome(discord) {
  const home = mkdtempSync(join(tmpdir(), 'tetora-bench-start-'));
  const env = { ...process.env, TETORA_HOME: home };
  const init = spawnSync(process.execPath, [bin, 'init', '--yes'], { env, encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`tetora init --yes failed (exit ${init.status}): ${init.stderr}`);
  const configPath = join(home, 'config.json');
  const config = JSON.parse(readFileSync(configPath, 'utf8'));
  if (discord) config.discord = { enabled: true, botToken: 'bench-token', apiBaseUrl: 'http://127.0.0.1:9', channelIDs: [] };
  writeFileSync(configPath, JSON.stringify(config, null, 2), { mode: 0o600 });
  return { home, env };
}

async function round({ env }) {
  const t0 = process.hrtime.bigint();
  const child = spawn(process.execPath, [bin, 'serve', '--listen', '127.0.0.1:0', '--log-format', 'json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  const listening = new Promise((res, rej) => {
    const seen = [];
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        seen.push(line);
        if (line.includes('"tetora listening"')) res(undefined);
      });
    }
    exited.then(({ code, signal }) => rej(new Error(`the daemon exited (${code ?? signal}) before listening: ${seen.slice(-5).join(' | ')}`)));
  });
  await listening;
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpuListening = cpuMs(child.pid);
  await sleep(1500);
  const cpuIdle = cpuMs(child.pid);
  child.kill('SIGTERM');
  const { code } = await exited;
  if (code !== 0) throw new Error(`the daemon exited ${code} after SIGTERM`);
  return { wallMs, cpuListening, cpuIdle };
}

const results = {};
for (const [label, discord] of [['without a Discord bot', false], ['with a Discord bot enabled', true]]) {
  const home = makeHome(discord);
  const rs = [];
  try {
    for (let i = 0; i < rounds; i++) rs.push(await round(home));
  } finally {
    rmSync(home.home, { recursive: true, force: true });
  }
  results[label] = {
    listeningMs: median(rs.map((r) => r.wallMs)),
    cpuToListeningMs: median(rs.map((r) => r.cpuListening)),
    cpuAfterIdleMs: median(rs.map((r) => r.cpuIdle)),
    rounds: rs.map((r) => Math.round(r.wallMs)),
  };
}
if (args.includes('--json')) console.log(JSON.stringify({ bin, rounds, results }, null, 2));
else {
  console.log(`tetora serve start-up, ${bin}, medians of ${rounds} rounds`);
  for (const [label, r] of Object.entries(results)) {
    console.log(`  ${label.padEnd(28)} listening after ${r.listeningMs.toFixed(0)} ms, CPU ${r.cpuToListeningMs.toFixed(0)} ms by then, ${r.cpuAfterIdleMs.toFixed(0)} ms after 1.5 s idle (rounds: ${r.rounds.join(', ')} ms)`);
  }
}
